"""End-to-end tests of the membership watch (docs/watch.md) through the real binary: a scheduled event of its own
shape makes the provider list each administrator's members, report those its resources enrolled that are no longer
Enabled (one log line per member and region, naming the stack and logical id, and an EMF metrics line), and, with
WATCH_HEALING, join them again.

Members are accounts of the emulator's organization (the watch's marks are Organizations tags), enrolled by a
Create through the binary; the stack is then set at rest (CREATE_COMPLETE), as CloudFormation leaves it once the
answer came.
"""

from __future__ import annotations

import json
import uuid

import pytest

from harness import events
from harness.constants import ADMIN, MARK_PREFIX, R1, R2, WATCH_EVENT

DEPARTED = "member no longer enabled"


# --- helpers ------------------------------------------------------------------------------------------------


def organization_with_hubs(emulator) -> None:
    emulator.create_organization()
    for region in (R1, R2):
        emulator.enable_hub(ADMIN, region)


def new_member(emulator, name: str = "workload") -> str:
    return emulator.create_account(name, f"{name}-{uuid.uuid4().hex[:6]}@example.com")


def enroll(emulator, cfn, member: str, logical_id: str = "Member") -> str:
    """`member` enrolled with ADMIN in R1 and R2 by a Create of its own stack, left at rest; answers the StackId."""
    stack = events.stack_id(f"member-{uuid.uuid4().hex[:8]}")
    props = {"AdministratorAccountId": ADMIN, "AccountId": member, "Regions": f"{R1},{R2}"}
    resp = cfn.create(props, stack=stack, logical_id=logical_id)
    assert resp.status == "SUCCESS", resp.describe()
    emulator.stage_stack(stack, "CREATE_COMPLETE", physical_ids={logical_id: member})
    return stack


def marks(emulator, account: str) -> dict[str, str]:
    tags = emulator.client("organizations").list_tags_for_resource(ResourceId=account)["Tags"]
    return {tag["Key"]: tag["Value"] for tag in tags if tag["Key"].startswith(MARK_PREFIX)}


def resign(emulator, member: str, region: str) -> None:
    emulator.client("securityhub", member, region).disassociate_from_administrator_account()


def run_watch(deployment_or_cfn, payload: dict | None = None, timeout: float = 60) -> tuple[list[dict], dict | None]:
    """Invokes the binary with a watch event and waits for its runtime answer; answers the run's departure lines
    and its metrics line (None when there was none)."""
    api, provider = deployment_or_cfn.runtime_api, deployment_or_cfn.provider
    before = len(provider.log_records())
    rid = api.invoke(payload if payload is not None else WATCH_EVENT, deadline_s=120)
    result = api.wait_result(rid, timeout)
    assert result.kind == "response", result
    records = provider.log_records()[before:]
    departed = [r["fields"] for r in records if r.get("fields", {}).get("message") == DEPARTED]
    metrics = [r for r in records if "_aws" in r and r.get("RequestType") == "Watch"]
    assert len(metrics) <= 1, metrics
    return departed, (metrics[0] if metrics else None)


def messages(provider, message: str) -> list[dict]:
    return [r["fields"] for r in provider.log_records() if r.get("fields", {}).get("message") == message]


# --- the mark ---------------------------------------------------------------------------------------------------


def test_a_create_marks_the_member_and_its_delete_takes_the_mark_off(emulator, cfn):
    organization_with_hubs(emulator)
    member = new_member(emulator)
    stack = enroll(emulator, cfn, member)
    mark = marks(emulator, member)
    assert mark[f"{MARK_PREFIX}{ADMIN}:stack-id"] == stack
    assert mark[f"{MARK_PREFIX}{ADMIN}:logical-id"] == "Member"
    assert mark[f"{MARK_PREFIX}{ADMIN}:regions"] == f"{R2},{R1}"
    emulator.stage_stack(stack, "DELETE_IN_PROGRESS", physical_ids={"Member": member})
    props = {"AdministratorAccountId": ADMIN, "AccountId": member, "Regions": f"{R1},{R2}"}
    resp = cfn.delete(props, member, stack=stack, hold=False)
    assert resp.status == "SUCCESS", resp.describe()
    assert marks(emulator, member) == {}


def test_a_member_outside_the_organization_gets_no_mark_and_is_still_enrolled(emulator, cfn):
    organization_with_hubs(emulator)
    outside = "444455556666"
    resp = cfn.create({"AdministratorAccountId": ADMIN, "AccountId": outside, "Regions": R1})
    assert resp.status == "SUCCESS", resp.describe()
    assert emulator.member_status(ADMIN, outside, R1) == "Enabled"
    assert messages(
        cfn.provider, "the account is not in the organization: no membership watch mark, the watch will not see it"
    )


# --- reporting ----------------------------------------------------------------------------------------------


def test_a_member_that_resigns_is_reported_with_its_stack_and_left_as_it_is(emulator, cfn):
    organization_with_hubs(emulator)
    member = new_member(emulator)
    stack = enroll(emulator, cfn, member)
    resign(emulator, member, R1)
    departed, metrics = run_watch(cfn)
    assert departed == [
        {
            "message": DEPARTED,
            "AccountId": member,
            "Region": R1,
            "MemberStatus": "Resigned",
            "AdministratorAccountId": ADMIN,
            "StackId": stack,
            "LogicalResourceId": "Member",
            "Owner": "held",
            "OwnerDetail": "",
        }
    ]
    assert metrics["DepartedMembers"] == 1 and metrics["Resigned"] == 1 and metrics["Healed"] == 0, metrics
    assert metrics["Status"] == "COMPLETE" and metrics["Healing"] is False, metrics
    assert metrics["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "SecurityHubMemberAccount"
    assert emulator.member_status(ADMIN, member, R1) == "Resigned", "healing is off by default"
    assert emulator.member_status(ADMIN, member, R2) == "Enabled"


def test_members_removed_or_deleted_by_the_administrator_are_reported(emulator, cfn):
    organization_with_hubs(emulator)
    removed, deleted, shown_deleted = (
        new_member(emulator, "removed"),
        new_member(emulator, "deleted"),
        new_member(emulator, "shown"),
    )
    for member in (removed, deleted, shown_deleted):
        enroll(emulator, cfn, member)
    admin = emulator.client("securityhub", ADMIN, R2)
    admin.disassociate_members(AccountIds=[removed, deleted])
    admin.delete_members(AccountIds=[deleted])
    emulator.set_member_status(ADMIN, shown_deleted, R2, "Deleted")
    departed, metrics = run_watch(cfn)
    seen = {(d["AccountId"], d["Region"], d["MemberStatus"]) for d in departed}
    assert seen == {(removed, R2, "Removed"), (deleted, R2, "Missing"), (shown_deleted, R2, "Deleted")}, departed
    assert (metrics["Removed"], metrics["Missing"], metrics["Deleted"], metrics["DepartedMembers"]) == (1, 1, 1, 3)


def test_a_closed_account_is_reported_suspended_and_never_healed(emulator, provider_factory):
    organization_with_hubs(emulator)
    deployment = provider_factory({"WATCH_HEALING": "true"})
    member = new_member(emulator)
    enroll(emulator, deployment.cfn, member)
    emulator.configure(close_account_delay_s=0)
    emulator.client("organizations").close_account(AccountId=member)
    since = emulator.last_seq()
    departed, metrics = run_watch(deployment)
    assert {(d["Region"], d["MemberStatus"]) for d in departed} == {(R1, "AccountSuspended"), (R2, "AccountSuspended")}
    assert metrics["AccountSuspended"] == 2 and metrics["Healed"] == 0, metrics
    assert not emulator.aws_calls(since, "securityhub", "CreateMembers")


# --- healing ------------------------------------------------------------------------------------------------


def test_with_healing_on_a_member_that_resigned_is_enabled_again_after_the_next_run(emulator, provider_factory):
    organization_with_hubs(emulator)
    deployment = provider_factory({"WATCH_HEALING": "true"})
    member = new_member(emulator)
    stack = enroll(emulator, deployment.cfn, member)
    resign(emulator, member, R1)
    emulator.client("securityhub", ADMIN, R2).disassociate_members(AccountIds=[member])
    departed, metrics = run_watch(deployment)
    assert {(d["Region"], d["MemberStatus"]) for d in departed} == {(R1, "Resigned"), (R2, "Removed")}
    assert metrics["Healed"] == 2 and metrics["HealFailed"] == 0 and metrics["Healing"] is True, metrics
    for region in (R1, R2):
        assert emulator.member_status(ADMIN, member, region) == "Enabled", region
        assert emulator.administrator_of(member, region) == ADMIN, region
    joined = messages(deployment.provider, "member joined again")
    assert {(j["Region"], j["StackId"]) for j in joined} == {(R1, stack), (R2, stack)}
    # The next run finds nothing to report.
    departed, metrics = run_watch(deployment)
    assert departed == [] and metrics["DepartedMembers"] == 0, metrics


def test_members_another_tool_enrolled_are_left_alone(emulator, provider_factory):
    organization_with_hubs(emulator)
    deployment = provider_factory({"WATCH_HEALING": "true"})
    ours, theirs = new_member(emulator, "ours"), new_member(emulator, "theirs")
    enroll(emulator, deployment.cfn, ours)
    emulator.join_by_invitation(ADMIN, theirs, R1)
    resign(emulator, theirs, R1)
    since = emulator.last_seq()
    departed, metrics = run_watch(deployment)
    assert departed == [] and metrics["DepartedMembers"] == 0, metrics
    assert emulator.member_status(ADMIN, theirs, R1) == "Resigned"
    touched = [
        c
        for c in emulator.aws_calls(since, "securityhub")
        if c["account"] == theirs or c["operation"] in ("CreateMembers", "InviteMembers")
    ]
    assert touched == [], touched


def test_a_mark_whose_stack_no_longer_holds_the_member_is_not_reported_nor_healed_and_is_taken_off(
    emulator, provider_factory
):
    """A mark is a claim: the stack named in it must still hold that logical id with that account (here the
    resource now holds another account, as after a replacement whose old id's Delete never came)."""
    organization_with_hubs(emulator)
    deployment = provider_factory({"WATCH_HEALING": "true"})
    member = new_member(emulator)
    stack = enroll(emulator, deployment.cfn, member)
    emulator.stage_stack(stack, "UPDATE_COMPLETE", physical_ids={"Member": "999988887777"})
    resign(emulator, member, R1)
    departed, metrics = run_watch(deployment)
    assert departed == [] and metrics["StaleMarks"] == 1, metrics
    assert emulator.member_status(ADMIN, member, R1) == "Resigned"
    assert marks(emulator, member) == {}


def test_a_member_whose_stack_is_in_an_operation_waits_for_the_next_run(emulator, provider_factory):
    organization_with_hubs(emulator)
    deployment = provider_factory({"WATCH_HEALING": "true"})
    member = new_member(emulator)
    stack = enroll(emulator, deployment.cfn, member)
    emulator.stage_stack(stack, "DELETE_IN_PROGRESS", physical_ids={"Member": member})
    resign(emulator, member, R1)
    departed, metrics = run_watch(deployment)
    assert departed == [] and metrics["BusyMembers"] == 1 and metrics["Healed"] == 0, metrics
    assert emulator.member_status(ADMIN, member, R1) == "Resigned"
    assert marks(emulator, member), "the mark stays: the Delete takes it off"


# --- the event's channel and the administrator's rate -----------------------------------------------------------


def test_a_watch_event_published_through_sns_changes_nothing(emulator, provider_factory):
    organization_with_hubs(emulator)
    deployment = provider_factory({"WATCH_HEALING": "true"})
    member = new_member(emulator)
    enroll(emulator, deployment.cfn, member)
    resign(emulator, member, R1)
    since = emulator.last_seq()
    rid = deployment.runtime_api.invoke(events.sns_wrap(WATCH_EVENT), deadline_s=60)
    result = deployment.runtime_api.wait_result(rid, 30)
    assert result.kind == "error", result
    assert emulator.aws_calls(since) == []
    assert emulator.member_status(ADMIN, member, R1) == "Resigned"
    watch_lines = [
        r
        for r in deployment.provider.log_records()
        if r.get("RequestType") == "Watch" or r.get("fields", {}).get("message") == DEPARTED
    ]
    assert watch_lines == []


def test_a_malformed_watch_event_is_refused_and_measured(emulator, cfn):
    since = emulator.last_seq()
    departed, metrics = run_watch(cfn, {"SecurityHubMemberAccountWatch": {"Healing": True}})
    assert departed == [] and metrics["Status"] == "FAILED", metrics
    assert "unknown member Healing" in metrics["Failure"]
    assert emulator.aws_calls(since) == []


def test_the_watch_stops_a_region_at_its_first_throttled_answer(emulator, cfn):
    organization_with_hubs(emulator)
    member = new_member(emulator)
    enroll(emulator, cfn, member)
    resign(emulator, member, R1)
    # The administrator's bucket in R1 holds one token that an enrollment takes; none comes back during the run.
    emulator.configure(token_buckets=["securityhub"], securityhub_rate_per_s=0.001, securityhub_burst=1)
    emulator.client("securityhub", ADMIN, R1).get_members(AccountIds=[member])
    departed, metrics = run_watch(cfn)
    assert departed == [], "a region not read to its end says nothing"
    assert metrics["Status"] == "PARTIAL" and metrics["UnreadRegions"] >= 1 and metrics["ThrottledCalls"] >= 1, metrics
    r1 = emulator.call_totals("securityhub", ADMIN, R1, "ListMembers")
    assert r1 == {"served": 0, "throttled": 1}, "given up at once, not retried"


# --- the templates ------------------------------------------------------------------------------------------


def test_the_provider_template_schedules_the_watch_and_alarms_on_departed_members():
    from pathlib import Path

    from cfnlint.decode import cfn_yaml

    template = cfn_yaml.load(str(Path(__file__).parent.parent / "cloudformation" / "provider.yaml"))
    parameters, resources = template["Parameters"], template["Resources"]
    assert parameters["WatchHealing"]["Default"] == "false"
    rule = resources["WatchSchedule"]["Properties"]
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["Function", "Arn"]}
    event = json.loads(target["Input"]["Fn::Sub"].replace("${AdministratorRoleName}", "Role"))
    assert event == {"SecurityHubMemberAccountWatch": {"AdministratorRoleName": "Role"}}
    permission = resources["WatchInvokePermission"]["Properties"]
    assert permission["Principal"] == "events.amazonaws.com"
    assert permission["SourceArn"] == {"Fn::GetAtt": ["WatchSchedule", "Arn"]}
    alarm = resources["DepartedMembersAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("SecurityHubMemberAccount", "DepartedMembers")
    assert alarm["Dimensions"] == [{"Name": "RequestType", "Value": "Watch"}]
    env = resources["Function"]["Properties"]["Environment"]["Variables"]
    assert env["WATCH_HEALING"] == {"Fn::If": ["HealsMembers", "true", {"Ref": "AWS::NoValue"}]}


@pytest.mark.parametrize("payload", [WATCH_EVENT, {"SecurityHubMemberAccountWatch": {}}])
def test_the_watch_event_of_the_template_and_the_bare_one_both_run(emulator, cfn, payload):
    organization_with_hubs(emulator)
    departed, metrics = run_watch(cfn, payload)
    assert departed == [] and metrics["Status"] == "COMPLETE", metrics
    assert metrics["ListMembersCalls"] >= 2, metrics
