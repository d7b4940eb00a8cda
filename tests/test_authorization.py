"""Who may ask for what (docs/design.md, "Authorization"; README, "Who may ask for what"),
through the real `bootstrap` binary on the emulator.

The stacks are real: the harness holds a stack in progress for every request (`Cfn`, `Emulator.hold_stack`), as
CloudFormation holds one while it waits for the provider, and sets it as CloudFormation has it for an Update or
a Delete. A test that forges a request says `hold=False` and sets the stack up itself (or leaves it missing).

Every refusal is checked for what a user and an operator would notice: FAILED with a Reason starting "refused: "
(or, for a ResponseURL, no answer anywhere), nothing changed in the emulator (Security Hub state, the
organization's accounts), no mutating call in the call log, and exactly one `request refused` error line naming
the claimed StackId, RequestType, AccountId and AdministratorAccountId.
"""

from __future__ import annotations

import re
import uuid

import pytest

from harness import events
from harness.assertions import assert_delivered
from harness.constants import ADMIN, LOGICAL_ID_TAG, R1, R2, STACK_ACCOUNT, STACK_TAG
from harness.refusals import World, refusal_lines
from harness.reliability import Internet
from harness.scenario import props_builder

OTHER_ADMIN = "444455556666"  # an administrator the operator did not list
MEMBER = "111111111111"
SECOND = "222222222222"


# MEMBER (this suite's) enrolled with ADMIN in R1.
props = props_builder(AccountId=MEMBER, Regions=R1)


def origin_reads(calls: list[dict], account: str) -> set[str]:
    """The CloudFormation operations among `calls` made with `account`'s credentials."""
    return {c["operation"] for c in calls if c["service"] == "cloudformation" and c["account"] == account}


# -- administrators ----------------------------------------------------------------------------------------------


def test_create_for_an_administrator_not_listed_is_refused(emulator, cfn):
    emulator.enable_hub(OTHER_ADMIN, R1)  # it would work, were it allowed
    world = World(emulator, cfn.provider)
    resp = cfn.create(props(AdministratorAccountId=OTHER_ADMIN))
    world.assert_refused(resp, OTHER_ADMIN, "ADMINISTRATOR_ACCOUNT_IDS")
    assert not re.fullmatch(r"\d{12}", resp.physical_id), resp.physical_id
    assert emulator.member_status(OTHER_ADMIN, MEMBER, R1) is None


def test_update_whose_old_properties_name_an_administrator_not_listed_is_refused(emulator, cfn):
    """Moving a member away from an administrator is acting for that administrator too."""
    emulator.enable_hub(ADMIN, R1)
    emulator.join_by_invitation(OTHER_ADMIN, MEMBER, R1)
    world = World(emulator, cfn.provider)
    resp = cfn.update(props(), props(AdministratorAccountId=OTHER_ADMIN), MEMBER)
    world.assert_refused(resp, OTHER_ADMIN, "ADMINISTRATOR_ACCOUNT_IDS")
    assert resp.physical_id == MEMBER
    assert emulator.administrator_of(MEMBER, R1) == OTHER_ADMIN


@pytest.mark.parametrize("value", [None, ""], ids=["unset", "empty"])
def test_without_the_allowlist_every_request_is_refused(emulator, provider_factory, value):
    emulator.enable_hub(ADMIN, R1)
    deployment = provider_factory({"ADMINISTRATOR_ACCOUNT_IDS": value})
    cfn = deployment.cfn
    world = World(emulator, deployment.provider)
    world.assert_refused(cfn.create(props()), "ADMINISTRATOR_ACCOUNT_IDS")
    # A Retain Delete touches nothing and is answered SUCCESS all the same, so that a stack can always go.
    retained = cfn.delete(props(OnDelete="Retain"), MEMBER)
    assert_delivered(retained, "SUCCESS")
    world.assert_unchanged()


# -- the requesting account ----------------------------------------------------------------------------------------


def test_a_stack_of_one_account_may_not_enroll_another(emulator, cfn):
    emulator.enable_hub(ADMIN, R1)
    stack = events.stack_id("workload", account=STACK_ACCOUNT)
    world = World(emulator, cfn.provider)
    resp = cfn.create(props(AccountId=MEMBER), stack=stack)
    world.assert_refused(resp, "AccountId", STACK_ACCOUNT, MEMBER)
    assert emulator.member_status(ADMIN, MEMBER, R1) is None


def test_a_stack_of_one_account_may_not_make_another_leave(emulator, cfn):
    emulator.join_by_invitation(ADMIN, MEMBER, R1)
    stack = events.stack_id("workload", account=STACK_ACCOUNT)
    world = World(emulator, cfn.provider)
    resp = cfn.delete(props(AccountId=STACK_ACCOUNT), MEMBER, stack=stack)
    world.assert_refused(resp, STACK_ACCOUNT, MEMBER)
    assert emulator.member_status(ADMIN, MEMBER, R1) == "Enabled"


def test_an_untrusted_stack_may_not_create_an_account(emulator, cfn):
    emulator.create_organization()
    emulator.enable_hub(ADMIN, R1)
    stack = events.stack_id("workload", account=STACK_ACCOUNT)
    world = World(emulator, cfn.provider, organization=True)
    resp = cfn.create(props(AccountId=None, AccountName="Sandbox", Email="sandbox@example.com"), stack=stack)
    world.assert_refused(resp, "AccountName", "TRUSTED_ACCOUNT_IDS")
    assert emulator.accounts_with_email("sandbox@example.com") == []
    assert world.calls(service="organizations") == []


def test_an_untrusted_stack_may_not_close_its_account(emulator, cfn, provider_factory):
    """An account created for this very stack and resource (its creation tags name them, so a trusted stack's
    Delete would close it): its own stack, outside the trusted accounts, may not close it."""
    emulator.create_organization()
    emulator.enable_hub(ADMIN, R1)
    name, email = "Workload", "workload@example.com"
    account = emulator.create_account(name, email, {LOGICAL_ID_TAG: "Member"})
    stack = events.stack_id("workload", account=account)  # the account's id is known once it exists
    emulator.client("organizations").tag_resource(ResourceId=account, Tags=[{"Key": STACK_TAG, "Value": stack}])
    emulator.join_by_invitation(ADMIN, account, R1)
    world = World(emulator, cfn.provider, organization=True)
    closing = props(AccountId=None, AccountName=name, Email=email, CloseAccountOnDelete="true")
    resp = cfn.delete(closing, account, stack=stack)
    world.assert_refused(resp, "may not create, move or close accounts", "TRUSTED_ACCOUNT_IDS")
    assert world.calls(operation="CloseAccount") == []
    status = emulator.client("organizations").describe_account(AccountId=account)["Account"]["Status"]
    assert status == "ACTIVE"
    assert emulator.member_status(ADMIN, account, R1) == "Enabled"
    # The same Delete from a trusted stack closes it: the tags are this resource's, only the rule held it back.
    trusted = provider_factory({"TRUSTED_ACCOUNT_IDS": f"{ADMIN},{account}"}).cfn
    assert_delivered(trusted.delete(closing, account, stack=stack), "SUCCESS")
    status = emulator.client("organizations").describe_account(AccountId=account)["Account"]["Status"]
    assert status in ("SUSPENDED", "PENDING_CLOSURE", "CLOSED")


# -- the origin: a stack operation really waiting for this answer -----------------------------------------------------


def test_a_delete_naming_a_stack_that_does_not_exist_is_refused(emulator, cfn):
    emulator.join_by_invitation(ADMIN, MEMBER, R1)
    world = World(emulator, cfn.provider)
    resp = cfn.delete(props(), MEMBER, stack=events.stack_id("no-such-stack"), hold=False)
    world.assert_refused(resp, "StackId", "no such stack")
    assert emulator.member_status(ADMIN, MEMBER, R1) == "Enabled"
    assert origin_reads(world.calls(), ADMIN) >= {"DescribeStacks"}


@pytest.mark.parametrize("status", ["CREATE_COMPLETE", "UPDATE_COMPLETE", "REVIEW_IN_PROGRESS", "DELETE_COMPLETE"])
def test_a_delete_while_no_operation_is_in_progress_is_refused(emulator, cfn, status):
    """A stack whose Create finished: nobody is waiting for a Delete (DELETE_COMPLETE: DescribeStacks answers a
    deleted stack by its id; REVIEW_IN_PROGRESS: a change set that has not run)."""
    emulator.enable_hub(ADMIN, R1)
    assert_delivered(cfn.create(props()), "SUCCESS")
    emulator.set_stack(cfn.stack_id, status, {"Member": MEMBER})
    world = World(emulator, cfn.provider)
    resp = cfn.delete(props(), MEMBER, hold=False)
    world.assert_refused(resp, "no operation is in progress", status)
    assert emulator.member_status(ADMIN, MEMBER, R1) == "Enabled"


@pytest.mark.parametrize("resource_type", ["AWS::SNS::Topic", "AWS::S3::Bucket"])
def test_a_logical_id_of_another_type_is_refused(emulator, cfn, resource_type):
    """The stack is real and in progress, but its Member is not a custom resource of this type."""
    emulator.enable_hub(ADMIN, R1)
    stack = emulator.hold_stack(ADMIN, R1, logical_id="Member", resource_type=resource_type)
    world = World(emulator, cfn.provider)
    resp = cfn.create(props(), stack=stack, hold=False)
    world.assert_refused(resp, "ResourceType", resource_type)
    assert emulator.member_status(ADMIN, MEMBER, R1) is None


def test_a_logical_id_the_stack_does_not_hold_is_refused(emulator, cfn):
    emulator.enable_hub(ADMIN, R1)
    stack = emulator.hold_stack(ADMIN, R1, logical_id="SomethingElse")
    world = World(emulator, cfn.provider)
    resp = cfn.create(props(), stack=stack, hold=False)
    world.assert_refused(resp, "LogicalResourceId", "Member")


def test_the_generic_custom_resource_type_is_served_only_when_listed(emulator, cfn, provider_factory):
    """`AWS::CloudFormation::CustomResource` is a custom resource too (User Guide), but not this provider's type
    unless RESOURCE_TYPES lists it: by default a request of another custom type is refused before any read."""
    emulator.enable_hub(ADMIN, R1)
    stack = emulator.hold_stack(ADMIN, R1, resource_type="AWS::CloudFormation::CustomResource")
    event, key = cfn.event("Create", props(), stack=stack)
    event["ResourceType"] = "AWS::CloudFormation::CustomResource"
    world = World(emulator, cfn.provider)
    world.assert_refused(cfn.send(event, key=key, hold=False), "ResourceType", "RESOURCE_TYPES")
    assert world.calls(service="cloudformation") == []
    listed = provider_factory(
        {"RESOURCE_TYPES": "Custom::SecurityHubMemberAccount,AWS::CloudFormation::CustomResource"}
    )
    event, key = listed.cfn.event("Create", props(), stack=stack)
    event["ResourceType"] = "AWS::CloudFormation::CustomResource"
    assert_delivered(listed.cfn.send(event, key=key, hold=False), "SUCCESS")
    assert emulator.member_status(ADMIN, MEMBER, R1) == "Enabled"


def test_an_update_whose_physical_id_is_not_the_resources_is_refused(emulator, cfn):
    """The stack's Member is MEMBER; a forged Update claims SECOND, to enroll it in another region."""
    emulator.enable_hub(ADMIN, R1)
    emulator.enable_hub(ADMIN, R2)
    assert_delivered(cfn.create(props()), "SUCCESS")
    emulator.join_by_invitation(ADMIN, SECOND, R1)
    emulator.set_stack(cfn.stack_id, "UPDATE_IN_PROGRESS", {"Member": MEMBER})
    world = World(emulator, cfn.provider)
    resp = cfn.update(props(AccountId=SECOND, Regions=f"{R1},{R2}"), props(AccountId=SECOND), SECOND, hold=False)
    world.assert_refused(resp, "PhysicalResourceId", MEMBER, SECOND)
    assert emulator.member_status(ADMIN, SECOND, R2) is None


def test_the_delete_of_a_replaced_id_during_cleanup_succeeds(emulator, cfn):
    """AccountId changed: the Update answers the new id; in UPDATE_COMPLETE_CLEANUP_IN_PROGRESS CloudFormation
    deletes the old one, while the resource's physical id is already the new one. Outside cleanup the same
    Delete is refused."""
    emulator.enable_hub(ADMIN, R1)
    old, new = props(), props(AccountId=SECOND)
    assert_delivered(cfn.create(old), "SUCCESS")
    updated = cfn.update(new, old, MEMBER)
    assert_delivered(updated, "SUCCESS")
    assert updated.physical_id == SECOND

    emulator.set_stack(cfn.stack_id, "DELETE_IN_PROGRESS", {"Member": SECOND})
    world = World(emulator, cfn.provider)
    world.assert_refused(cfn.delete(old, MEMBER, hold=False), "PhysicalResourceId")

    # The cleanup, as CloudFormation shows it: the resource UPDATE_COMPLETE under its new id, and an event of
    # the old id being deleted.
    emulator.stage_stack(
        cfn.stack_id,
        "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
        physical_ids={"Member": SECOND},
        deleting={"Member": MEMBER},
    )
    assert_delivered(cfn.delete(old, MEMBER, hold=False), "SUCCESS")
    assert emulator.member_status(ADMIN, MEMBER, R1) is None
    assert emulator.member_status(ADMIN, SECOND, R1) == "Enabled"


# -- the ResponseURL -----------------------------------------------------------------------------------------------

OTHER_BUCKET_URLS = {
    "virtual-hosted": "https://attacker-bucket.s3.amazonaws.com/{key}",
    "path-style": "https://s3.us-east-1.amazonaws.com/attacker-bucket/{key}",
    "prefix-in-the-path": "https://s3.us-east-1.amazonaws.com/attacker-bucket/cloudformation-custom-resource-response-useast1/{key}",
    "lookalike-endpoint": "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com.evil.example/{key}",
}


@pytest.mark.parametrize("template", OTHER_BUCKET_URLS.values(), ids=OTHER_BUCKET_URLS.keys())
def test_a_response_url_to_another_bucket_is_never_contacted(emulator, provider_factory, tmp_path, template):
    """Presigned URLs to any bucket look alike: the answer (and its physical id) would go to whoever owns it."""
    emulator.enable_hub(ADMIN, R1)
    internet = Internet(tmp_path / "internet")
    try:
        deployment = provider_factory({**internet.env(), "ALLOW_LOOPBACK_RESPONSE_URL": None})
        world = World(emulator, deployment.provider)
        url = template.format(key=f"stolen/{uuid.uuid4()}") + "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00"
        event, _ = deployment.cfn.event("Create", props(), response_url=url)
        resp = deployment.cfn.send(event)
        assert resp.raw is None
        assert resp.runtime_result.kind == "error", resp.describe()
        with internet.lock:
            assert internet.seen == [], [(s.via, s.host) for s in internet.seen]
        assert world.calls() == [], [(c["service"], c["operation"]) for c in world.calls()]
        world.assert_unchanged()
        assert "cloudformation-custom-resource-response-" in world.refusal_line(event)["fields"]["reason"]
    finally:
        internet.close()


# -- the StackSet path: an account's own stack, through the provider's SNS topic ---------------------------------------


def test_an_accounts_own_stack_enrolls_it_through_sns_and_its_delete_disassociates(emulator, cfn):
    """cloudformation/stackset-member.yaml in account M enrolls `AWS::AccountId`: an untrusted stack acting on
    its own account. The provider reads the stack through MemberRoleName in M."""
    emulator.enable_hub(ADMIN, R1)
    stack = events.stack_id("StackSet-securityhub-member-0f1e2d3c", account=STACK_ACCOUNT)
    own = props(AccountId=STACK_ACCOUNT)
    since = emulator.last_seq()
    created = cfn.create(own, stack=stack, sns=True, service_token=events.SNS_TOPIC_ARN)
    assert_delivered(created, "SUCCESS")
    assert created.physical_id == STACK_ACCOUNT
    assert emulator.member_status(ADMIN, STACK_ACCOUNT, R1) == "Enabled"
    calls = emulator.calls(since)
    assert origin_reads(calls, STACK_ACCOUNT) == {"DescribeStacks", "DescribeStackResource"}
    assert origin_reads(calls, ADMIN) == set(), "the stack is read in its own account"
    assert refusal_lines(cfn.provider) == []

    since = emulator.last_seq()
    deleted = cfn.delete(own, STACK_ACCOUNT, stack=stack, sns=True, service_token=events.SNS_TOPIC_ARN)
    assert_delivered(deleted, "SUCCESS")
    assert emulator.held_stack(stack)["status"] == "DELETE_IN_PROGRESS"
    assert emulator.member_status(ADMIN, STACK_ACCOUNT, R1) is None
    assert emulator.administrator_of(STACK_ACCOUNT, R1) is None
    assert origin_reads(emulator.calls(since), STACK_ACCOUNT) == {"DescribeStacks", "DescribeStackResource"}
    assert refusal_lines(cfn.provider) == []
