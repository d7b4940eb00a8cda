"""scripts/deploy.sh against a stand-in `aws`: its checks (the management account, the bucket's region), the command
lines it runs (every one with --region) and its portability (no GNU-only tool needed).

No AWS account is involved: the script runs in a copy of the repository's layout (scripts/, cloudformation/, a
dist/ zip) with a fake `aws` first on PATH, which records each call and answers from canned JSON, applying
--query (JMESPath) and --output text the way the AWS CLI does."""

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MANAGEMENT = "111111111111"
OTHER_ACCOUNT = "222222222222"
ORGANIZATION = "o-a1b2c3d4e5"
BUCKET = "my-artifacts"
ADMINISTRATORS = "999988887777"

FAKE_AWS = r'''#!{python}
"""A stand-in for the AWS CLI: records argv, answers from the JSON state file, honours --query and --output."""
import json, os, sys
import jmespath

args = sys.argv[1:]
with open(os.environ["FAKE_AWS_LOG"], "a") as log:
    log.write(json.dumps(args) + "\n")
state = json.load(open(os.environ["FAKE_AWS_STATE"]))
if args == ["--version"]:
    print("aws-cli/2.17.0 Python/3.11.9 Darwin/23.5.0 source/arm64")
    sys.exit(0)
if args[:2] == ["configure", "get"]:
    region = state.get("configured_region")
    if region:
        print(region)
    sys.exit(0 if region else 1)


def option(name):
    return args[args.index(name) + 1] if name in args else None


rest = list(args)
if "--region" in rest:
    del rest[rest.index("--region"):rest.index("--region") + 2]
command = " ".join(rest[:2])
failure = state.get("fail", {}).get(command)
if failure:
    print(failure, file=sys.stderr)
    sys.exit(254)
region = option("--region")
answers = {
    "sts get-caller-identity": {"Account": state["caller"], "Arn": "arn:aws:iam::%s:role/Admin" % state["caller"]},
    "organizations describe-organization": {"Organization": {"Id": state["organization"],
                                                             "MasterAccountId": state["management"]}},
    "s3api get-bucket-location": {"LocationConstraint": state["bucket_location"]},
    "cloudformation describe-stacks": {"Stacks": [{"Outputs": [{"OutputKey": "ServiceToken", "OutputValue": "arn"}]}]},
}
answer = answers.get(command)
if answer is None:
    sys.exit(0)  # s3 cp, cloudformation deploy: nothing to print
if option("--query"):
    answer = jmespath.search(option("--query"), answer)
if option("--output") == "text":
    def text(value):
        if value is None:
            return "None"
        if isinstance(value, list):
            return "\t".join(text(v) for v in value)
        return str(value)
    print(text(answer))
else:
    print(json.dumps(answer))
'''

# What macOS has, and no GNU-only tool: the script must get by with these (plus bash's builtins).
PORTABLE_TOOLS = ["bash", "env", "dirname", "cut", "awk", "cat"]


@pytest.fixture
def repo(tmp_path):
    """A copy of the layout deploy.sh works in, with a zip in dist/ and a fake `aws` in bin/."""
    root = tmp_path / "repo"
    (root / "scripts").mkdir(parents=True)
    shutil.copy2(ROOT / "scripts" / "deploy.sh", root / "scripts" / "deploy.sh")
    (root / "cloudformation").mkdir()
    shutil.copy2(ROOT / "cloudformation" / "provider.yaml", root / "cloudformation" / "provider.yaml")
    (root / "dist").mkdir()
    (root / "dist" / "bootstrap.zip").write_bytes(b"PK\x03\x04 not really a zip, only hashed and uploaded")
    (root / "dist" / "bootstrap-arm64.zip").write_bytes(b"PK\x03\x04 the arm64 one")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "aws"
    fake.write_text(FAKE_AWS.replace("{python}", sys.executable))
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    return root


class Run:
    def __init__(self, completed, log: Path):
        self.returncode = completed.returncode
        self.stderr = completed.stderr
        self.stdout = completed.stdout
        self.calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    def commands(self):
        """The AWS calls proper: not `--version` and `configure get`, which are local."""
        return [c for c in self.calls if c != ["--version"] and c[:2] != ["configure", "get"]]

    def call(self, *words):
        found = [c for c in self.commands() if verb(c) == list(words)]
        assert len(found) == 1, f"{words}: {found} in {self.calls}"
        return found[0]


def verb(call):
    """The service and operation of a call: its first two words once --region and its value are taken out."""
    rest = list(call)
    if "--region" in rest:
        del rest[rest.index("--region") : rest.index("--region") + 2]
    return rest[:2]


def run_deploy(repo: Path, state: dict | None = None, env: dict | None = None, path: str | None = None) -> Run:
    tmp = repo.parent
    base_state = {
        "caller": MANAGEMENT,
        "management": MANAGEMENT,
        "organization": ORGANIZATION,
        "bucket_location": "eu-west-1",
    }
    (tmp / "state.json").write_text(json.dumps({**base_state, **(state or {})}))
    log = tmp / "calls.jsonl"
    log.unlink(missing_ok=True)
    environment = {
        "HOME": str(tmp),
        "PATH": path or f"{tmp / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "FAKE_AWS_LOG": str(log),
        "FAKE_AWS_STATE": str(tmp / "state.json"),
        "DEPLOY_BUCKET": BUCKET,
        "ADMINISTRATOR_ACCOUNT_IDS": ADMINISTRATORS,
        "AWS_REGION": "eu-west-1",
        "SKIP_PACKAGE": "1",
        **(env or {}),
    }
    environment = {k: v for k, v in environment.items() if v is not None}
    completed = subprocess.run(
        ["/usr/bin/env", "bash", str(repo / "scripts" / "deploy.sh")],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp,
    )
    return Run(completed, log)


def option(call, name):
    return call[call.index(name) + 1]


def expected_key(repo: Path, architecture="x86_64", zip_name="bootstrap.zip"):
    digest = hashlib.sha256((repo / "dist" / zip_name).read_bytes()).hexdigest()[:16]
    return f"securityhub-member-account/bootstrap-{architecture}-{digest}.zip"


def test_deploys_with_region_on_every_call_after_the_checks(repo):
    run = run_deploy(
        repo,
        env={
            "TAGS": "Owner=security CostCenter=42",
            "PERMISSIONS_BOUNDARY": "arn:aws:iam::111111111111:policy/Boundary",
            "MEMBER_ROLE_NAME": "SecurityHubMemberAccountEnrollment",
        },
    )
    assert run.returncode == 0, run.stderr
    commands = run.commands()
    for call in commands:
        assert option(call, "--region") == "eu-west-1", call
    # The checks come before anything is uploaded or deployed.
    assert [verb(c) for c in commands] == [
        ["sts", "get-caller-identity"],
        ["organizations", "describe-organization"],
        ["s3api", "get-bucket-location"],
        ["s3", "cp"],
        ["cloudformation", "deploy"],
        ["cloudformation", "describe-stacks"],
    ]
    assert option(run.call("s3api", "get-bucket-location"), "--bucket") == BUCKET
    key = expected_key(repo)
    upload = run.call("s3", "cp")
    assert upload[-2:] == ["dist/bootstrap.zip", f"s3://{BUCKET}/{key}"], upload
    deploy = run.call("cloudformation", "deploy")
    assert option(deploy, "--template-file") == "cloudformation/provider.yaml"
    assert option(deploy, "--stack-name") == "securityhub-member-account-provider"
    assert option(deploy, "--capabilities") == "CAPABILITY_IAM"
    overrides = deploy[deploy.index("--parameter-overrides") + 1 : deploy.index("--tags")]
    assert overrides == [
        f"CodeS3Bucket={BUCKET}",
        f"CodeS3Key={key}",
        "Architecture=x86_64",
        f"OrganizationId={ORGANIZATION}",
        f"AdministratorAccountIds={ADMINISTRATORS}",
        "MemberRoleName=SecurityHubMemberAccountEnrollment",
        "PermissionsBoundary=arn:aws:iam::111111111111:policy/Boundary",
    ]
    assert deploy[deploy.index("--tags") + 1 :] == ["Owner=security", "CostCenter=42"]
    assert (
        option(run.call("cloudformation", "describe-stacks"), "--stack-name") == "securityhub-member-account-provider"
    )


def test_refuses_credentials_of_another_account_than_the_management_account(repo):
    run = run_deploy(repo, state={"caller": OTHER_ACCOUNT})
    assert run.returncode == 1
    assert f"account {OTHER_ACCOUNT}, not the organization's management account {MANAGEMENT}" in run.stderr
    assert [verb(c) for c in run.commands()] == [
        ["sts", "get-caller-identity"],
        ["organizations", "describe-organization"],
    ], run.calls


def test_refuses_an_account_outside_an_organization(repo):
    run = run_deploy(
        repo,
        state={
            "fail": {
                "organizations describe-organization": (
                    "An error occurred (AWSOrganizationsNotInUseException) when calling the "
                    "DescribeOrganization operation"
                )
            }
        },
    )
    assert run.returncode == 1
    assert "management account of an organization" in run.stderr, run.stderr
    assert not [c for c in run.commands() if "cp" in c or "deploy" in c], run.calls


def test_refuses_a_bucket_in_another_region(repo):
    run = run_deploy(repo, state={"bucket_location": "us-west-2"})
    assert run.returncode == 1
    assert f"bucket {BUCKET} is in us-west-2, not in eu-west-1" in run.stderr, run.stderr
    assert not [c for c in run.commands() if "cp" in c or "deploy" in c], run.calls


@pytest.mark.parametrize("location, region", [(None, "us-east-1"), ("EU", "eu-west-1"), ("ap-south-2", "ap-south-2")])
def test_bucket_locations_as_s3_names_them(repo, location, region):
    """GetBucketLocation: null (the CLI's text: None) for us-east-1, EU for old eu-west-1 buckets."""
    run = run_deploy(repo, state={"bucket_location": location}, env={"AWS_REGION": region})
    assert run.returncode == 0, run.stderr
    assert all(option(c, "--region") == region for c in run.commands())
    # And a null location is not us-east-1's only when the region is another one.
    if location is None:
        wrong = run_deploy(repo, state={"bucket_location": None}, env={"AWS_REGION": "eu-west-1"})
        assert wrong.returncode == 1 and "is in us-east-1, not in eu-west-1" in wrong.stderr


def test_the_region_comes_from_the_environment_or_the_profile_or_it_stops(repo):
    run = run_deploy(
        repo, state={"configured_region": "eu-central-1", "bucket_location": "eu-central-1"}, env={"AWS_REGION": None}
    )
    assert run.returncode == 0, run.stderr
    assert all(option(c, "--region") == "eu-central-1" for c in run.commands())
    run = run_deploy(repo, env={"AWS_REGION": None, "AWS_DEFAULT_REGION": "eu-west-1"})
    assert run.returncode == 0, run.stderr
    run = run_deploy(repo, env={"AWS_REGION": None})
    assert run.returncode == 1 and "set AWS_REGION" in run.stderr
    assert run.commands() == [], "no AWS call without a region"


def test_missing_settings_stop_it_before_any_call(repo):
    for unset, message in (
        ("DEPLOY_BUCKET", "set DEPLOY_BUCKET"),
        ("ADMINISTRATOR_ACCOUNT_IDS", "set ADMINISTRATOR_ACCOUNT_IDS"),
    ):
        run = run_deploy(repo, env={unset: None})
        assert run.returncode == 1 and message in run.stderr, run.stderr
        assert run.commands() == []


def test_arm64_uploads_the_arm64_zip(repo):
    run = run_deploy(repo, env={"ARCHITECTURE": "arm64", "ORGANIZATION_ID": "o-zzzzzzzzzz"})
    assert run.returncode == 0, run.stderr
    key = expected_key(repo, "arm64", "bootstrap-arm64.zip")
    assert run.call("s3", "cp")[-2:] == ["dist/bootstrap-arm64.zip", f"s3://{BUCKET}/{key}"]
    deploy = run.call("cloudformation", "deploy")
    assert "Architecture=arm64" in deploy and "OrganizationId=o-zzzzzzzzzz" in deploy


@pytest.mark.parametrize("hasher", ["shasum", "openssl"])
def test_runs_with_macos_tools_only(repo, tmp_path, hasher):
    """PATH holds the fake aws and the portable tools (no sha256sum, no GNU-only option): the same key."""
    tools = tmp_path / f"tools-{hasher}"
    tools.mkdir()
    for tool in [*PORTABLE_TOOLS, hasher]:
        found = shutil.which(tool)
        if not found:
            pytest.skip(f"{tool} is not installed here")
        (tools / tool).symlink_to(found)
    if hasher == "shasum":
        # shasum is a Perl script: it needs perl beside it.
        perl = shutil.which("perl")
        if not perl:
            pytest.skip("perl is not installed here")
        (tools / "perl").symlink_to(perl)
    run = run_deploy(repo, path=f"{tmp_path / 'bin'}{os.pathsep}{tools}")
    assert run.returncode == 0, run.stderr
    assert run.call("s3", "cp")[-1] == f"s3://{BUCKET}/{expected_key(repo)}"
