"""Static checks of the CloudFormation templates: cfn-lint, checkov, least privilege, and the provider's contract
(docs/design.md, "Authorization": the templates back it up)."""

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import time
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

# Every action the provider's role allows is a call of one of the sides src/aws/calls.toml declares (the enrollment
# role's section below), or one of these: what Lambda does with the function's role, not the code (its log stream
# and events, and failed asynchronous invocations sent to the dead-letter queue).
FUNCTION_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents", "sqs:SendMessage"}

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
    expected = actions_of(SIDES) | FUNCTION_ACTIONS
    assert {
        "organizations:CreateAccount",
        "sts:AssumeRole",
        "lambda:InvokeFunction",
        "securityhub:CreateMembers",
        "securityhub:EnableSecurityHub",
        "cloudformation:GetTemplate",
    } <= expected, sorted(expected)
    assert seen == expected, (
        f"extra: {sorted(seen - expected)}; missing: {sorted(expected - seen)} (src/aws/calls.toml)"
    )


def test_resource_star_only_for_unscoped_actions():
    template = load("provider.yaml")
    for name, statement in identity_statements(template):
        if "*" in [text_of(r) for r in as_list(statement["Resource"])]:
            extra = set(as_list(statement["Action"])) - UNSCOPED_ACTIONS
            assert not extra, f"{name}: Resource '*' for actions that can be scoped: {sorted(extra)}"


def test_assume_role_only_on_named_roles_in_the_organization_or_listed_accounts():
    template = load("provider.yaml")
    statements = [(name, s) for name, s in identity_statements(template) if "sts:AssumeRole" in as_list(s["Action"])]
    assert statements, "no sts:AssumeRole statement"
    role_arns = set()
    conditions = {}
    for name, statement in statements:
        for resource in as_list(statement["Resource"]):
            arn = text_of(resource)
            assert arn != "*", f"{name}: sts:AssumeRole on every resource"
            assert ":role/" in arn, f"{name}: sts:AssumeRole on a non-role resource {arn}"
            role_name = arn.split(":role/", 1)[1]
            assert "*" not in role_name and "?" not in role_name, f"{name}: wildcard role name in {arn}"
            role_arns.add(arn)
        conditions[statement["Sid"]] = (
            name,
            statement.get("Condition"),
            [text_of(r) for r in as_list(statement["Resource"])],
        )
    assert role_arns == {
        "arn:${AWS::Partition}:iam::*:role/${MemberRoleName}",
        "arn:${AWS::Partition}:iam::*:role/${AdministratorRoleName}",
    }
    # Every statement is conditioned: the organization's accounts, or the listed accounts outside it.
    assert set(conditions) == {"AssumeRolesInOrganization", "AssumeMemberRolesOutsideOrganization"}, conditions
    name, condition, _ = conditions["AssumeRolesInOrganization"]
    assert name == "Role"
    assert condition == {"StringEquals": {"aws:ResourceOrgID": {"Ref": "OrganizationId"}}}
    name, condition, arns = conditions["AssumeMemberRolesOutsideOrganization"]
    assert condition == {"StringEquals": {"aws:ResourceAccount": {"Ref": "MemberAccountsOutsideOrganization"}}}
    assert arns == ["arn:${AWS::Partition}:iam::*:role/${MemberRoleName}"], (
        "outside the organization: member roles only"
    )
    # No accounts outside the organization: no statement (the policy resource exists only under the condition).
    outside = template["Resources"][name]
    assert outside["Condition"] == "HasMemberAccountsOutsideOrganization"
    assert template["Conditions"]["HasMemberAccountsOutsideOrganization"] == {
        "Fn::Not": [{"Fn::Equals": [{"Fn::Join": [",", {"Ref": "MemberAccountsOutsideOrganization"}]}, ""]}]
    }
    assert template["Parameters"]["MemberAccountsOutsideOrganization"]["Default"] == ""


def test_lambda_runtime_timeout_and_log_group():
    template = load("provider.yaml")
    resources = template["Resources"]
    functions = {k: r for k, r in resources.items() if r["Type"] == "AWS::Lambda::Function"}
    assert len(functions) == 1
    ((function_id, function),) = functions.items()
    props = function["Properties"]
    assert props["Runtime"] == "provided.al2023"
    assert props["Handler"] == "bootstrap"
    assert props["Timeout"] == 900
    # Reserved and capped (a flood through the topic cannot take the account's concurrency), unless emptied.
    assert props["ReservedConcurrentExecutions"] == {
        "Fn::If": ["HasReservedConcurrency", {"Ref": "ReservedConcurrency"}, {"Ref": "AWS::NoValue"}]
    }
    assert template["Parameters"]["ReservedConcurrency"]["Default"] == "100"
    assert props["Architectures"] == [{"Ref": "Architecture"}]
    assert template["Parameters"]["Architecture"]["AllowedValues"] == ["x86_64", "arm64"]
    env = props["Environment"]["Variables"]
    assert env["MAX_CONCURRENT_REGIONS"] == {"Ref": "MaxConcurrentRegions"}
    assert env["RUST_LOG"] == "info"
    # Authorization (docs/design.md, "Configuration"): the administrators are required, the trusted
    # accounts default to this account, set explicitly.
    assert env["ADMINISTRATOR_ACCOUNT_IDS"] == {"Fn::Join": [",", {"Ref": "AdministratorAccountIds"}]}
    assert env["TRUSTED_ACCOUNT_IDS"] == {
        "Fn::If": ["HasTrustedAccountIds", {"Fn::Join": [",", {"Ref": "TrustedAccountIds"}]}, {"Ref": "AWS::AccountId"}]
    }
    parameters = template["Parameters"]
    assert parameters["AdministratorAccountIds"]["Type"] == "CommaDelimitedList"
    assert "Default" not in parameters["AdministratorAccountIds"], "AdministratorAccountIds must be required"
    assert parameters["AdministratorAccountIds"]["AllowedPattern"] == "\\d{12}"
    assert parameters["TrustedAccountIds"]["Default"] == ""
    # Trust through SNS only for listed topics; unverifiable harmful properties only when the operator says so.
    assert env["TRUSTED_TOPIC_ARNS"] == {
        "Fn::If": ["HasTrustedTopicArns", {"Fn::Join": [",", {"Ref": "TrustedTopicArns"}]}, {"Ref": "AWS::NoValue"}]
    }
    assert parameters["TrustedTopicArns"]["Default"] == ""
    assert env["ALLOW_UNVERIFIED_HARMFUL_PROPERTIES"] == {
        "Fn::If": ["AllowsUnverifiedHarmfulProperties", "true", {"Ref": "AWS::NoValue"}]
    }
    assert parameters["AllowUnverifiedHarmfulProperties"]["Default"] == "false"
    # Failed asynchronous invocations go to the encrypted queue, as the on-failure destination (with the request
    # and the response), not as a dead-letter queue too (which would get each failure a second time).
    assert "DeadLetterConfig" not in props
    invoke_config = resources["AsyncInvokeConfig"]
    assert invoke_config["Type"] == "AWS::Lambda::EventInvokeConfig"
    assert invoke_config["Properties"]["FunctionName"] == {"Ref": "Function"}
    assert invoke_config["Properties"]["DestinationConfig"] == {
        "OnFailure": {"Destination": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}}
    }
    assert resources["DeadLetterQueue"]["Properties"]["KmsMasterKeyId"] == "alias/aws/sqs"
    sends = [(n, s) for n, s in identity_statements(template) if "sqs:SendMessage" in as_list(s["Action"])]
    assert [(s["Action"], s["Resource"]) for _, s in sends] == [
        ("sqs:SendMessage", {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]})
    ]

    log_groups = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Logs::LogGroup"]
    assert len(log_groups) == 1
    assert text_of(log_groups[0]["LogGroupName"]) == f"/aws/lambda/${{{function_id}}}"
    assert log_groups[0]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
    assert log_groups[0]["KmsKeyId"] == {"Fn::GetAtt": ["Key", "Arn"]}


def test_the_function_may_invoke_itself_and_no_other_function():
    """Continuations: lambda:InvokeFunction on the function's own (unqualified) ARN, the only Lambda action of the
    role, in a policy of its own (in the role's it would make a cycle: function -> role -> function); the topic
    may invoke the function only once that policy exists."""
    template = load("provider.yaml")
    resources = template["Resources"]
    grants = [
        (name, s)
        for name, s in identity_statements(template)
        if any(a.lower().startswith("lambda:") for a in as_list(s["Action"]))
    ]
    assert [(name, s["Sid"], s["Action"], s["Resource"]) for name, s in grants] == [
        ("ContinuationPolicy", "InvokeItself", "lambda:InvokeFunction", {"Fn::GetAtt": ["Function", "Arn"]})
    ]
    policy = resources["ContinuationPolicy"]
    assert policy["Type"] == "AWS::IAM::Policy" and policy["Properties"]["Roles"] == [{"Ref": "Role"}]
    assert "Condition" not in policy, "the function may always continue its requests"
    assert resources["TopicInvokePermission"]["DependsOn"] == "ContinuationPolicy"
    # The boundary, when given, is the user's to allow it.
    assert "lambda:InvokeFunction" in " ".join(template["Parameters"]["PermissionsBoundary"]["Description"].split())


def test_logs_permissions_only_on_the_log_group():
    template = load("provider.yaml")
    for name, statement in identity_statements(template):
        actions = as_list(statement["Action"])
        if any(a.startswith("logs:") for a in actions):
            assert set(actions) <= {"logs:CreateLogStream", "logs:PutLogEvents"}, name
            assert as_list(statement["Resource"]) == [{"Fn::GetAtt": ["LogGroup", "Arn"]}], name


# The publishers: principals of the organization whose ARN is a StackSet execution role's.
PUBLISHER_CONDITIONS = {
    "StringEquals": {"aws:PrincipalOrgID": {"Ref": "OrganizationId"}},
    "ArnLike": {"aws:PrincipalArn": {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/${PublisherRoleNamePattern}"}},
}


def test_topic_policy_lets_only_the_organizations_stackset_roles_publish():
    template = load("provider.yaml")
    policies = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::SNS::TopicPolicy"]
    assert len(policies) == 1
    assert policies[0]["Topics"] == [{"Ref": "Topic"}]
    statements = as_list(policies[0]["PolicyDocument"]["Statement"])
    # Publishes over TLS only: the one Deny (SNS Developer Guide, "Amazon SNS security best practices").
    denies = [s for s in statements if s["Effect"] == "Deny"]
    assert denies == [
        {
            "Sid": "DenyPublishWithoutTls",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "sns:Publish",
            "Resource": {"Ref": "Topic"},
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ], denies
    statements = [s for s in statements if s["Effect"] != "Deny"]
    assert statements
    for statement in statements:
        assert statement["Effect"] == "Allow", statement
        assert as_list(statement["Action"]) == ["sns:Publish"]
        assert statement["Resource"] == {"Ref": "Topic"}
        assert statement.get("Condition") == PUBLISHER_CONDITIONS, (
            f"topic policy statement {statement.get('Sid')} does not require aws:PrincipalOrgID and aws:PrincipalArn"
        )
    assert template["Parameters"]["PublisherRoleNamePattern"]["Default"] == "stacksets-exec-*"


def test_topic_and_log_group_are_encrypted_with_the_rotated_customer_managed_key():
    resources = load("provider.yaml")["Resources"]
    ((key_id, key),) = [(k, r) for k, r in resources.items() if r["Type"] == "AWS::KMS::Key"]
    assert key["Properties"]["EnableKeyRotation"] is True
    assert resources["Topic"]["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert resources["LogGroup"]["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}


def test_key_policy_lets_exactly_the_publishers_and_the_log_group_use_the_key():
    key = load("provider.yaml")["Resources"]["Key"]["Properties"]
    statements = {s["Sid"]: s for s in as_list(key["KeyPolicy"]["Statement"])}
    root = {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}
    for sid, statement in statements.items():
        assert statement["Effect"] == "Allow", sid
        assert "NotAction" not in statement and "NotPrincipal" not in statement, sid
        if statement["Principal"] != root:
            actions = as_list(statement["Action"])
            assert not any(a in ("*", "kms:*") for a in actions), f"{sid}: kms:* for {statement['Principal']}"
            assert statement.get("Condition"), f"{sid}: unconditioned key access for {statement['Principal']}"
    # The account administers the key (KMS's default key policy).
    assert statements["AccountAdministersTheKey"]["Principal"] == root
    assert statements["AccountAdministersTheKey"]["Action"] == "kms:*"
    # The publishers: the topic policy's principals, for publishing only (through SNS).
    publishers = statements["TopicPublishersEncryptThroughSns"]
    assert publishers["Principal"] == {"AWS": "*"}
    assert set(as_list(publishers["Action"])) == {"kms:GenerateDataKey*", "kms:Decrypt"}
    condition = publishers["Condition"]
    assert condition["ArnLike"] == PUBLISHER_CONDITIONS["ArnLike"]
    assert condition["StringEquals"] == {
        **PUBLISHER_CONDITIONS["StringEquals"],
        "kms:ViaService": {"Fn::Sub": "sns.${AWS::Region}.amazonaws.com"},
    }
    # CloudWatch Logs, for this log group only.
    logs = statements["CloudWatchLogsForTheLogGroup"]
    assert logs["Principal"] == {"Service": {"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}}
    assert logs["Condition"] == {
        "ArnEquals": {
            "kms:EncryptionContext:aws:logs:arn": {
                "Fn::Sub": (
                    "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/${Function}"
                )
            }
        }
    }
    assert set(statements) == {
        "AccountAdministersTheKey",
        "TopicPublishersEncryptThroughSns",
        "CloudWatchLogsForTheLogGroup",
    }


def policy_documents(template):
    """(resource logical id, document) of every policy in the template: identity, trust, topic, key, queue."""
    for name, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        kind = resource["Type"]
        if kind == "AWS::IAM::Role":
            yield name, props["AssumeRolePolicyDocument"]
            for policy in props.get("Policies", []):
                yield name, policy["PolicyDocument"]
        elif kind in (
            "AWS::IAM::Policy",
            "AWS::IAM::RolePolicy",
            "AWS::IAM::ManagedPolicy",
            "AWS::SNS::TopicPolicy",
            "AWS::SQS::QueuePolicy",
        ):
            yield name, props["PolicyDocument"]
        elif kind == "AWS::KMS::Key":
            yield name, props["KeyPolicy"]


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(CFN)))
def test_no_wildcard_action_anywhere(template):
    """No "*" or "service:*" action in any policy; the one exception is the key's administration by the account
    root (KMS's default key policy). Prefix patterns the services document (kms:GenerateDataKey*) are allowed
    in resource policies only; identity policies have exact actions (test above)."""
    body = cfn_yaml.load(str(template))
    root = {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}
    for name, document in policy_documents(body):
        for statement in as_list(document["Statement"]):
            assert "NotAction" not in statement, f"{name}: NotAction"
            for action in as_list(statement["Action"]):
                assert isinstance(action, str), f"{name}: action is not a literal: {action!r}"
                if action == "kms:*" and statement.get("Principal") == root:
                    continue
                assert action != "*" and not action.endswith(":*"), f"{name}: wildcard action {action}"


def test_refused_requests_are_counted_and_alarmed():
    template = load("provider.yaml")
    resources = template["Resources"]
    (metric_filter,) = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Logs::MetricFilter"]
    assert metric_filter["LogGroupName"] == {"Ref": "LogGroup"}
    assert metric_filter["FilterPattern"] == '{ $.fields.message = "request refused" }'
    (transformation,) = metric_filter["MetricTransformations"]
    assert transformation["MetricValue"] == "1"
    alarm = resources["RefusedRequestsAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == (
        transformation["MetricNamespace"],
        transformation["MetricName"],
    )
    assert (alarm["Statistic"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
        "Sum",
        1,
        "GreaterThanOrEqualToThreshold",
    )
    assert alarm["TreatMissingData"] == "notBreaching"
    # The notification is optional: no topic, no action.
    for name in ("RefusedRequestsAlarm", "DeadLetterAlarm"):
        assert resources[name]["Properties"]["AlarmActions"] == {
            "Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]
        }, name
    assert template["Parameters"]["AlarmTopicArn"]["Default"] == ""


def test_topic_invokes_lambda_with_scoped_permission():
    resources = load("provider.yaml")["Resources"]
    # Besides the membership watch's schedule (tests/test_membership_watch.py), only the topic may invoke it.
    permissions = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Permission" and r["Properties"]["Principal"] != "events.amazonaws.com"
    ]
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


# --- checkov, over these templates and the CDK app's synthesized ones ---------------------------------------------
#
# checkov gets a venv of its own: its pins (boto3==1.35.49, packaging<24, networkx<2.7) cannot share one with
# tests/requirements.txt (boto3==1.44.5 for moto). Its version is the one named in tests/requirements.txt.

REQUIREMENTS = ROOT / "tests" / "requirements.txt"
CHECKOV_TIMEOUT_S = 300
PIP_TIMEOUT_S = 900

# What each template may skip (each skip inline, with its reason): a new skip is a decision, made here.
EXPECTED_CHECKOV_SKIPS = {
    "provider.yaml": {"CKV_AWS_117", "CKV_AWS_173", "CKV_AWS_116", "CKV_AWS_33"},
    "NewAccountStack.template.json": {"CKV_AWS_117", "CKV_AWS_173", "CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_158"},
    "ExistingAccountsStack.template.json": {"CKV_AWS_117", "CKV_AWS_173", "CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_158"},
}

# The CDK app's context: both stacks, with members, outside accounts, trusted accounts and the organization.
CDK_ORGANIZATION = "o-a1b2c3d4e5"
CDK_OUTSIDE_ACCOUNT = "444444444444"
CDK_CONTEXT = {
    "administratorAccountId": "111111111111",
    "organizationId": CDK_ORGANIZATION,
    "accountIds": "222222222222,333333333333",
    "memberAccountsOutsideOrganization": CDK_OUTSIDE_ACCOUNT,
    "trustedAccountIds": "123456789012",
    "regions": "us-east-1,eu-west-1",
}


def checkov_requirement() -> str:
    found = re.findall(r"\bcheckov==[0-9][\w.]*", REQUIREMENTS.read_text())
    assert len(found) == 1, f"tests/requirements.txt must name one checkov==VERSION, found {found}"
    return found[0]


def checkov_executable() -> str:
    """$CHECKOV, or checkov from its own venv beside the test venv (created on first use, under a lock)."""
    if os.environ.get("CHECKOV"):
        return os.environ["CHECKOV"]
    requirement = checkov_requirement()
    base = Path(sys.prefix) if sys.prefix != sys.base_prefix else ROOT / ".venv"
    venv = base / "checkov"
    marker = venv / f".installed-{requirement}"
    base.mkdir(parents=True, exist_ok=True)
    with open(base / ".checkov.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists():
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
            install = subprocess.run(
                [
                    str(venv / "bin" / "python"),
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    requirement,
                ],
                capture_output=True,
                text=True,
                timeout=PIP_TIMEOUT_S,
            )
            assert install.returncode == 0, f"pip install {requirement}:\n{install.stdout}{install.stderr}"
            marker.touch()
    return str(venv / "bin" / "checkov")


@pytest.fixture(scope="module")
def cdk_templates(tmp_path_factory) -> list[Path]:
    """The CDK app's synthesized templates (cdk.out/*.template.json), as tests/harness/cdk.py synthesizes them;
    the CLI writes every stack of the app whichever it is asked to print."""
    from harness import cdk

    assembly = cdk.synth("ExistingAccountsStack", CDK_CONTEXT, tmp_path_factory.mktemp("cdk") / "cdk.out")
    templates = sorted(assembly.glob("*.template.json"))
    assert {t.name for t in templates} == {"NewAccountStack.template.json", "ExistingAccountsStack.template.json"}
    return templates


def checkov_report(files: list[Path], staging: Path) -> list[dict]:
    """checkov's JSON results over `files`, offline (--skip-download: no platform calls, no version check).

    checkov is given short relative paths (copies in `staging`), never where the clone happens to be: it puts a
    `__file__` entry holding the path it was given into each Lambda function's environment Variables, and
    CKV_AWS_45 scans that entry like a variable. A path with 40 characters in a row from the AWS secret key
    pattern ([A-Za-z0-9/+=]{40}, checkov/common/util/secrets.py) then fails the check on a clean template."""
    names = []
    for index, file in enumerate(files):
        name = f"{index}/{file.name}"
        (staging / str(index)).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(file, staging / name)
        names.append(name)
    command = [checkov_executable(), "--framework", "cloudformation", "--skip-download", "--output", "json"]
    for name in names:
        command += ["--file", name]
    env = {**os.environ, "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true", "BC_SKIP_MAPPING": "TRUE"}
    started = time.monotonic()
    run = subprocess.run(command, capture_output=True, text=True, timeout=CHECKOV_TIMEOUT_S, env=env, cwd=staging)
    print(f"checkov over {len(files)} templates: {time.monotonic() - started:.1f} s (exit {run.returncode})")
    assert run.returncode in (0, 1), f"checkov exit {run.returncode}:\n{run.stdout[-3000:]}{run.stderr[-3000:]}"
    report = json.loads(run.stdout)
    return report if isinstance(report, list) else [report]


def test_checkov_clean_with_each_skip_explained(cdk_templates, tmp_path):
    files = [*TEMPLATES, *cdk_templates]
    reports = checkov_report(files, tmp_path)
    failed, skipped, parsing_errors = [], {}, []
    for report in reports:
        results = report.get("results", {})
        parsing_errors += results.get("parsing_errors", [])
        for check in results.get("failed_checks", []):
            failed.append(
                f"{Path(check['file_path']).name} {check['resource']}: {check['check_id']} {check['check_name']}"
            )
        for check in results.get("skipped_checks", []):
            comment = check["check_result"].get("suppress_comment") or ""
            assert len(comment) >= 60, f"{check['file_path']} {check['resource']} {check['check_id']}: no real reason"
            skipped.setdefault(Path(check["file_path"]).name, set()).add(check["check_id"])
    assert not parsing_errors, parsing_errors
    assert not failed, "checkov:\n" + "\n".join(failed)
    assert skipped == EXPECTED_CHECKOV_SKIPS


# --- the CDK provider has the template's statements -----------------------------------------------------------


def rendered(value, substitutions: dict, logical_ids: dict | None = None):
    """An intrinsic as text (Ref -> ${Name}, Fn::Sub, Fn::Join, Fn::GetAtt -> ${Resource.Attribute}), substitutions
    applied, and resources of Fn::GetAtt renamed by `logical_ids`; lists element-wise."""
    logical_ids = logical_ids or {}
    if isinstance(value, list):
        return [rendered(v, substitutions, logical_ids) for v in value]
    if isinstance(value, dict) and set(value) == {"Ref"}:
        replaced = substitutions.get(value["Ref"], "${" + value["Ref"] + "}")
        return rendered(replaced, substitutions, logical_ids) if not isinstance(replaced, str) else replaced
    if isinstance(value, dict) and "Fn::Sub" in value:
        text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
        for name, replacement in substitutions.items():
            if isinstance(replacement, str):
                text = text.replace("${" + name + "}", replacement)
        return text
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        resource, attribute = value["Fn::GetAtt"]
        return "${" + logical_ids.get(resource, resource) + "." + attribute + "}"
    if isinstance(value, dict) and "Fn::Join" in value:
        delimiter, parts = value["Fn::Join"]
        return delimiter.join(rendered(p, substitutions, logical_ids) for p in parts)
    if isinstance(value, dict):
        return {k: rendered(v, substitutions, logical_ids) for k, v in value.items()}
    return value


def comparable(statement: dict, substitutions: dict, logical_ids: dict | None = None) -> dict:
    resources = rendered(as_list(statement["Resource"]), substitutions, logical_ids)
    return {
        "Actions": sorted(as_list(statement["Action"])),
        "Resources": sorted(set(resources)),
        "Condition": rendered(statement.get("Condition"), substitutions, logical_ids),
    }


def test_cdk_provider_role_has_the_templates_statements(cdk_templates):
    template = load("provider.yaml")
    # The template's parameters as the CDK app sets them (the default role names).
    substitutions = {
        "MemberRoleName": "OrganizationAccountAccessRole",
        "AdministratorRoleName": "OrganizationAccountAccessRole",
        "OrganizationId": CDK_ORGANIZATION,
        "MemberAccountsOutsideOrganization": [CDK_OUTSIDE_ACCOUNT],
    }
    # The dead-letter statement names each one's own queue (the CDK's has no Sid; cdk-example's tests check it).
    expected = {
        s["Sid"]: comparable(s, substitutions)
        for _, s in identity_statements(template)
        if s.get("Sid") not in (None, "DeadLetterQueue")
    }
    # The continuation statement names each one's own function: the CDK's function stands for provider.yaml's.
    assert expected["InvokeItself"]["Resources"] == ["${Function.Arn}"]
    for cdk_template in cdk_templates:
        body = json.loads(cdk_template.read_text())
        (function_id,) = [k for k, r in body["Resources"].items() if r["Type"] == "AWS::Lambda::Function"]
        statements = {s["Sid"]: s for _, s in identity_statements(body) if "Sid" in s}
        actual = {sid: comparable(s, {}, {function_id: "Function"}) for sid, s in statements.items()}
        assert actual == expected, cdk_template.name
        assert_statements_serve_their_sides(statements, PROVIDER_STATEMENTS, cdk_template.name)
        env = [
            r["Properties"]["Environment"]["Variables"]
            for r in body["Resources"].values()
            if r["Type"] == "AWS::Lambda::Function"
        ]
        assert env == [
            {
                "ADMINISTRATOR_ACCOUNT_IDS": "111111111111",
                "TRUSTED_ACCOUNT_IDS": "123456789012",
                "MAX_CONCURRENT_REGIONS": "64",
                "RUST_LOG": "info",
            }
        ], cdk_template.name


# --- the enrollment role, the StackSet's role parameters, the provider's operations -----------------------------
#
# src/aws/calls.toml declares every AWS operation the provider calls, by the side it acts for: its own (the
# provider), the administrator's, the member's, and the requesting stack's account's. The declaration is held to
# the code by operation name (every `.op("Operation")` of src/, and every SDK method named like an operation of a
# declared service), and the IAM policies to the declaration: cloudformation/enrollment-role.yaml, the role the
# provider assumes in every account (MemberRoleName and AdministratorRoleName), allows exactly the calls of the
# administrator, the member and the stack, each Security Hub CSPM side in its own statement; provider.yaml's role
# (and the CDK provider's, which has its statements) allows every call. A call added or dropped in src/ fails here
# until the declaration and the roles follow.

import tomllib  # noqa: E402

import botocore.session  # noqa: E402  (boto3's; the service models name every operation of each SDK client)
from botocore import xform_name  # noqa: E402

SRC = ROOT / "src"
CALLS = SRC / "aws" / "calls.toml"
README = ROOT / "README.md"
ENROLLMENT_ROLE = "enrollment-role.yaml"
SIDES = ("provider", "administrator", "member", "stack")
# The sides the enrollment role serves: every account's, entered through AssumeRole.
ROLE_SIDES = ("administrator", "member", "stack")
# How a file of src/ reaches a service's client besides naming its crate (aws_sdk_<service>): src/aws.rs's
# helpers, `session.securityhub(region)`, `session.account_management()`, ...
CLIENT_HELPERS = {
    "securityhub": r"\bsecurityhub\(",
    "cloudformation": r"\bcloudformation\(",
    "account": r"\baccount_management\(",
    "organizations": r"\borganizations\(",
    "lambda": r"\blambda\(",
    "sts": r"\bsts\(",
}
# The one permission no SDK call names: the first EnableSecurityHub in an account creates Security Hub CSPM's
# service-linked role, which the caller must be allowed to create (Security Hub User Guide, "Service-linked roles
# for AWS Security Hub CSPM").
IMPLIED_ACTIONS = {"iam:CreateServiceLinkedRole"}
# The statements of each side's calls, by Sid: (template's statement, the sides, the service).
ENROLLMENT_ROLE_STATEMENTS = {
    "AdministratorSide": (("administrator",), "securityhub"),
    "MemberSide": (("member",), "securityhub"),
    "DiscoverRegions": (("administrator", "member"), "account"),
    "ReadRequestingStacks": (("stack",), "cloudformation"),
}
PROVIDER_STATEMENTS = {
    "SecurityHubAdministratorIsThisAccount": (("administrator",), "securityhub"),
    "SecurityHubMemberIsThisAccount": (("member",), "securityhub"),
    "DiscoverRegions": (("administrator", "member"), "account"),
    "ReadRequestingStacks": (("stack",), "cloudformation"),
    "InvokeItself": (("provider",), "lambda"),
}


def declared_calls() -> dict[str, set[str]]:
    """Side -> the `service:Operation`s src/aws/calls.toml declares for it."""
    declaration = tomllib.loads(CALLS.read_text())
    assert set(declaration) == {*SIDES, "actions"}, sorted(declaration)
    calls = {side: set(declaration[side]) for side in SIDES}
    for side in SIDES:
        assert len(calls[side]) == len(declaration[side]), f"{side}: an operation declared twice"
    return calls


def action_of(call: str) -> str | None:
    """The IAM action a declared `service:Operation` needs (None: none)."""
    renamed = tomllib.loads(CALLS.read_text())["actions"]
    return (renamed[call] or None) if call in renamed else call


def actions_of(sides, service: str | None = None) -> set[str]:
    """The IAM actions the calls of `sides` need (of `service` only, when given)."""
    calls = declared_calls()
    actions = {action_of(call) for side in sides for call in calls[side]} - {None}
    return {a for a in actions if service is None or a.split(":", 1)[0] == service}


def without_test_code(text: str) -> str:
    """Rust source without its `#[cfg(test)] mod name { ... }` blocks (braces counted; strings in test code keep
    theirs balanced)."""
    out, position = [], 0
    for found in re.finditer(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", text):
        if found.start() < position:
            continue
        out.append(text[position : found.start()])
        depth, index = 1, found.end()
        while depth and index < len(text):
            depth += {"{": 1, "}": -1}.get(text[index], 0)
            index += 1
        position = index
    out.append(text[position:])
    return "".join(out)


def production_sources() -> dict[Path, str]:
    """src/**/*.rs that is built into the binary: no tests.rs, no module declared under #[cfg(test)]."""
    test_modules = set()
    for path in SRC.rglob("*.rs"):
        for name in re.findall(r"#\[cfg\(test\)\]\s*mod\s+(\w+)\s*;", path.read_text()):
            base = path.parent if path.name in ("lib.rs", "mod.rs", "main.rs") else path.with_suffix("")
            test_modules |= {base / f"{name}.rs", base / name / "mod.rs"}
    return {
        p: without_test_code(p.read_text())
        for p in sorted(SRC.rglob("*.rs"))
        if p.name != "tests.rs" and p not in test_modules and "tests" not in p.relative_to(SRC).parts[:-1]
    }


def named_operations() -> dict[str, set[Path]]:
    """Operation -> the files of src/ naming it in `.op("Operation")` (or `.op(NAME)` of a `const NAME: &str`), outside
    comments."""
    named: dict[str, set[Path]] = {}
    for path, source in production_sources().items():
        text = re.sub(r"^\s*//.*$", "", source, flags=re.MULTILINE)  # comments: doc examples are no calls
        constants = dict(re.findall(r'const\s+(\w+)\s*:\s*&(?:\'static\s+)?str\s*=\s*"(\w+)"', text))
        for literal, constant in re.findall(r'\.\s*op\(\s*(?:"(\w+)"|(\w+))\s*\)', text):
            assert literal or constant in constants, f"{path}: .op({constant}) names no string constant of the file"
            named.setdefault(literal or constants[constant], set()).add(path.relative_to(ROOT))
    return named


def sdk_method_calls() -> list[tuple[str, Path]]:
    """(service:Operation, file) of every method called in src/ that is named like an operation (snake_case, as the
    Rust SDK names them) of a declared service, in a file that uses that service's crate or client helper."""
    session = botocore.session.get_session()
    services = {call.split(":", 1)[0] for calls in declared_calls().values() for call in calls}
    calls = []
    for path, text in production_sources().items():
        for service in sorted(services):
            if f"aws_sdk_{service}" not in text and not re.search(CLIENT_HELPERS[service], text):
                continue
            operations = {xform_name(op): op for op in session.get_service_model(service).operation_names}
            for method in re.findall(r"(?:\w+|\))\s*\.\s*([a-z_]+)\s*\(", text):
                if method in operations:
                    calls.append((f"{service}:{operations[method]}", path.relative_to(ROOT)))
    return calls


def role_statements(template) -> dict:
    (role,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    statements = [s for p in role["Properties"]["Policies"] for s in as_list(p["PolicyDocument"]["Statement"])]
    by_sid = {s["Sid"]: s for s in statements}
    assert len(by_sid) == len(statements), "every statement has its own Sid"
    return by_sid


def assert_statements_serve_their_sides(statements: dict, expected: dict, where: str) -> None:
    """Each statement of `expected` (by Sid) allows exactly its sides' calls of its service."""
    for sid, (sides, service) in expected.items():
        allowed = set(as_list(statements[sid]["Action"]))
        wanted = actions_of(sides, service)
        assert allowed == wanted, (
            f"{where} {sid}: allowed, not called: {sorted(allowed - wanted)}; called by the {'/'.join(sides)} "
            f"side, not allowed: {sorted(wanted - allowed)} (src/aws/calls.toml)"
        )


def test_the_declared_calls_are_the_operations_the_code_calls():
    calls = declared_calls()
    declared = {call.split(":", 1)[1]: call for side in SIDES for call in calls[side]}
    named = named_operations()
    # The derivation itself finds the calls it must (a broken regex would make the comparison vacuous).
    assert {
        "CreateMembers",
        "AcceptAdministratorInvitation",
        "ListRegions",
        "DescribeStackResource",
        "CreateAccount",
        "AssumeRole",
        "Invoke",
    } <= set(named), sorted(named)
    undeclared = {op: sorted(map(str, paths)) for op, paths in named.items() if op not in declared}
    assert not undeclared, f"called, not declared in src/aws/calls.toml: {undeclared}"
    assert set(declared) <= set(named), f"declared, not called: {sorted(set(declared) - set(named))}"
    # Every SDK method named like an operation of a declared service is a declared call.
    methods = sdk_method_calls()
    assert {"securityhub:CreateMembers", "account:ListRegions", "organizations:CreateAccount"} <= {
        call for call, _ in methods
    }, methods
    every = {call for side in SIDES for call in calls[side]}
    strays = sorted({(call, str(path)) for call, path in methods if call not in every})
    assert not strays, f"SDK calls not declared in src/aws/calls.toml: {strays}"
    # Each declared operation is one of its service's (botocore's models); each side's calls are its own.
    session = botocore.session.get_session()
    for call in every:
        service, operation = call.split(":", 1)
        assert operation in session.get_service_model(service).operation_names, call
    assert not calls["provider"] & (calls["administrator"] | calls["member"] | calls["stack"]), (
        "a call of the provider's own is made for no other side"
    )


def test_enrollment_role_allows_exactly_the_calls_the_code_makes():
    template = load(ENROLLMENT_ROLE)
    allowed = set()
    for sid, statement in role_statements(template).items():
        assert statement["Effect"] == "Allow", sid
        assert "NotAction" not in statement and "NotResource" not in statement, sid
        for action in as_list(statement["Action"]):
            assert isinstance(action, str) and "*" not in action, f"{sid}: {action!r}"
            allowed.add(action)
    expected = actions_of(ROLE_SIDES) | IMPLIED_ACTIONS
    assert {
        "securityhub:CreateMembers",
        "securityhub:AcceptAdministratorInvitation",
        "account:ListRegions",
        "cloudformation:DescribeStackResource",
    } <= expected, sorted(expected)
    assert allowed == expected, (
        f"allowed, not called: {sorted(allowed - expected)}; called, not allowed: {sorted(expected - allowed)} "
        "(src/aws/calls.toml)"
    )


def test_enrollment_role_gives_each_side_its_calls_and_the_administrator_side_only_to_administrators():
    statements = role_statements(load(ENROLLMENT_ROLE))
    assert_statements_serve_their_sides(statements, ENROLLMENT_ROLE_STATEMENTS, ENROLLMENT_ROLE)
    assert set(as_list(statements["SecurityHubServiceLinkedRole"]["Action"])) == IMPLIED_ACTIONS
    assert "Condition" not in statements["MemberSide"]
    assert statements["AdministratorSide"]["Condition"] == {
        "StringEquals": {"aws:PrincipalAccount": {"Ref": "AdministratorAccountIds"}}
    }
    assert set(as_list(statements["MemberSide"]["Action"])).isdisjoint(
        as_list(statements["AdministratorSide"]["Action"])
    )


def test_provider_role_gives_each_side_its_calls():
    statements = {s["Sid"]: s for _, s in identity_statements(load("provider.yaml")) if "Sid" in s}
    assert_statements_serve_their_sides(statements, PROVIDER_STATEMENTS, "provider.yaml")


def test_enrollment_role_acts_only_on_its_own_accounts_resources():
    statements = role_statements(load(ENROLLMENT_ROLE))
    expected = {
        "securityhub": "arn:${AWS::Partition}:securityhub:*:${AWS::AccountId}:hub/default",
        "account": "arn:${AWS::Partition}:account::${AWS::AccountId}:account",
        "cloudformation": "arn:${AWS::Partition}:cloudformation:*:${AWS::AccountId}:stack/*/*",
        "iam": (
            "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/securityhub.amazonaws.com/"
            "AWSServiceRoleForSecurityHub"
        ),
    }
    for sid, statement in statements.items():
        services = {a.split(":", 1)[0] for a in as_list(statement["Action"])}
        assert len(services) == 1, f"{sid}: one service per statement"
        (service,) = services
        assert [text_of(r) for r in as_list(statement["Resource"])] == [expected[service]], sid
    assert statements["SecurityHubServiceLinkedRole"]["Condition"] == {
        "StringEquals": {"iam:AWSServiceName": "securityhub.amazonaws.com"}
    }


def test_enrollment_role_trusts_only_the_providers_role_and_its_sessions():
    template = load(ENROLLMENT_ROLE)
    (role,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    props = role["Properties"]
    (statement,) = as_list(props["AssumeRolePolicyDocument"]["Statement"])
    assert statement["Effect"] == "Allow" and statement["Action"] == "sts:AssumeRole"
    assert statement["Principal"] == {
        "AWS": {
            "Fn::Sub": [
                "arn:${AWS::Partition}:iam::${ProviderAccount}:root",
                {"ProviderAccount": {"Fn::Select": [4, {"Fn::Split": [":", {"Ref": "ProviderRoleArn"}]}]}},
            ]
        }
    }
    # The session names the provider gives (src/aws.rs, SESSION_PREFIX): securityhub-member-account-<RequestId>.
    (prefix,) = re.findall(r'const SESSION_PREFIX: &str = "([^"]+)";', (SRC / "aws.rs").read_text())
    assert statement["Condition"] == {
        "ArnEquals": {"aws:PrincipalArn": {"Ref": "ProviderRoleArn"}},
        "StringLike": {"sts:RoleSessionName": f"{prefix}-*"},
    }
    # The provider assumes arn:<partition>:iam::<account>:role/<name>: no path, the name a parameter that the
    # provider's MemberRoleName / AdministratorRoleName accept.
    assert props["RoleName"] == {"Ref": "RoleName"} and "Path" not in props
    parameters = template["Parameters"]
    provider = load("provider.yaml")["Parameters"]
    assert parameters["RoleName"]["AllowedPattern"] == provider["MemberRoleName"]["AllowedPattern"]
    assert re.fullmatch(parameters["RoleName"]["AllowedPattern"], parameters["RoleName"]["Default"])
    arn = parameters["ProviderRoleArn"]["AllowedPattern"]
    assert re.fullmatch(arn, "arn:aws:iam::123456789012:role/securityhub-member-account-provider-Role-ABC123")
    assert not re.fullmatch(arn, "arn:aws:iam::123456789012:root")
    assert props["PermissionsBoundary"] == {
        "Fn::If": ["HasPermissionsBoundary", {"Ref": "PermissionsBoundary"}, {"Ref": "AWS::NoValue"}]
    }
    # The provider stack names the role's ARN for this template's ProviderRoleArn.
    assert load("provider.yaml")["Outputs"]["ProviderRoleArn"]["Value"] == {"Fn::GetAtt": ["Role", "Arn"]}


def readme_property_defaults() -> dict[str, str]:
    """`property` -> default, from the README's property table (backquoted defaults only)."""
    rows = re.findall(r"^\| `(\w+)` \| [^|]+ \| `([^`]+)` \|", README.read_text(), re.MULTILINE)
    return dict(rows)


def test_stackset_member_passes_the_role_names_and_default_standards():
    template = load("stackset-member.yaml")
    (member,) = [r for r in template["Resources"].values() if r["Type"] == "Custom::SecurityHubMemberAccount"]
    props = member["Properties"]
    parameters = template["Parameters"]
    defaults = readme_property_defaults()
    provider = load("provider.yaml")["Parameters"]
    for name in ("MemberRoleName", "AdministratorRoleName", "EnableDefaultStandards"):
        assert props[name] == {"Ref": name}, name
        assert parameters[name]["Type"] == "String", name
        assert parameters[name]["Default"] == defaults[name], f"{name}: the README's default is {defaults[name]}"
    for name in ("MemberRoleName", "AdministratorRoleName"):
        assert parameters[name]["AllowedPattern"] == provider[name]["AllowedPattern"], name
        assert parameters[name]["Default"] == provider[name]["Default"], name
    # src/properties: "true" / "false" (any case); the template offers the two CloudFormation would send.
    assert parameters["EnableDefaultStandards"]["AllowedValues"] == ["true", "false"]
    assert parameters["OnDelete"]["Default"] == defaults["OnDelete"]


ALARMED_FUNCTION_METRICS = {
    "ErrorsAlarm": "Errors",
    "ThrottlesAlarm": "Throttles",
    "DestinationDeliveryFailuresAlarm": "DestinationDeliveryFailures",
}


def test_provider_alarms_on_errors_throttles_and_the_dead_letter_queue():
    resources = load("provider.yaml")["Resources"]
    for name, metric in ALARMED_FUNCTION_METRICS.items():
        alarm = resources[name]["Properties"]
        assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Lambda", metric), name
        assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "Function"}}], name
        assert (alarm["Statistic"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
            "Sum",
            1,
            "GreaterThanOrEqualToThreshold",
        ), name
        assert alarm["TreatMissingData"] == "notBreaching", name
        assert alarm["AlarmActions"] == {
            "Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]
        }, name
    depth = resources["DeadLetterAlarm"]["Properties"]
    assert (depth["Namespace"], depth["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert depth["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}}]
    assert resources["DeadLetterQueue"]["Properties"]["KmsMasterKeyId"], "the failed events' queue is encrypted"


def test_provider_permissions_boundary_is_optional():
    template = load("provider.yaml")
    assert template["Parameters"]["PermissionsBoundary"]["Default"] == ""
    assert template["Conditions"]["HasPermissionsBoundary"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "PermissionsBoundary"}, ""]}]
    }
    assert template["Resources"]["Role"]["Properties"]["PermissionsBoundary"] == {
        "Fn::If": ["HasPermissionsBoundary", {"Ref": "PermissionsBoundary"}, {"Ref": "AWS::NoValue"}]
    }
    pattern = template["Parameters"]["PermissionsBoundary"]["AllowedPattern"]
    for good in (
        "",
        "arn:aws:iam::123456789012:policy/boundaries/Workloads",
        "arn:aws:iam::aws:policy/PowerUserAccess",
    ):
        assert re.fullmatch(pattern, good), good
    assert not re.fullmatch(pattern, "arn:aws:iam::123456789012:role/NotAPolicy")
