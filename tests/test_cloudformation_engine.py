"""The project's real templates on moto's own CloudFormation engine, the custom-resource Create sent by the
engine itself and answered by the real `bootstrap` binary (tests/emulator/cloudformation.py, harness/stacks.py).

Each test deploys cloudformation/provider.yaml (its code on the emulator's S3), then a member stack importing
or passing its ServiceToken, and checks the stack's status and outputs, the member in the emulator's Security
Hub state, and the Create the binary received. moto's engine sends no Update or Delete to custom resources:
those go through the harness, with the real stack's StackId, LogicalResourceId, PhysicalResourceId and
ServiceToken, and the resource's properties as the engine sent them.
"""

from __future__ import annotations

import ast
import json
import re

import pytest

from harness import cdk
from harness.assertions import assert_associated, assert_delivered, assert_without_administrator
from harness.constants import ACCOUNT_ID, ADMIN, MEMBER, R1, R2, R3
from harness.stacks import EXISTING_ACCOUNT, NEW_ACCOUNT, STACKSET_MEMBER, Engine, Stack

# --- helpers ------------------------------------------------------------------------------------------------


@pytest.fixture
def engine(emulator, runtime_api, provider):
    """The emulator's engine, its Lambda invocations going to the running binary."""
    return Engine(emulator, runtime_api)


@pytest.fixture
def provider_stack(emulator, engine) -> Stack:
    """An organization managed by ADMIN, whose Security Hub is enabled in R1 and R2 (not R3), and the provider
    stack deployed."""
    organization = emulator.create_organization()
    for region in (R1, R2):
        emulator.enable_hub(ADMIN, region)
    return engine.deploy_provider(organization["Id"])


def assert_complete(stack: Stack) -> None:
    described = stack.describe()
    assert described["StackStatus"] == "CREATE_COMPLETE", described


def update_then_delete(emulator, cfn, stack: Stack, logical_id: str = "Member", sns: bool = False) -> None:
    """What CloudFormation sends next: an Update narrowing Regions to R1, then the Delete of the stack."""
    old = stack.properties(logical_id)
    resource = stack.resource(logical_id)
    member = resource["physical_id"]
    new = dict(old, Regions=[R1])
    updated = assert_delivered(cfn.update(new, old, sns=sns, **resource), "SUCCESS")
    assert updated["PhysicalResourceId"] == member and updated["Data"]["Regions"] == R1, updated
    assert_associated(emulator, ADMIN, member, [R1])
    assert_without_administrator(emulator, ADMIN, member, [R2])
    assert_delivered(cfn.delete(new, sns=sns, **resource), "SUCCESS")
    assert_without_administrator(emulator, ADMIN, member, [R1, R2])


# --- the provider stack ---------------------------------------------------------------------------------------


def test_provider_stack_exports_both_service_tokens(emulator, provider_stack):
    assert_complete(provider_stack)
    outputs = provider_stack.outputs
    assert re.fullmatch(rf"arn:aws:lambda:{R1}:{ADMIN}:function:.+", outputs["ServiceToken"]), outputs
    assert re.fullmatch(rf"arn:aws:sns:{R1}:{ADMIN}:.+", outputs["TopicServiceToken"]), outputs
    exports = {e["Name"]: e["Value"] for e in emulator.client("cloudformation").list_exports()["Exports"]}
    name = provider_stack.describe()["StackName"]
    assert exports == {
        f"{name}-ServiceToken": outputs["ServiceToken"],
        f"{name}-TopicServiceToken": outputs["TopicServiceToken"],
    }


def test_provider_stack_sends_failed_asynchronous_invocations_to_its_encrypted_queue(emulator, provider_stack):
    """The function's on-failure destination, as Lambda holds it after the deploy: the stack's encrypted queue."""
    function = provider_stack.outputs["ServiceToken"]
    config = emulator.client("lambda").get_function_event_invoke_config(FunctionName=function)
    sqs = emulator.client("sqs")
    [queue_url] = sqs.list_queues()["QueueUrls"]  # the stack's only queue
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == attributes["QueueArn"], config
    assert config["MaximumRetryAttempts"] == 2
    assert attributes.get("KmsMasterKeyId") == "alias/aws/sqs", attributes


def test_provider_role_may_invoke_its_own_function_and_no_other(emulator, provider_stack):
    """Continuations, as IAM holds the role after the deploy: lambda:InvokeFunction on the deployed function's
    ARN (the ServiceToken), in the role's own inline policy, and no other Lambda action in any of its policies."""
    iam = emulator.client("iam")
    role = provider_stack.outputs["ProviderRoleArn"].rsplit("/", 1)[1]
    documents = {
        name: iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]
    }
    assert not iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    grants = []
    for name, document in documents.items():
        if isinstance(document, str):  # moto keeps a CloudFormation role's own Policies as their Python repr
            document = json.loads(document) if document.startswith('{"') else ast.literal_eval(document)
        for statement in document["Statement"] if isinstance(document["Statement"], list) else [document["Statement"]]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if any(a.lower().startswith("lambda:") for a in actions):
                grants.append((name, actions, statement["Resource"]))
    assert grants == [("continuations", ["lambda:InvokeFunction"], provider_stack.outputs["ServiceToken"])], documents


# --- member stacks ----------------------------------------------------------------------------------------------


def test_existing_account_example(emulator, engine, provider_stack, cfn):
    stack = engine.deploy(
        EXISTING_ACCOUNT,
        "member-existing",
        {"AdministratorAccountId": ADMIN, "AccountId": MEMBER, "Regions": f"{R1},{R2}"},
    )
    assert_complete(stack)
    assert stack.outputs == {
        "AccountId": MEMBER,
        "Regions": f"{R2},{R1}",
        "AccountCreated": "false",
        "AdministratorAccountId": ADMIN,
    }
    assert stack.physical_id() == MEMBER
    create = stack.create_event()
    assert create["ServiceToken"] == provider_stack.outputs["ServiceToken"]  # Fn::ImportValue
    # The template's ServiceTimeout, as moto passes it: the template's number (CloudFormation sends "1200").
    assert str(create["ResourceProperties"]["ServiceTimeout"]) == "1200", create
    assert create["ResourceProperties"]["Regions"] == [R1, R2], create
    assert_associated(emulator, ADMIN, MEMBER, [R1, R2])
    update_then_delete(emulator, cfn, stack)


def test_new_account_example(emulator, engine, provider_stack, cfn):
    stack = engine.deploy(
        NEW_ACCOUNT,
        "member-new",
        {"AdministratorAccountId": ADMIN, "AccountName": "Engine Sandbox", "Email": "engine-sandbox@example.com"},
    )
    assert_complete(stack)
    account = stack.physical_id()
    assert ACCOUNT_ID.match(account), account
    # No Regions: every region where the administrator has Security Hub and the new account is enabled.
    assert stack.outputs == {
        "AccountId": account,
        "Regions": f"{R2},{R1}",
        "AccountCreated": "true",
        "AdministratorAccountId": ADMIN,
    }
    assert [a["Id"] for a in emulator.accounts_with_email("engine-sandbox@example.com")] == [account]
    create = stack.create_event()
    assert str(create["ResourceProperties"]["ServiceTimeout"]) == "3600", create
    assert "ParentId" not in create["ResourceProperties"], create  # !If [HasParentId, ..., !Ref AWS::NoValue]
    assert_associated(emulator, ADMIN, account, [R1, R2])
    update_then_delete(emulator, cfn, stack)


def test_a_new_account_that_outlasts_one_invocation_goes_on_in_a_fresh_one(
    emulator, engine, provider_stack, runtime_api
):
    """The engine's own Create, with an account creation longer than the (shortened) function timeout: the
    binary hands the request to a fresh invocation of its function, and the stack completes on its answer."""
    runtime_api.function_timeout_s = 8
    emulator.configure(create_account_delay_s=12)
    stack = engine.deploy(
        NEW_ACCOUNT,
        "member-long",
        {"AdministratorAccountId": ADMIN, "AccountName": "Engine Long", "Email": "engine-long@example.com"},
    )
    assert_complete(stack)
    account = stack.physical_id()
    assert [a["Id"] for a in emulator.accounts_with_email("engine-long@example.com")] == [account]
    payloads = [json.loads(invocation.payload) for invocation in runtime_api.invocations]
    continued = [p for p in payloads if "SecurityHubMemberAccountContinuation" in p]
    assert continued and all(p["Request"] == stack.create_event() for p in continued), payloads
    assert len(emulator.aws_calls(operation="CreateAccount")) == 1
    assert_associated(emulator, ADMIN, account, [R1, R2])


def test_stackset_member_through_the_sns_service_token(emulator, engine, provider_stack, cfn):
    """The StackSet template in a member account: CloudFormation publishes the Create to the provider's topic,
    whose subscription invokes the function with the SNS notification."""
    member = emulator.create_account("StackSet Member", "stackset-member@example.com")
    topic = provider_stack.outputs["TopicServiceToken"]
    stack = engine.deploy(
        STACKSET_MEMBER,
        "StackSet-member",
        {"TopicServiceToken": topic, "AdministratorAccountId": ADMIN, "Regions": f"{R1},{R2}"},
        account=member,
    )
    assert_complete(stack)
    assert stack.outputs == {"AccountId": member, "Regions": f"{R2},{R1}"}
    payload = json.loads(stack.create_invocation().payload)
    [record] = payload["Records"]
    assert record["EventSource"] == "aws:sns", payload
    create = json.loads(record["Sns"]["Message"])
    assert create["ServiceToken"] == topic and create["StackId"].split(":")[4] == member, create
    assert create["ResourceProperties"]["AccountId"] == member  # !Ref AWS::AccountId of the member's stack
    assert str(create["ResourceProperties"]["ServiceTimeout"]) == "1200", create
    assert_associated(emulator, ADMIN, member, [R1, R2])
    update_then_delete(emulator, cfn, stack, sns=True)


def test_stackset_member_in_a_control_tower_account_through_its_role_parameter(emulator, engine, provider_stack):
    """An account Control Tower vended has AWSControlTowerExecution and no OrganizationAccountAccessRole: the
    StackSet template's MemberRoleName parameter reaches the provider, which reads the stack and enrolls the
    account through that role. Without the parameter, the same account cannot be entered at all."""
    member = emulator.create_account("Vended", "vended@example.com")
    emulator.configure(account_roles={member: ["AWSControlTowerExecution"]})
    topic = provider_stack.outputs["TopicServiceToken"]
    parameters = {"TopicServiceToken": topic, "AdministratorAccountId": ADMIN, "Regions": R1}
    refused = engine.deploy(STACKSET_MEMBER, "StackSet-default-role", parameters, account=member).describe()
    assert refused["StackStatus"] == "CREATE_FAILED", refused
    assert "role/OrganizationAccountAccessRole" in refused["StackStatusReason"], refused
    stack = engine.deploy(
        STACKSET_MEMBER,
        "StackSet-control-tower",
        {**parameters, "MemberRoleName": "AWSControlTowerExecution"},
        account=member,
    )
    assert_complete(stack)
    create = json.loads(json.loads(stack.create_invocation().payload)["Records"][0]["Sns"]["Message"])
    assert create["ResourceProperties"]["MemberRoleName"] == "AWSControlTowerExecution", create
    assert_associated(emulator, ADMIN, member, [R1])


def test_stackset_stack_of_the_administrator_has_no_member(emulator, engine, provider_stack, runtime_api):
    """In the administrator's own account the template's condition leaves the member out: nothing is sent."""
    stack = engine.deploy(
        STACKSET_MEMBER,
        "StackSet-administrator",
        {"TopicServiceToken": provider_stack.outputs["TopicServiceToken"], "AdministratorAccountId": ADMIN},
    )
    assert_complete(stack)
    assert stack.outputs == {}
    assert runtime_api.invocations == []


def test_cdk_new_account_stack(emulator, engine, provider_stack, cfn, tmp_path):
    """The CDK app's synthesized NewAccountStack, deployed as the CDK CLI does (bootstrap stack, assets, stack);
    it brings its own provider function."""
    assembly = cdk.synth(
        "NewAccountStack",
        {
            "administratorAccountId": ADMIN,
            "accountName": "CDK Sandbox",
            "email": "cdk-sandbox@example.com",
            "regions": f"{R1},{R2}",
        },
        tmp_path / "cdk.out",
    )
    stack = cdk.deploy(engine, assembly, "NewAccountStack")
    assert_complete(stack)
    [logical_id] = [
        k
        for k, v in json.loads((assembly / "NewAccountStack.template.json").read_text())["Resources"].items()
        if v["Type"] == "Custom::SecurityHubMemberAccount"
    ]
    account = stack.physical_id(logical_id)
    assert stack.outputs == {
        "MemberAccountId": account,
        "MemberRegions": f"{R2},{R1}",
        "MemberAccountCreated": "true",
        "MemberAdministratorAccountId": ADMIN,
    }
    create = stack.create_event(logical_id)
    assert create["ResourceProperties"]["ServiceTimeout"] == "3600", create  # the CDK renders a string
    assert create["ServiceToken"] != provider_stack.outputs["ServiceToken"]
    assert_associated(emulator, ADMIN, account, [R1, R2])
    update_then_delete(emulator, cfn, stack, logical_id)


def test_a_failed_create_fails_the_stack_with_the_providers_reason(emulator, engine, provider_stack):
    """R3 has no administrator hub: the provider answers FAILED, and the stack fails with its Reason."""
    stack = engine.deploy(
        EXISTING_ACCOUNT, "member-failing", {"AdministratorAccountId": ADMIN, "AccountId": MEMBER, "Regions": R3}
    )
    described = stack.describe()
    assert described["StackStatus"] == "CREATE_FAILED", described
    assert R3 in described["StackStatusReason"], described
