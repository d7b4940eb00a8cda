#!/usr/bin/env python3
"""Builds the provider as an AWS Serverless Application Repository (SAR) application, from
cloudformation/provider.yaml and the Lambda package that `make package` built:

    dist/sar/template.yaml   an AWS SAM template: provider.yaml with the SAM transform, the SAR metadata
                             (AWS::ServerlessRepo::Application) and the function as an AWS::Serverless::Function
                             whose CodeUri is the zip beside it
    dist/sar/bootstrap.zip   the Lambda package (a copy of dist/bootstrap.zip, or dist/bootstrap-arm64.zip)
    dist/sar/README.md       the application's readme (ReadmeUrl), a copy of the repository's README.md
    dist/sar/LICENSE         the license (LicenseUrl), when the repository has a LICENSE file

CodeUri, ReadmeUrl and LicenseUrl are local paths, which `sam package` uploads to S3 and replaces with their S3
locations; `sam publish` then creates the application or its new version from the packaged template (AWS SAM
Developer Guide, "Publishing serverless applications using the AWS SAM CLI"; "AWS SAM template Metadata section
properties": an unpackaged template may reference local files for LicenseUrl and ReadmeUrl).

What differs from provider.yaml, and why:
- no CodeS3Bucket, CodeS3Key and Architecture parameters: the code is the packaged zip, of one architecture;
- the function is an AWS::Serverless::Function (CodeUri), and its on-failure destination the function's
  EventInvokeConfig (SAM generates the AWS::Lambda::EventInvokeConfig); the role's inline AWS::IAM::RolePolicy
  resources are AWS::IAM::Policy ones: every resource type is then one of SAR's supported resources
  (AWS Serverless Application Repository Developer Guide, "List of Supported AWS Resources").

The metadata (AWS SAM Developer Guide, "AWS SAM template Metadata section properties"): Name and SemanticVersion
from Cargo.toml's package name and version, Description from its description, SpdxLicenseId from its license,
Author from SAR_AUTHOR, HomePageUrl and SourceCodeUrl from SOURCE_CODE_URL (required: the public repository of
this source). Intrinsic functions are not allowed there, so every value is a literal.

Environment:
  SOURCE_CODE_URL   required, https://... (the application's SourceCodeUrl and HomePageUrl)
  SAR_AUTHOR        default securityhub-member-account-contributors (lowercase letters, digits, single hyphens)
  ARCHITECTURE      x86_64 (default; dist/bootstrap.zip) or arm64 (dist/bootstrap-arm64.zip)
Options: --zip PATH (default from ARCHITECTURE), --out DIR (default dist/sar), --provider PATH.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import shutil
import sys
import tomllib
from pathlib import Path

import yaml
from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parent.parent
SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
DEFAULT_AUTHOR = "securityhub-member-account-contributors"
LABELS = [
    "securityhub",
    "security-hub",
    "organizations",
    "control-tower",
    "landing-zone",
    "stacksets",
    "cloudformation",
    "custom-resource",
]
ZIPS = {"x86_64": "dist/bootstrap.zip", "arm64": "dist/bootstrap-arm64.zip"}
# The parameters the SAR template drops (see the docstring), and what a Ref to each becomes.
DROPPED_PARAMETERS = ("CodeS3Bucket", "CodeS3Key", "Architecture")

# The resource types of SAR's "List of Supported AWS Resources" that the provider uses (AWS Serverless
# Application Repository Developer Guide). A resource type added to provider.yaml must be one of that list:
# add it here once checked there.
SAR_SUPPORTED_TYPES = {
    "AWS::CloudWatch::Alarm",
    "AWS::CloudWatch::Dashboard",
    "AWS::Events::Rule",
    "AWS::IAM::Policy",
    "AWS::IAM::Role",
    "AWS::KMS::Key",
    "AWS::Lambda::Permission",
    "AWS::Logs::LogGroup",
    "AWS::Logs::MetricFilter",
    "AWS::SNS::Topic",
    "AWS::SNS::TopicPolicy",
    "AWS::SQS::Queue",
    "AWS::Serverless::Function",
}

# The metadata's constraints (AWS SAM Developer Guide, "AWS SAM template Metadata section properties").
NAME_RE = re.compile(r"[a-zA-Z0-9\-]{1,140}")
AUTHOR_RE = re.compile(r"^[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?$")
LABEL_RE = re.compile(r"^[a-zA-Z0-9+\-_:\/@]+$")
# Semantic Versioning 2.0.0 (semver.org), without build metadata.
SEMVER_RE = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?")
URL_RE = re.compile(r"https?://[^\s]+")


class PackagingError(Exception):
    """A clear message for the user: what is missing or wrong, and how to fix it."""


def plain(value):
    """cfn-lint's decoded template (dict_node, str_node, ...) as plain dicts, lists and scalars."""
    return json.loads(json.dumps(value))


def walk(value, visit):
    """visit(node) on every dict of the tree; a returned value replaces the node."""
    if isinstance(value, dict):
        replaced = visit(value)
        if replaced is not None:
            return replaced
        return {k: walk(v, visit) for k, v in value.items()}
    if isinstance(value, list):
        return [walk(v, visit) for v in value]
    return value


def references(value) -> set[str]:
    """The names a tree refers to: Ref, Fn::GetAtt's resource, ${Name} and ${Name.Attr} in Fn::Sub, DependsOn."""
    found: set[str] = set()

    def visit(node):
        if "Ref" in node and isinstance(node["Ref"], str):
            found.add(node["Ref"])
        if "Fn::GetAtt" in node:
            target = node["Fn::GetAtt"]
            found.add(target[0] if isinstance(target, list) else str(target).split(".")[0])
        if "Fn::Sub" in node:
            text = node["Fn::Sub"] if isinstance(node["Fn::Sub"], str) else node["Fn::Sub"][0]
            found.update(name.split(".")[0] for name in re.findall(r"\$\{([^}!][^}]*)\}", text))
        depends = node.get("DependsOn")
        if depends:
            found.update([depends] if isinstance(depends, str) else depends)
        return None

    walk(value, visit)
    return found


def cargo_package() -> dict:
    return tomllib.loads((ROOT / "Cargo.toml").read_text())["package"]


def find_license() -> Path | None:
    for name in ("LICENSE", "LICENSE.txt", "LICENSE.md"):
        if (ROOT / name).is_file():
            return ROOT / name
    return None


def application_metadata(source_code_url: str, author: str, license_file: str | None) -> dict:
    package = cargo_package()
    metadata = {
        "Name": package["name"],
        "Description": package["description"],
        "Author": author,
        "SpdxLicenseId": package["license"],
        "ReadmeUrl": "README.md",
        "Labels": LABELS,
        "HomePageUrl": source_code_url,
        "SemanticVersion": package["version"],
        "SourceCodeUrl": source_code_url,
    }
    if license_file:
        metadata["LicenseUrl"] = license_file
    check_metadata(metadata)
    return metadata


def check_metadata(metadata: dict) -> None:
    problems = []
    if not NAME_RE.fullmatch(metadata["Name"]):
        problems.append(f"Name {metadata['Name']!r}: 1-140 of A-Z a-z 0-9 -")
    if not 1 <= len(metadata["Description"]) <= 256:
        problems.append("Description: 1 to 256 characters")
    if not (len(metadata["Author"]) <= 127 and AUTHOR_RE.fullmatch(metadata["Author"])):
        problems.append(f"Author {metadata['Author']!r}: lowercase letters, digits and single hyphens (SAR_AUTHOR)")
    if len(metadata["Labels"]) > 10 or not all(
        LABEL_RE.fullmatch(label) and len(label) <= 127 for label in metadata["Labels"]
    ):
        problems.append(f"Labels {metadata['Labels']}: at most 10, each of A-Z a-z 0-9 + - _ : / @")
    if not SEMVER_RE.fullmatch(metadata["SemanticVersion"]):
        problems.append(f"SemanticVersion {metadata['SemanticVersion']!r}: not a semantic version (Cargo.toml)")
    for key in ("SourceCodeUrl", "HomePageUrl"):
        if not URL_RE.fullmatch(metadata[key]):
            problems.append(f"{key} {metadata[key]!r}: an http(s) URL (SOURCE_CODE_URL)")
    if problems:
        raise PackagingError("the SAR metadata is not valid:\n  " + "\n  ".join(problems))


def sar_template(provider: dict, metadata: dict, architecture: str, code_uri: str = "bootstrap.zip") -> dict:
    """provider.yaml (plain) as the SAR application's SAM template."""
    template = copy.deepcopy(provider)
    resources = template["Resources"]

    # The code is the packaged zip, of one architecture: no code location or architecture parameters.
    for name in DROPPED_PARAMETERS:
        template["Parameters"].pop(name)
    template = walk(template, lambda node: architecture if node == {"Ref": "Architecture"} else None)
    resources = template["Resources"]

    (function_id,) = [k for k, r in resources.items() if r["Type"] == "AWS::Lambda::Function"]
    function = resources[function_id]
    function["Type"] = "AWS::Serverless::Function"
    props = function["Properties"]
    props.pop("Code")
    props["CodeUri"] = code_uri

    # The on-failure destination, as the function's EventInvokeConfig (AWS SAM Developer Guide,
    # "EventInvokeConfiguration": MaximumRetryAttempts, DestinationConfig.OnFailure with Type SQS).
    configs = [k for k, r in resources.items() if r["Type"] == "AWS::Lambda::EventInvokeConfig"]
    for config_id in configs:
        config = resources.pop(config_id)["Properties"]
        if config.get("FunctionName") != {"Ref": function_id} or config.get("Qualifier", "$LATEST") != "$LATEST":
            raise PackagingError(f"{config_id}: only the function's own $LATEST EventInvokeConfig can move into it")
        event_invoke = {k: config[k] for k in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds") if k in config}
        destinations = {}
        for outcome, destination in config.get("DestinationConfig", {}).items():
            target = destination["Destination"]
            if not (
                isinstance(target, dict)
                and "Fn::GetAtt" in target
                and resources[target["Fn::GetAtt"][0]]["Type"] == "AWS::SQS::Queue"
            ):
                raise PackagingError(f"{config_id}: {outcome} destination is not a queue of the template")
            destinations[outcome] = {"Type": "SQS", "Destination": target}
        if destinations:
            event_invoke["DestinationConfig"] = destinations
        props["EventInvokeConfig"] = event_invoke

    # Inline role policies as AWS::IAM::Policy (the same policy, attached to the same role).
    for resource in resources.values():
        if resource["Type"] == "AWS::IAM::RolePolicy":
            role_policy = resource["Properties"]
            resource["Type"] = "AWS::IAM::Policy"
            resource["Properties"] = {
                "PolicyName": role_policy["PolicyName"],
                "PolicyDocument": role_policy["PolicyDocument"],
                "Roles": [role_policy["RoleName"]],
            }

    unsupported = sorted({r["Type"] for r in resources.values()} - SAR_SUPPORTED_TYPES)
    if unsupported:
        raise PackagingError(f"resource types SAR does not list as supported (or not checked yet): {unsupported}")
    dangling = (
        references(template)
        - set(resources)
        - set(template["Parameters"])
        - {
            "AWS::AccountId",
            "AWS::NoValue",
            "AWS::Partition",
            "AWS::Region",
            "AWS::StackId",
            "AWS::StackName",
            "AWS::URLSuffix",
            "AWS::NotificationARNs",
        }
    )
    if dangling:
        raise PackagingError(f"the SAR template refers to what it no longer has: {sorted(dangling)}")

    # The transform and the application's metadata, first, as in the SAM documentation's examples.
    ordered = {
        "AWSTemplateFormatVersion": template.pop("AWSTemplateFormatVersion"),
        "Transform": SAM_TRANSFORM,
        "Description": template.pop("Description"),
        "Metadata": {"AWS::ServerlessRepo::Application": metadata, **template.pop("Metadata", {})},
    }
    ordered.update(template)
    return ordered


def write_yaml(path: Path, template: dict) -> None:
    class Dumper(yaml.SafeDumper):
        pass

    # Long strings (the dashboard's body) as block scalars, so the file stays readable.
    def string(dumper, value):
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, string)
    header = "# Generated by scripts/sar-package.py from cloudformation/provider.yaml: edit that file, not this one.\n"
    path.write_text(header + yaml.dump(template, Dumper=Dumper, sort_keys=False, width=120, allow_unicode=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zip", type=Path, help="the Lambda package (default: from ARCHITECTURE)")
    parser.add_argument("--out", type=Path, default=ROOT / "dist" / "sar")
    parser.add_argument("--provider", type=Path, default=ROOT / "cloudformation" / "provider.yaml")
    args = parser.parse_args(argv)
    try:
        architecture = os.environ.get("ARCHITECTURE", "x86_64")
        if architecture not in ZIPS:
            raise PackagingError(f"ARCHITECTURE must be one of {sorted(ZIPS)}, got {architecture!r}")
        package = args.zip or ROOT / ZIPS[architecture]
        if not package.is_file():
            raise PackagingError(f"{package} is missing: run `make package` first")
        source_code_url = os.environ.get("SOURCE_CODE_URL", "")
        if not source_code_url:
            raise PackagingError(
                "SOURCE_CODE_URL is not set: the URL of the application's public source repository "
                "(SAR's SourceCodeUrl), e.g. SOURCE_CODE_URL=https://github.com/OWNER/REPO"
            )
        license_file = find_license()
        metadata = application_metadata(
            source_code_url, os.environ.get("SAR_AUTHOR", DEFAULT_AUTHOR), license_file and "LICENSE"
        )
        template = sar_template(plain(cfn_yaml.load(str(args.provider))), metadata, architecture)
    except PackagingError as error:
        print(f"sar-package: {error}", file=sys.stderr)
        return 1

    args.out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(package, args.out / "bootstrap.zip")
    shutil.copyfile(ROOT / "README.md", args.out / "README.md")
    if license_file:
        shutil.copyfile(license_file, args.out / "LICENSE")
    else:
        print(
            "sar-package: no LICENSE file in the repository: the application has no LicenseUrl, which SAR requires "
            "before an application can be shared publicly",
            file=sys.stderr,
        )
    write_yaml(args.out / "template.yaml", template)
    print(
        f"sar-package: wrote {args.out / 'template.yaml'} ({metadata['Name']} {metadata['SemanticVersion']}, "
        f"{architecture}), {args.out / 'bootstrap.zip'}, {args.out / 'README.md'}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
