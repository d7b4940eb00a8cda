"""Forged requests (issue 21): every request bound to the CloudFormation operation that really sent it, through
the real `bootstrap` binary on the emulator.

An SNS notification does not say who published it, so a request that came through the provider's topic is never
trusted, whatever StackId it names: it may act only on its stack's own account, and the properties that widen
harm must be its stack's template's. Every request must match what CloudFormation shows (docs/origin-statuses.md):
the stack in an operation, its resource of a type this provider serves, in the status CloudFormation shows while
it waits for that request type, with the request's physical id, or, for a replaced physical id during a cleanup,
the stack's events showing that very delete.

The stacks are real stacks on the emulator (`Emulator.hold_stack`, `Emulator.stage_stack`): their status, the
resource's own status, their events, their template and parameters are what CloudFormation would show. A forged
request is sent as it is (`hold=False`) against a stack set up as the scene needs. Each refusal is checked for what
a user and an operator would notice: FAILED with a Reason starting "refused: " and naming the field, nothing
created, moved, closed, disassociated or disabled (the emulator's Security Hub state, the organization's accounts,
no mutating call in the call log), and exactly one `request refused` error line naming the claimed StackId,
RequestType, AccountId and AdministratorAccountId. The genuine paths (a StackSet instance's own requests through
SNS, a trusted stack's direct Create of a new account, the cleanup Delete of a replaced resource) still work.
"""

from __future__ import annotations

import json
import time

from harness import events
from harness.assertions import assert_delivered
from harness.constants import (
    ADMIN,
    ADMIN2,
    ENVELOPE_KEY,
    LOGICAL_ID_TAG,
    R1,
    R2,
    STACK_ACCOUNT,
    STACK_TAG,
)
from harness.refusals import World, refusal_lines
from harness.scenario import props_builder

M = STACK_ACCOUNT  # a member account with a StackSet instance: its own stack, through the provider's topic
VICTIM = "111111111111"
SECOND = "222222222222"
TOPIC = events.SNS_TOPIC_ARN  # the provider's topic, which the organization's StackSet roles may publish to
TRUSTED_TOPIC = f"arn:aws:sns:{R1}:{ADMIN}:management-requests"  # a topic of the management account's own
OU = "ou-ab12-abcdefgh"


# M enrolled with ADMIN in R1.
props = props_builder(AccountId=M, Regions=R1)


def template_properties(values: dict) -> dict:
    """A resource's Properties in its stack's template, as CloudFormation holds them: the ServiceToken, and the
    given values (literals, or intrinsics such as {"Ref": parameter})."""
    return {"ServiceToken": TOPIC, "ServiceTimeout": "1200", **values}


def stack_in(account: str, name: str = "StackSet-securityhub-member-0f1e2d3c") -> str:
    return events.stack_id(name, account=account)


def real_stack(
    emulator,
    account: str,
    status: str,
    *,
    physical_id: str | None = None,
    resource_status: str | None = None,
    values: dict | None = None,
    logical_id: str = "Member",
    resource_type: str = events.RESOURCE_TYPE,
    **shown,
) -> str:
    """A stack in `account` holding `logical_id`, in `status` as CloudFormation shows it: the resource's own
    status (the one CloudFormation shows for it in that stack status, or `resource_status`), its physical id,
    and its Properties in the template (`values`); `shown` goes to `stage_stack` as it is."""
    stack = emulator.hold_stack(account, R1, logical_id, resource_type)
    emulator.stage_stack(
        stack,
        status,
        physical_ids={logical_id: physical_id} if physical_id else {},
        resource_statuses={logical_id: resource_status} if resource_status else {},
        properties={logical_id: template_properties(values)} if values is not None else {},
        **shown,
    )
    return stack


def cloudformation_reads(world: World) -> set[str]:
    return {c["operation"] for c in world.calls(service="cloudformation")}


def still_enrolled(emulator, member: str, *regions: str, admin: str = ADMIN) -> None:
    for region in regions:
        assert emulator.member_status(admin, member, region) == "Enabled", (region, emulator.state())
        assert emulator.administrator_of(member, region) == admin, (region, emulator.state())


def hub_enabled(emulator, account: str, region: str) -> bool:
    return bool(emulator.state().get(account, {}).get(region, {}).get("enabled"))


# -- through SNS, a trusted account's stack is no trusted request -----------------------------------------------


def test_forged_create_through_sns_naming_the_management_stack_creates_no_account(emulator, cfn):
    """The management account's own stack is creating its member (its real Create held); a publisher to the
    provider's topic names that stack to create an account, move it into an OU, or enroll another account."""
    emulator.create_organization()
    emulator.enable_hub(ADMIN, R1)
    emulator.join_by_invitation(ADMIN, VICTIM, R1)
    stack = emulator.hold_stack(ADMIN, R1)
    world = World(emulator, cfn.provider, organization=True)
    new = props(AccountId=None, AccountName="Forged", Email="forged@example.com", ParentId=OU)
    world.assert_refused(
        cfn.create(new, stack=stack, sns=True, hold=False),
        "AccountName",
        f"published to SNS topic {TOPIC}",
        ADMIN,
        "may not create, move or close",
    )
    assert emulator.accounts_with_email("forged@example.com") == []
    assert world.calls(service="organizations") == [] and world.calls(service="cloudformation") == []

    world = World(emulator, cfn.provider, organization=True)
    world.assert_refused(
        cfn.create(props(AccountId=SECOND), stack=stack, sns=True, hold=False),
        "AccountId",
        "may act only on its own account",
        SECOND,
    )
    assert emulator.member_status(ADMIN, SECOND, R1) is None


def created_account(emulator, stack: str, name: str = "Workload", email: str = "workload@example.com") -> str:
    """An account this stack's Member created: it carries the resource's creation tags."""
    return emulator.create_account(name, email, {STACK_TAG: stack, LOGICAL_ID_TAG: "Member"})


def test_forged_update_through_sns_naming_the_management_stack_moves_no_account(emulator, cfn):
    emulator.create_organization()
    emulator.enable_hub(ADMIN, R1)
    stack = stack_in(ADMIN, "management-members")
    account = created_account(emulator, stack)
    emulator.join_by_invitation(ADMIN, account, R1)
    held = emulator.hold_stack(ADMIN, R1, stack_id=stack)
    emulator.stage_stack(held, "UPDATE_IN_PROGRESS", physical_ids={"Member": account})
    parents = emulator.client("organizations").list_parents(ChildId=account)["Parents"]
    world = World(emulator, cfn.provider, organization=True)
    created = props(AccountId=None, AccountName="Workload", Email="workload@example.com")
    moved = dict(created, ParentId=OU, Regions=f"{R1},{R2}")
    resp = cfn.update(moved, created, account, stack=stack, sns=True, hold=False)
    world.assert_refused(resp, "AccountName", "published to SNS", "may not create, move or close")
    assert world.calls(operation="MoveAccount") == []
    assert emulator.client("organizations").list_parents(ChildId=account)["Parents"] == parents
    still_enrolled(emulator, account, R1)


def test_forged_delete_through_sns_naming_the_management_stack_closes_no_account(emulator, cfn):
    """The management stack is being deleted; its Member created the account (the creation tags say so), and a
    Delete with CloseAccountOnDelete would close it, were it trusted."""
    emulator.create_organization()
    emulator.enable_hub(ADMIN, R1)
    stack = stack_in(ADMIN, "management-members")
    account = created_account(emulator, stack)
    emulator.join_by_invitation(ADMIN, account, R1)
    held = emulator.hold_stack(ADMIN, R1, stack_id=stack)
    emulator.stage_stack(held, "DELETE_IN_PROGRESS", physical_ids={"Member": account})
    world = World(emulator, cfn.provider, organization=True)
    closing = props(
        AccountId=None,
        AccountName="Workload",
        Email="workload@example.com",
        CloseAccountOnDelete="true",
        OnDelete="DisableSecurityHub",
    )
    world.assert_refused(
        cfn.delete(closing, account, stack=stack, sns=True, hold=False),
        "AccountName",
        "published to SNS",
        "may not create, move or close",
    )
    assert world.calls(operation="CloseAccount") == []
    assert emulator.client("organizations").describe_account(AccountId=account)["Account"]["Status"] == "ACTIVE"
    still_enrolled(emulator, account, R1)
    assert hub_enabled(emulator, account, R1)


# -- the origin: the request must be the one CloudFormation waits for -------------------------------------------


def test_forged_delete_of_another_accounts_stack_that_updates_something_else(emulator, cfn):
    """Account M's StackSet instance is updating another resource: the stack is UPDATE_IN_PROGRESS, but M's own
    Member is UPDATE_COMPLETE, untouched. A Delete of it, with OnDelete: DisableSecurityHub, is no request
    CloudFormation sends; nor is an Update of it."""
    emulator.join_by_invitation(ADMIN, M, R1)
    stack = real_stack(
        emulator,
        M,
        "UPDATE_IN_PROGRESS",
        physical_id=M,
        resource_status="UPDATE_COMPLETE",
        values=props(OnDelete="DisableSecurityHub"),
    )
    emulator.hold_stack(M, R1, "Other", stack_id=stack)
    emulator.stage_stack(stack, resource_statuses={"Other": "UPDATE_IN_PROGRESS"})
    world = World(emulator, cfn.provider)
    resp = cfn.delete(props(OnDelete="DisableSecurityHub"), M, stack=stack, sns=True, hold=False)
    world.assert_refused(resp, "RequestType", "not waiting for a Delete", "UPDATE_COMPLETE")
    assert cloudformation_reads(world) == {"DescribeStacks", "DescribeStackResource"}
    still_enrolled(emulator, M, R1)
    assert hub_enabled(emulator, M, R1)

    world = World(emulator, cfn.provider)
    resp = cfn.update(props(Regions=f"{R1},{R2}"), props(), M, stack=stack, sns=True, hold=False)
    world.assert_refused(resp, "RequestType", "not waiting for a Update")


def test_forged_delete_while_a_rollback_updates_the_resource(emulator, cfn):
    """UPDATE_ROLLBACK_IN_PROGRESS sends the resource an Update (its properties swapped), not a Delete."""
    emulator.join_by_invitation(ADMIN, M, R1)
    stack = real_stack(emulator, M, "UPDATE_ROLLBACK_IN_PROGRESS", physical_id=M, values=props())
    world = World(emulator, cfn.provider)
    world.assert_refused(
        cfn.delete(props(), M, stack=stack, sns=True, hold=False),
        "RequestType",
        "UPDATE_IN_PROGRESS, the stack UPDATE_ROLLBACK_IN_PROGRESS",
    )
    still_enrolled(emulator, M, R1)


def test_forged_delete_in_a_cleanup_window_naming_another_physical_id(emulator, provider_factory):
    """The management stack replaced its Member (MEMBER -> SECOND) and is cleaning up: CloudFormation deletes
    MEMBER. A request through the management account's own topic (trusted: TRUSTED_TOPIC_ARNS) names the same
    window to delete VICTIM instead, hub and all: the stack's events show no such delete. The genuine cleanup
    Delete of the replaced id goes through."""
    emulator.enable_hub(ADMIN, R1)
    for account in (SECOND, VICTIM, "444455556666"):
        emulator.join_by_invitation(ADMIN, account, R1)
    replaced = "444455556666"
    cfn = provider_factory({"TRUSTED_TOPIC_ARNS": TRUSTED_TOPIC}).cfn
    stack = real_stack(
        emulator,
        ADMIN,
        "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
        physical_id=SECOND,
        values=props(AccountId=SECOND),
        deleting={"Member": replaced},
    )
    world = World(emulator, cfn.provider)
    forged = props(AccountId=VICTIM, OnDelete="DisableSecurityHub")
    world.assert_refused(
        cfn.delete(forged, VICTIM, stack=stack, sns=TRUSTED_TOPIC, hold=False),
        "PhysicalResourceId",
        "events show no delete of 111111111111",
    )
    assert "DescribeStackEvents" in cloudformation_reads(world)
    still_enrolled(emulator, VICTIM, R1)
    assert hub_enabled(emulator, VICTIM, R1)

    genuine = cfn.delete(props(AccountId=replaced), replaced, stack=stack, sns=TRUSTED_TOPIC, hold=False)
    assert_delivered(genuine, "SUCCESS")
    assert emulator.member_status(ADMIN, replaced, R1) is None
    still_enrolled(emulator, SECOND, R1)
    still_enrolled(emulator, VICTIM, R1)


def test_forged_request_of_another_custom_type_or_naming_a_resource_of_another_type(emulator, cfn):
    """The stack's Member is a Custom::Other being deleted: a request of that type is not this provider's (refused
    before any read), and one claiming this provider's type for it does not match the stack."""
    emulator.join_by_invitation(ADMIN, M, R1)
    stack = real_stack(
        emulator,
        M,
        "DELETE_IN_PROGRESS",
        physical_id=M,
        resource_type="Custom::Other",
        values=props(OnDelete="DisableSecurityHub"),
    )
    world = World(emulator, cfn.provider)
    event, key = cfn.event("Delete", props(OnDelete="DisableSecurityHub"), physical_id=M, stack=stack)
    event["ResourceType"] = "Custom::Other"
    world.assert_refused(
        cfn.send(event, key=key, sns=True, hold=False), "ResourceType", "Custom::Other", "RESOURCE_TYPES"
    )
    assert world.calls(service="cloudformation") == []

    world = World(emulator, cfn.provider)
    resp = cfn.delete(props(OnDelete="DisableSecurityHub"), M, stack=stack, sns=True, hold=False)
    world.assert_refused(resp, "ResourceType", "is a Custom::Other, not a Custom::SecurityHubMemberAccount")
    still_enrolled(emulator, M, R1)
    assert hub_enabled(emulator, M, R1)


# -- what an untrusted request may do: the harmful properties are its template's -----------------------------------


def test_untrusted_delete_may_disable_the_hub_only_as_its_template_says(emulator, cfn):
    """M's stack is really being deleted, and its template says OnDelete: Disassociate. A publisher sends the
    Delete CloudFormation waits for, with DisableSecurityHub: refused before any change; the genuine Delete
    disassociates and leaves the hub on."""
    emulator.join_by_invitation(ADMIN, M, R1)
    stack = real_stack(emulator, M, "DELETE_IN_PROGRESS", physical_id=M, values=props(OnDelete="Disassociate"))
    world = World(emulator, cfn.provider)
    resp = cfn.delete(props(OnDelete="DisableSecurityHub"), M, stack=stack, sns=True, hold=False)
    world.assert_refused(resp, "OnDelete", 'the stack\'s template has "Disassociate"')
    assert "GetTemplate" in cloudformation_reads(world)
    still_enrolled(emulator, M, R1)
    assert hub_enabled(emulator, M, R1)

    genuine = cfn.delete(props(OnDelete="Disassociate"), M, stack=stack, sns=True, hold=False)
    assert_delivered(genuine, "SUCCESS")
    assert emulator.member_status(ADMIN, M, R1) is None
    assert hub_enabled(emulator, M, R1)


def test_untrusted_update_may_drop_regions_or_change_administrator_only_as_its_template_says(emulator, cfn):
    """M's stack is really updating its Member; its template takes Regions and the administrator from the stack's
    parameters. A publisher's Update that drops a region, or moves M to another administrator, is refused."""
    for region in (R1, R2):
        emulator.join_by_invitation(ADMIN, M, region)
    emulator.enable_hub(ADMIN2, R1)
    values = {
        "AdministratorAccountId": {"Ref": "Administrator"},
        "AccountId": {"Ref": "AWS::AccountId"},
        "Regions": {"Ref": "Regions"},
    }
    stack = real_stack(
        emulator,
        M,
        "UPDATE_IN_PROGRESS",
        physical_id=M,
        values=values,
        parameters={"Administrator": ADMIN, "Regions": f"{R1},{R2}"},
    )
    old = props(Regions=[R1, R2])
    world = World(emulator, cfn.provider)
    resp = cfn.update(props(Regions=[R1]), old, M, stack=stack, sns=True, hold=False)
    world.assert_refused(resp, "Regions", "the stack's template has")
    still_enrolled(emulator, M, R1, R2)

    world = World(emulator, cfn.provider)
    resp = cfn.update(props(AdministratorAccountId=ADMIN2, Regions=[R1, R2]), old, M, stack=stack, sns=True, hold=False)
    world.assert_refused(resp, "AdministratorAccountId", f'"{ADMIN}"')
    still_enrolled(emulator, M, R1, R2)
    assert emulator.member_status(ADMIN2, M, R1) is None

    # What the template says goes through: adding a region is no harm, the same regions are the template's.
    for region in (R1, R2):
        emulator.enable_hub(ADMIN, region)
    assert_delivered(
        cfn.update(props(Regions=[R1, R2]), props(Regions=[R1]), M, stack=stack, sns=True, hold=False), "SUCCESS"
    )
    still_enrolled(emulator, M, R1, R2)


def test_what_the_template_cannot_show_is_refused_unless_the_operator_allows_it(emulator, cfn, provider_factory):
    """A YAML template (no YAML reader in the provider) or an intrinsic other than Ref cannot be compared: an
    untrusted request's harmful property is refused, naming ALLOW_UNVERIFIED_HARMFUL_PROPERTIES. With it set the
    request goes through; a value the template shows otherwise is refused all the same."""
    emulator.join_by_invitation(ADMIN, M, R1)
    yaml = (
        "Resources:\n  Member:\n    Type: Custom::SecurityHubMemberAccount\n    Properties:\n"
        f"      ServiceToken: {TOPIC}\n      AdministratorAccountId: '{ADMIN}'\n      AccountId: '{M}'\n"
        "      OnDelete: DisableSecurityHub\n"
    )
    stack = real_stack(emulator, M, "DELETE_IN_PROGRESS", physical_id=M, template_body=yaml)
    disabling = props(OnDelete="DisableSecurityHub")
    world = World(emulator, cfn.provider)
    world.assert_refused(
        cfn.delete(disabling, M, stack=stack, sns=True, hold=False),
        "OnDelete",
        "not JSON",
        "ALLOW_UNVERIFIED_HARMFUL_PROPERTIES=true",
    )
    still_enrolled(emulator, M, R1)

    conditional = real_stack(
        emulator,
        M,
        "DELETE_IN_PROGRESS",
        physical_id=M,
        values=props(OnDelete={"Fn::If": ["Disable", "DisableSecurityHub", "Disassociate"]}),
    )
    world = World(emulator, cfn.provider)
    world.assert_refused(
        cfn.delete(disabling, M, stack=conditional, sns=True, hold=False), "OnDelete", "Fn::If is not evaluated"
    )

    lenient = provider_factory({"ALLOW_UNVERIFIED_HARMFUL_PROPERTIES": "true"}).cfn
    mismatched = real_stack(emulator, M, "DELETE_IN_PROGRESS", physical_id=M, values=props())
    world = World(emulator, lenient.provider)
    world.assert_refused(lenient.delete(disabling, M, stack=mismatched, sns=True, hold=False), "OnDelete", "no value")
    assert_delivered(lenient.delete(disabling, M, stack=stack, sns=True, hold=False), "SUCCESS")
    assert emulator.member_status(ADMIN, M, R1) is None
    assert not hub_enabled(emulator, M, R1)


# -- the genuine paths --------------------------------------------------------------------------------------------


def test_a_stackset_instance_creates_updates_and_deletes_its_own_account_through_sns(emulator, cfn):
    """cloudformation/stackset-member.yaml in account M, through the provider's topic: Create, an Update that drops
    a region (its template's new Regions), and a Delete whose OnDelete: DisableSecurityHub comes from the
    stack's parameter."""
    for region in (R1, R2):
        emulator.enable_hub(ADMIN, region)
    stack = stack_in(M)
    since = emulator.last_seq()
    created = cfn.create(props(Regions=[R1, R2]), stack=stack, sns=True, service_token=TOPIC)
    assert_delivered(created, "SUCCESS")
    still_enrolled(emulator, M, R1, R2)
    assert "GetTemplate" not in {c["operation"] for c in emulator.calls(since)}, "a Create binds nothing"

    since = emulator.last_seq()
    updated = cfn.update(props(Regions=[R1]), props(Regions=[R1, R2]), M, stack=stack, sns=True, service_token=TOPIC)
    assert_delivered(updated, "SUCCESS")
    still_enrolled(emulator, M, R1)
    assert emulator.member_status(ADMIN, M, R2) is None
    assert "GetTemplate" in {c["operation"] for c in emulator.calls(since)}, "the dropped region is bound"

    disabling = props(Regions=[R1], OnDelete="DisableSecurityHub")
    emulator.stage_stack(
        stack,
        "DELETE_IN_PROGRESS",
        physical_ids={"Member": M},
        resource_statuses={"Member": "DELETE_IN_PROGRESS"},
        properties={"Member": template_properties(dict(props(Regions=[R1]), OnDelete={"Ref": "OnDelete"}))},
        parameters={"OnDelete": "DisableSecurityHub"},
    )
    deleted = cfn.delete(disabling, M, stack=stack, sns=True, service_token=TOPIC, hold=False)
    assert_delivered(deleted, "SUCCESS")
    assert emulator.member_status(ADMIN, M, R1) is None
    assert not hub_enabled(emulator, M, R1)
    assert refusal_lines(cfn.provider) == []


def test_a_trusted_stack_creates_a_new_account_directly(emulator, cfn):
    """The management account's own template, with the Lambda ServiceToken: a new account, in an OU."""
    emulator.create_organization()
    emulator.enable_hub(ADMIN, R1)
    organizations = emulator.client("organizations")
    root = organizations.list_roots()["Roots"][0]["Id"]
    ou = organizations.create_organizational_unit(ParentId=root, Name="Workloads")["OrganizationalUnit"]["Id"]
    new = props(AccountId=None, AccountName="Sandbox", Email="sandbox@example.com", ParentId=ou)
    created = cfn.create(new, stack=stack_in(ADMIN, "management-members"))
    assert_delivered(created, "SUCCESS")
    [account] = emulator.accounts_with_email("sandbox@example.com")
    assert created.physical_id == account["Id"]
    assert organizations.list_parents(ChildId=account["Id"])["Parents"][0]["Id"] == ou
    still_enrolled(emulator, account["Id"], R1)
    assert refusal_lines(cfn.provider) == []


def test_a_continuation_no_longer_awaited_is_refused_in_the_log(emulator, cfn):
    """A continuation (direct invocation only) of a request CloudFormation no longer waits for is not answered,
    and writes the same `request refused` line as any refusal, which the provider's alarm counts."""
    emulator.join_by_invitation(ADMIN, M, R1)
    stack = real_stack(emulator, M, "CREATE_COMPLETE", physical_id=M, values=props())
    event, key = cfn.event("Delete", props(), physical_id=M, stack=stack)
    world = World(emulator, cfn.provider)
    envelope = {ENVELOPE_KEY: {"FirstArrivalMs": int(time.time() * 1000), "Hop": 1}, "Request": event}
    result = cfn.runtime_api.wait_result(cfn.runtime_api.invoke(envelope), 30)
    assert result.kind == "response", result
    assert cfn.read_response(key) is None, "a continuation no longer awaited is not answered"
    world.assert_unchanged()
    line = world.refusal_line(event)
    assert "no longer waits" in line["fields"]["reason"] and "not answered" in line["fields"]["reason"]


# -- the emulator shows what CloudFormation shows ------------------------------------------------------------------


def test_the_emulator_shows_the_resources_own_status_events_template_and_parameters(emulator):
    stack = emulator.hold_stack(M, R1)
    cloudformation = emulator.client("cloudformation", M, R1)

    def resource() -> dict:
        return cloudformation.describe_stack_resource(StackName=stack, LogicalResourceId="Member")[
            "StackResourceDetail"
        ]

    assert resource()["ResourceStatus"] == "CREATE_IN_PROGRESS"
    newest = emulator.stack_events(stack)
    assert (newest[0]["LogicalResourceId"], newest[0]["ResourceStatus"], newest[0]["PhysicalResourceId"]) == (
        "Member",
        "CREATE_IN_PROGRESS",
        "",
    )
    own = [e for e in newest if e["ResourceType"] == "AWS::CloudFormation::Stack"]
    assert own and all(e["PhysicalResourceId"] == stack for e in own)

    for stack_status, resource_status in (
        ("UPDATE_IN_PROGRESS", "UPDATE_IN_PROGRESS"),
        ("UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_IN_PROGRESS"),
        ("ROLLBACK_IN_PROGRESS", "DELETE_IN_PROGRESS"),
        ("DELETE_IN_PROGRESS", "DELETE_IN_PROGRESS"),
    ):
        emulator.stage_stack(stack, stack_status, physical_ids={"Member": M})
        assert resource()["ResourceStatus"] == resource_status, stack_status
    emulator.stage_stack(
        stack, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", physical_ids={"Member": SECOND}, deleting={"Member": M}
    )
    assert (resource()["ResourceStatus"], resource()["PhysicalResourceId"]) == ("UPDATE_COMPLETE", SECOND)
    first, second, third = emulator.stack_events(stack)[:3]
    assert (first["LogicalResourceId"], first["PhysicalResourceId"], first["ResourceStatus"]) == (
        "Member",
        M,
        "DELETE_IN_PROGRESS",
    )
    assert first["ResourceType"] == "AWS::CloudFormation::CustomResource"
    assert (second["PhysicalResourceId"], second["ResourceStatus"]) == (SECOND, "UPDATE_COMPLETE")
    assert (third["ResourceType"], third["ResourceStatus"]) == (
        "AWS::CloudFormation::Stack",
        "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
    )

    emulator.stage_stack(
        stack,
        properties={"Member": template_properties({"OnDelete": {"Ref": "OnDelete"}})},
        parameters={"OnDelete": "DisableSecurityHub"},
    )
    body = cloudformation.get_template(StackName=stack, TemplateStage="Processed")["TemplateBody"]
    template = body if isinstance(body, dict) else json.loads(body)
    assert template["Resources"]["Member"]["Properties"]["OnDelete"] == {"Ref": "OnDelete"}
    parameters = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["Parameters"]
    assert {"ParameterKey": "OnDelete", "ParameterValue": "DisableSecurityHub"} in parameters
    described = emulator.held_stack(stack)
    assert described["resource_statuses"] == {"Member": "UPDATE_COMPLETE"}
