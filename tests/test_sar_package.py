"""scripts/sar-package.py: the provider as an AWS Serverless Application Repository (SAR) application.

The generator runs on a stub zip; its template must lint clean with cfn-lint (which validates the AWS SAM
resources of a template with the SAM transform), carry the SAR metadata the AWS SAM Developer Guide documents
("AWS SAM template Metadata section properties"), reference the zip and readme it writes beside itself, and hold
only resource types SAR supports ("List of Supported AWS Resources", AWS Serverless Application Repository
Developer Guide)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from cfnlint.decode import cfn_yaml
from test_templates import cfn_lint_executable

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "sar-package.py"
PROVIDER = ROOT / "cloudformation" / "provider.yaml"
SOURCE = "https://github.com/example-owner/securityhub-member-account"

# Resource types of SAR's "List of Supported AWS Resources" (the part that matters here).
SAR_LISTED = {
    "AWS::CloudWatch::Alarm",
    "AWS::CloudWatch::Dashboard",
    "AWS::Events::Rule",
    "AWS::IAM::ManagedPolicy",
    "AWS::IAM::Policy",
    "AWS::IAM::Role",
    "AWS::KMS::Alias",
    "AWS::KMS::Key",
    "AWS::Lambda::Function",
    "AWS::Lambda::Permission",
    "AWS::Logs::LogGroup",
    "AWS::Logs::MetricFilter",
    "AWS::SNS::Subscription",
    "AWS::SNS::Topic",
    "AWS::SNS::TopicPolicy",
    "AWS::SQS::Queue",
    "AWS::SQS::QueuePolicy",
    "AWS::Serverless::Function",
}
# AWS SAM Developer Guide, "AWS SAM template Metadata section properties".
REQUIRED_METADATA = {"Name", "Description", "Author"}
KNOWN_METADATA = REQUIRED_METADATA | {
    "SpdxLicenseId",
    "LicenseUrl",
    "ReadmeUrl",
    "Labels",
    "HomePageUrl",
    "SemanticVersion",
    "SourceCodeUrl",
}


@pytest.fixture(scope="module")
def stub_zip(tmp_path_factory) -> Path:
    """A zip shaped like dist/bootstrap.zip: one executable `bootstrap` at its root."""
    path = tmp_path_factory.mktemp("zip") / "bootstrap.zip"
    with zipfile.ZipFile(path, "w") as archive:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        archive.writestr(info, "#!/bin/sh\n")
    return path


def run_generator(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("SOURCE_CODE_URL", "SAR_AUTHOR", "ARCHITECTURE")}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=environment, timeout=120
    )


@pytest.fixture(scope="module")
def packaged(stub_zip, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sar")
    run = run_generator("--zip", str(stub_zip), "--out", str(out), env={"SOURCE_CODE_URL": SOURCE})
    assert run.returncode == 0, run.stderr
    return out


def load(out: Path) -> dict:
    return cfn_yaml.load(str(out / "template.yaml"))


def test_the_sar_template_lints_clean_with_the_sam_transform(packaged):
    template = load(packaged)
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    run = subprocess.run(
        [cfn_lint_executable(), "--format", "parseable", "--", str(packaged / "template.yaml")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, f"cfn-lint exit {run.returncode}:\n{run.stdout}{run.stderr}"


def test_the_metadata_is_the_applications(packaged):
    metadata = load(packaged)["Metadata"]["AWS::ServerlessRepo::Application"]
    package = tomllib.loads((ROOT / "Cargo.toml").read_text())["package"]
    assert REQUIRED_METADATA <= set(metadata) <= KNOWN_METADATA, set(metadata)
    assert metadata["Name"] == package["name"] and re.fullmatch(r"[a-zA-Z0-9\-]{1,140}", metadata["Name"])
    assert metadata["Description"] == package["description"] and 1 <= len(metadata["Description"]) <= 256
    assert re.fullmatch(r"^[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?$", metadata["Author"]), metadata["Author"]
    assert metadata["SpdxLicenseId"] == package["license"] == "Apache-2.0"
    assert metadata["SemanticVersion"] == package["version"]
    assert metadata["SourceCodeUrl"] == metadata["HomePageUrl"] == SOURCE
    assert len(metadata["Labels"]) <= 10
    assert all(re.fullmatch(r"^[a-zA-Z0-9+\-_:\/@]+$", label) for label in metadata["Labels"])
    # Intrinsic functions are not supported in this metadata: every value is a literal.
    assert all(
        isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v)) for v in metadata.values()
    ), metadata
    # The local files it names are beside the template (sam package uploads them).
    assert (packaged / metadata["ReadmeUrl"]).read_text() == (ROOT / "README.md").read_text()
    if "LicenseUrl" in metadata:
        assert (packaged / metadata["LicenseUrl"]).is_file()


def test_the_function_is_the_zip_beside_the_template(packaged, stub_zip):
    resources = load(packaged)["Resources"]
    (function,) = [r for r in resources.values() if r["Type"] == "AWS::Serverless::Function"]
    props = function["Properties"]
    assert props["CodeUri"] == "bootstrap.zip" and "Code" not in props
    assert (packaged / "bootstrap.zip").read_bytes() == stub_zip.read_bytes()
    assert props["Architectures"] == ["x86_64"]
    # The on-failure destination of provider.yaml's AsyncInvokeConfig, as SAM's EventInvokeConfig.
    provider = cfn_yaml.load(str(PROVIDER))["Resources"]
    config = provider["AsyncInvokeConfig"]["Properties"]
    assert props["EventInvokeConfig"] == {
        "MaximumRetryAttempts": config["MaximumRetryAttempts"],
        "DestinationConfig": {
            "OnFailure": {"Type": "SQS", "Destination": config["DestinationConfig"]["OnFailure"]["Destination"]}
        },
    }
    # Everything else of the function is provider.yaml's.
    original = provider["Function"]["Properties"]
    for key, value in original.items():
        if key not in ("Code", "Architectures"):
            assert props[key] == value, key


def test_the_template_is_provider_yaml_with_only_the_documented_changes(packaged):
    template = load(packaged)
    provider = cfn_yaml.load(str(PROVIDER))
    assert set(template["Parameters"]) == set(provider["Parameters"]) - {"CodeS3Bucket", "CodeS3Key", "Architecture"}
    assert set(template["Resources"]) == set(provider["Resources"]) - {"AsyncInvokeConfig"}
    assert template["Outputs"] == provider["Outputs"]
    assert template["Conditions"] == provider["Conditions"]
    for name, resource in provider["Resources"].items():
        if resource["Type"] == "AWS::IAM::RolePolicy":
            converted = template["Resources"][name]
            assert converted["Type"] == "AWS::IAM::Policy"
            assert converted["Properties"]["Roles"] == [resource["Properties"]["RoleName"]]
            assert converted["Properties"]["PolicyDocument"] == resource["Properties"]["PolicyDocument"]
            assert converted.get("Condition") == resource.get("Condition")
        elif resource["Type"] not in ("AWS::Lambda::Function", "AWS::Lambda::EventInvokeConfig"):
            assert template["Resources"][name] == resource, name


def test_every_resource_type_is_one_sar_supports(packaged):
    types = {r["Type"] for r in load(packaged)["Resources"].values()}
    assert types <= SAR_LISTED, sorted(types - SAR_LISTED)


def test_arm64_takes_the_arm64_zip(stub_zip, tmp_path):
    run = run_generator(
        "--zip", str(stub_zip), "--out", str(tmp_path), env={"SOURCE_CODE_URL": SOURCE, "ARCHITECTURE": "arm64"}
    )
    assert run.returncode == 0, run.stderr
    (function,) = [r for r in load(tmp_path)["Resources"].values() if r["Type"] == "AWS::Serverless::Function"]
    assert function["Properties"]["Architectures"] == ["arm64"]


@pytest.mark.parametrize(
    "env, args, message",
    [
        ({}, ["--zip", "{zip}"], "SOURCE_CODE_URL is not set"),
        ({"SOURCE_CODE_URL": "github.com/owner/repo"}, ["--zip", "{zip}"], "SourceCodeUrl"),
        ({"SOURCE_CODE_URL": SOURCE, "SAR_AUTHOR": "Not Valid"}, ["--zip", "{zip}"], "Author"),
        ({"SOURCE_CODE_URL": SOURCE}, ["--zip", "{missing}"], "run `make package` first"),
        ({"SOURCE_CODE_URL": SOURCE, "ARCHITECTURE": "riscv"}, [], "ARCHITECTURE must be one of"),
    ],
    ids=["no-source-url", "bad-source-url", "bad-author", "no-zip", "bad-architecture"],
)
def test_fails_clearly(stub_zip, tmp_path, env, args, message):
    args = [a.format(zip=stub_zip, missing=tmp_path / "nothing.zip") for a in args]
    run = run_generator(*args, "--out", str(tmp_path / "out"), env=env)
    assert run.returncode == 1, run.stderr
    assert message in run.stderr, run.stderr
    assert not (tmp_path / "out" / "template.yaml").exists()


def test_make_sar_package_requires_the_package(tmp_path):
    """`make sar-package` without dist/bootstrap.zip says to run `make package` (checked on a copy of the Makefile's
    rule, without running the venv's set-up)."""
    makefile = (ROOT / "Makefile").read_text()
    rule = re.search(r"^sar-package:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert rule, "Makefile: no sar-package rule"
    check = [line for line in rule.group(1).splitlines() if "test -f" in line]
    assert check, rule.group(1)
    (zip_variable,) = re.findall(r"^SAR_ZIP = .*$", makefile, re.MULTILINE)
    (tmp_path / "Makefile").write_text(zip_variable + "\ncheck:\n" + check[0] + "\n")
    run = subprocess.run(["make", "-s", "check"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert "make package" in run.stderr
