"""Static checks of the CloudFormation templates: cfn-lint, least privilege, and the provider's contract."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parent.parent
CFN = ROOT / "cloudformation"
TEMPLATES = sorted(CFN.rglob("*.yaml"))
EXPECTED_TEMPLATES = {
    "provider.yaml",
    "stackset-member.yaml",
    "examples/new-account.yaml",
    "examples/existing-account.yaml",
}

# Every action the provider calls with its own credentials (see the role in provider.yaml). A change in the
# provider's calls must change this list and the template together.
PROVIDER_ACTIONS = {
    "organizations:CreateAccount",
    "organizations:TagResource",
    "organizations:DescribeCreateAccountStatus",
    "organizations:ListCreateAccountStatus",
    "organizations:ListAccounts",
    "organizations:ListTagsForResource",
    "organizations:DescribeAccount",
    "organizations:ListParents",
    "organizations:MoveAccount",
    "organizations:CloseAccount",
    "sts:AssumeRole",
    "account:ListRegions",
    "securityhub:DescribeHub",
    "securityhub:CreateMembers",
    "securityhub:GetMembers",
    "securityhub:InviteMembers",
    "securityhub:DisassociateMembers",
    "securityhub:DeleteMembers",
    "securityhub:ListMembers",
    # the member side, for the provider's own account
    "securityhub:EnableSecurityHub",
    "securityhub:DisableSecurityHub",
    "securityhub:GetAdministratorAccount",
    "securityhub:ListInvitations",
    "securityhub:AcceptAdministratorInvitation",
    "securityhub:DisassociateFromAdministratorAccount",
    "securityhub:TagResource",
    "securityhub:UntagResource",
    "securityhub:ListTagsForResource",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
}

# The only actions allowed on Resource "*": those IAM gives no resource type (it accepts nothing else).
UNSCOPED_ACTIONS = {
    "organizations:CreateAccount",
    "organizations:DescribeCreateAccountStatus",
    "organizations:ListCreateAccountStatus",
    "organizations:ListAccounts",
}


def cfn_lint_executable():
    beside = Path(sys.executable).with_name("cfn-lint")
    found = str(beside) if beside.exists() else shutil.which("cfn-lint")
    if not found:
        pytest.fail("cfn-lint is not installed (pip install -r tests/requirements.txt)")
    return found


def load(name):
    return cfn_yaml.load(str(CFN / name))


def as_list(value):
    return value if isinstance(value, list) else [value]


def text_of(value):
    """A string, or the template string of a Fn::Sub; other intrinsics as their repr (never matches a pattern)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        return sub if isinstance(sub, str) else sub[0]
    return repr(dict(value)) if isinstance(value, dict) else repr(value)


def identity_statements(template):
    """(resource logical id, statement) of every identity-based policy: role policies, not trust policies."""
    for name, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        documents = []
        if resource["Type"] == "AWS::IAM::Role":
            documents += [p["PolicyDocument"] for p in props.get("Policies", [])]
        elif resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::RolePolicy", "AWS::IAM::ManagedPolicy"):
            documents.append(props["PolicyDocument"])
        for document in documents:
            for statement in as_list(document["Statement"]):
                yield name, statement


def test_all_templates_present():
    found = {str(p.relative_to(CFN)) for p in TEMPLATES}
    assert EXPECTED_TEMPLATES <= found, f"missing: {EXPECTED_TEMPLATES - found}"


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(CFN)))
def test_cfn_lint_clean(template):
    # Errors (exit bit 2) and warnings (bit 4) both fail; a rule that must be ignored is ignored in the
    # template's Metadata (cfn-lint: config: ignore_checks) with a comment saying why.
    run = subprocess.run(
        [cfn_lint_executable(), "--format", "parseable", "--", str(template)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, f"cfn-lint exit {run.returncode}:\n{run.stdout}{run.stderr}"


def test_provider_actions_are_exact_and_have_no_wildcards():
    template = load("provider.yaml")
    seen = set()
    for name, statement in identity_statements(template):
        assert statement["Effect"] == "Allow", f"{name}: unexpected {statement['Effect']}"
        assert "NotAction" not in statement and "NotResource" not in statement, name
        for action in as_list(statement["Action"]):
            assert isinstance(action, str), f"{name}: action is not a literal: {action!r}"
            assert "*" not in action, f"{name}: wildcard action {action}"
            seen.add(action)
    assert seen == PROVIDER_ACTIONS, (
        f"extra: {sorted(seen - PROVIDER_ACTIONS)}; missing: {sorted(PROVIDER_ACTIONS - seen)}"
    )


def test_resource_star_only_for_unscoped_actions():
    template = load("provider.yaml")
    for name, statement in identity_statements(template):
        if "*" in [text_of(r) for r in as_list(statement["Resource"])]:
            extra = set(as_list(statement["Action"])) - UNSCOPED_ACTIONS
            assert not extra, f"{name}: Resource '*' for actions that can be scoped: {sorted(extra)}"


def test_assume_role_only_on_named_roles():
    template = load("provider.yaml")
    statements = [
        (name, s) for name, s in identity_statements(template) if "sts:AssumeRole" in as_list(s["Action"])
    ]
    assert statements, "no sts:AssumeRole statement"
    role_arns = set()
    for name, statement in statements:
        for resource in as_list(statement["Resource"]):
            arn = text_of(resource)
            assert arn != "*", f"{name}: sts:AssumeRole on every resource"
            assert ":role/" in arn, f"{name}: sts:AssumeRole on a non-role resource {arn}"
            role_name = arn.split(":role/", 1)[1]
            assert "*" not in role_name and "?" not in role_name, f"{name}: wildcard role name in {arn}"
            role_arns.add(arn)
    assert role_arns == {
        "arn:${AWS::Partition}:iam::*:role/${MemberRoleName}",
        "arn:${AWS::Partition}:iam::*:role/${AdministratorRoleName}",
    }


def test_lambda_runtime_timeout_and_log_group():
    template = load("provider.yaml")
    resources = template["Resources"]
    functions = {k: r for k, r in resources.items() if r["Type"] == "AWS::Lambda::Function"}
    assert len(functions) == 1
    (function_id, function), = functions.items()
    props = function["Properties"]
    assert props["Runtime"] == "provided.al2023"
    assert props["Handler"] == "bootstrap"
    assert props["Timeout"] == 900
    assert "ReservedConcurrentExecutions" not in props
    assert props["Architectures"] == [{"Ref": "Architecture"}]
    assert template["Parameters"]["Architecture"]["AllowedValues"] == ["x86_64", "arm64"]
    env = props["Environment"]["Variables"]
    assert env["MAX_CONCURRENT_REGIONS"] == {"Ref": "MaxConcurrentRegions"}
    assert env["RUST_LOG"] == "info"

    log_groups = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Logs::LogGroup"]
    assert len(log_groups) == 1
    assert text_of(log_groups[0]["LogGroupName"]) == f"/aws/lambda/${{{function_id}}}"
    assert log_groups[0]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}


def test_logs_permissions_only_on_the_log_group():
    template = load("provider.yaml")
    for name, statement in identity_statements(template):
        actions = as_list(statement["Action"])
        if any(a.startswith("logs:") for a in actions):
            assert set(actions) <= {"logs:CreateLogStream", "logs:PutLogEvents"}, name
            assert as_list(statement["Resource"]) == [{"Fn::GetAtt": ["LogGroup", "Arn"]}], name


def test_topic_policy_requires_principal_org_id():
    template = load("provider.yaml")
    policies = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::SNS::TopicPolicy"]
    assert len(policies) == 1
    statements = as_list(policies[0]["PolicyDocument"]["Statement"])
    assert statements
    for statement in statements:
        if statement["Effect"] != "Allow":
            continue
        assert as_list(statement["Action"]) == ["sns:Publish"]
        condition = statement.get("Condition", {})
        assert condition.get("StringEquals", {}).get("aws:PrincipalOrgID") == {"Ref": "OrganizationId"}, (
            f"topic policy statement {statement.get('Sid')} does not require aws:PrincipalOrgID"
        )


def test_topic_invokes_lambda_with_scoped_permission():
    resources = load("provider.yaml")["Resources"]
    permissions = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::Permission"]
    assert len(permissions) == 1
    assert permissions[0]["Principal"] == "sns.amazonaws.com"
    assert permissions[0]["SourceArn"] == {"Ref": "Topic"}
    subscription = resources["Topic"]["Properties"]["Subscription"]
    assert subscription == [{"Protocol": "lambda", "Endpoint": {"Fn::GetAtt": ["Function", "Arn"]}}]


def test_provider_outputs_are_exported():
    outputs = load("provider.yaml")["Outputs"]
    assert outputs["ServiceToken"]["Value"] == {"Fn::GetAtt": ["Function", "Arn"]}
    assert outputs["TopicServiceToken"]["Value"] == {"Ref": "Topic"}
    assert text_of(outputs["ServiceToken"]["Export"]["Name"]) == "${AWS::StackName}-ServiceToken"
    assert text_of(outputs["TopicServiceToken"]["Export"]["Name"]) == "${AWS::StackName}-TopicServiceToken"


@pytest.mark.parametrize("name", ["examples/new-account.yaml", "examples/existing-account.yaml"])
def test_examples_import_service_token_and_output_attributes(name):
    template = load(name)
    (member,) = [r for r in template["Resources"].values() if r["Type"] == "Custom::SecurityHubMemberAccount"]
    props = member["Properties"]
    assert text_of(props["ServiceToken"]["Fn::ImportValue"]) == "${ProviderStackName}-ServiceToken"
    assert isinstance(props["ServiceTimeout"], int) and 1 <= props["ServiceTimeout"] <= 3600
    outputs = template["Outputs"]
    for attribute in ("AccountId", "Regions", "AccountCreated", "AdministratorAccountId"):
        assert outputs[attribute]["Value"] == {"Fn::GetAtt": ["Member", attribute]}


def test_stackset_member_enrolls_its_own_account_through_the_topic():
    template = load("stackset-member.yaml")
    (member,) = [r for r in template["Resources"].values() if r["Type"] == "Custom::SecurityHubMemberAccount"]
    props = member["Properties"]
    assert props["ServiceToken"] == {"Ref": "TopicServiceToken"}
    assert props["AccountId"] == {"Ref": "AWS::AccountId"}
    assert template["Parameters"]["Regions"]["Type"] == "CommaDelimitedList"
    assert template["Parameters"]["OnDelete"]["AllowedValues"] == ["Disassociate", "DisableSecurityHub", "Retain"]
