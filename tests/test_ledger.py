"""The emulator's fidelity ledger (emulator/ledger.toml): each row's situation reproduced with boto3 against the
running emulator and its answer checked against the row; and the ledger itself kept whole (a situation for every
row and a row for every situation, grades, sources)."""

import json
import re
import tomllib
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from emulator.client import DEFAULT_ACCOUNT, DEFAULT_REGION, Emulator
from harness.wait import wait_until

LEDGER = Path(__file__).parent / "emulator" / "ledger.toml"
ROWS: list[dict] = tomllib.loads(LEDGER.read_text())["answer"]
BY_ID = {row["id"]: row for row in ROWS}
GRADES = ("documented", "observed", "assumed")
FIELDS = {"id", "service", "operation", "situation", "status", "code", "message", "grade", "source"}
OPTIONAL = {"body", "note"}
ISSUE_OR_PULL = re.compile(r"https://github\.com/[\w.-]+/[\w.-]+/(issues|pull)/\d+")

ADMIN, MEMBER, OTHER = "111111111111", "222222222222", "333333333333"
REGION = "eu-west-1"
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})


@dataclass
class Answer:
    """What a call got: HTTP status, error code ("" for a success), error message (for a success: the body's JSON
    text), the body (without the error and the response metadata), and the values of the row's placeholders."""

    status: int
    code: str
    message: str
    body: dict
    account: str = ADMIN
    region: str = REGION


def capture(call: Callable, *args, account: str = ADMIN, region: str = REGION, **kwargs) -> Answer:
    try:
        response = call(*args, **kwargs)
    except ClientError as error:
        reply = error.response
        body = {k: v for k, v in reply.items() if k not in ("Error", "ResponseMetadata")}
        return Answer(
            reply["ResponseMetadata"]["HTTPStatusCode"],
            reply["Error"]["Code"],
            reply["Error"].get("Message", ""),
            body,
            account,
            region,
        )
    body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    return Answer(
        response["ResponseMetadata"]["HTTPStatusCode"], "", json.dumps(body, default=str), body, account, region
    )


# --- set-ups ---------------------------------------------------------------------------------------------------


def hub(emulator: Emulator, account: str = ADMIN, region: str = REGION):
    return emulator.client("securityhub", account, region, config=NO_RETRIES)


def orgs(emulator: Emulator):
    return emulator.client("organizations", config=NO_RETRIES)


def hub_arn(account: str, region: str = REGION) -> str:
    return f"arn:aws:securityhub:{region}:{account}:hub/default"


def invited(emulator: Emulator, admin: str = ADMIN, member: str = MEMBER) -> None:
    """`member` Invited by `admin` (both hubs enabled)."""
    emulator.enable_hub(admin, REGION)
    emulator.enable_hub(member, REGION)
    hub(emulator, admin).create_members(AccountDetails=[{"AccountId": member}])
    hub(emulator, admin).invite_members(AccountIds=[member])


def organization_member(emulator: Emulator) -> tuple[str, str]:
    """(administrator, member): accounts of one organization, the administrator auto-enabling members, its hub
    enabled."""
    emulator.create_organization()
    admin = emulator.create_account("audit", "audit@example.com")
    member = emulator.create_account("workload", "workload@example.com")
    emulator.configure(auto_enable_org_members=[admin])
    emulator.enable_hub(admin, REGION)
    return admin, member


def enrolled_organization_member(emulator: Emulator) -> tuple[str, str]:
    admin, member = organization_member(emulator)
    hub(emulator, admin).create_members(AccountDetails=[{"AccountId": member}])
    return admin, member


def finished_creation(emulator: Emulator, request_id: str) -> Answer:
    """DescribeCreateAccountStatus once the request is no longer IN_PROGRESS."""

    def done() -> Answer | None:
        answer = capture(orgs(emulator).describe_create_account_status, CreateAccountRequestId=request_id)
        return answer if answer.body["CreateAccountStatus"]["State"] != "IN_PROGRESS" else None

    return wait_until(done, 5.0, 0.05, f"CreateAccount {request_id} finishing")


def create_account(emulator: Emulator, name: str, email: str) -> str:
    """CreateAccount's request id."""
    return orgs(emulator).create_account(AccountName=name, Email=email)["CreateAccountStatus"]["Id"]


def assume(emulator: Emulator, account: str, role: str = "OrganizationAccountAccessRole") -> Answer:
    sts = emulator.client("sts", config=NO_RETRIES)
    return capture(
        sts.assume_role, RoleArn=f"arn:aws:iam::{account}:role/{role}", RoleSessionName="ledger", account=account
    )


def faulted(
    emulator: Emulator, setting: str, service: str, call: Callable[[object], object], account: str = ADMIN
) -> Answer:
    """The answer to `call(client of service as account)` under `setting` = 1.0 (credentials taken before)."""
    client = emulator.client(service, account, REGION, config=NO_RETRIES)
    emulator.configure(**{setting: 1.0})
    return capture(call, client, account=account)


def emptied_bucket(
    emulator: Emulator,
    service: str,
    call: Callable[[object], object],
    account: str = DEFAULT_ACCOUNT,
    region: str = DEFAULT_REGION,
) -> Answer:
    """The answer to `call` once `service`'s token bucket (burst 1, nearly no refill) is empty."""
    client = emulator.client(service, account, region, config=NO_RETRIES)
    emulator.configure(token_buckets=[service], **{f"{service}_rate_per_s": 0.001, f"{service}_burst": 1})
    capture(call, client)
    return capture(call, client, account=account, region=region)


def held_stack(emulator: Emulator) -> tuple[str, object]:
    """A stack held CREATE_IN_PROGRESS in MEMBER's account, and a CloudFormation client there."""
    return emulator.hold_stack(MEMBER, REGION), emulator.client("cloudformation", MEMBER, REGION, config=NO_RETRIES)


# --- situations, by ledger id ----------------------------------------------------------------------------------

SITUATIONS: dict[str, Callable[[Emulator], Answer]] = {}


def situation(function: Callable[[Emulator], Answer]) -> Callable[[Emulator], Answer]:
    SITUATIONS[function.__name__] = function
    return function


@situation
def securityhub_no_hub(emulator):
    return capture(hub(emulator).describe_hub)


@situation
def securityhub_disable_without_hub(emulator):
    return capture(hub(emulator).disable_security_hub)


@situation
def securityhub_enable_twice(emulator):
    emulator.enable_hub(ADMIN, REGION)
    return capture(hub(emulator).enable_security_hub)


@situation
def securityhub_disable_administrator(emulator):
    emulator.join_by_invitation(ADMIN, MEMBER, REGION)
    return capture(hub(emulator).disable_security_hub)


@situation
def securityhub_disable_organization_member(emulator):
    _, member = enrolled_organization_member(emulator)
    return capture(hub(emulator, member).disable_security_hub, account=member)


@situation
def securityhub_central_configuration(emulator):
    emulator.create_organization()
    admin = emulator.create_account("audit", "audit@example.com")
    member = emulator.create_account("workload", "workload@example.com")
    emulator.configure(central_configuration=[admin])
    return capture(hub(emulator, member).enable_security_hub, account=member)


@situation
def securityhub_describe_other_hub(emulator):
    emulator.enable_hub(ADMIN, REGION)
    return capture(hub(emulator).describe_hub, HubArn=hub_arn(MEMBER))


@situation
def securityhub_create_members_already_member(emulator):
    invited(emulator)
    answer = capture(hub(emulator).create_members, AccountDetails=[{"AccountId": MEMBER}])
    assert emulator.member_status(ADMIN, MEMBER, REGION) == "Invited"
    return answer


@situation
def securityhub_create_members_former_member(emulator):
    emulator.join_by_invitation(ADMIN, MEMBER, REGION)
    hub(emulator).disassociate_members(AccountIds=[MEMBER])
    answer = capture(hub(emulator).create_members, AccountDetails=[{"AccountId": MEMBER}])
    assert emulator.member_status(ADMIN, MEMBER, REGION) == "Created"
    return answer


@situation
def securityhub_create_members_invalid_account_id(emulator):
    emulator.enable_hub(ADMIN, REGION)
    return capture(hub(emulator).create_members, AccountDetails=[{"AccountId": "1234"}])


@situation
def securityhub_create_members_own_account(emulator):
    emulator.enable_hub(ADMIN, REGION)
    return capture(hub(emulator).create_members, AccountDetails=[{"AccountId": ADMIN}])


@situation
def securityhub_create_members_member_of_another_administrator(emulator):
    admin, member = organization_member(emulator)
    emulator.join_by_invitation(OTHER, member, REGION)
    return capture(hub(emulator, admin).create_members, AccountDetails=[{"AccountId": member}], account=admin)


@situation
def securityhub_create_members_organization_member_enabled(emulator):
    admin, member = enrolled_organization_member(emulator)
    assert emulator.state()[member][REGION]["invitations"] == []
    return capture(hub(emulator, admin).get_members, AccountIds=[member], account=admin)


@situation
def securityhub_invite_not_a_member(emulator):
    emulator.enable_hub(ADMIN, REGION)
    return capture(hub(emulator).invite_members, AccountIds=[MEMBER])


@situation
def securityhub_invite_organization_member(emulator):
    admin, member = enrolled_organization_member(emulator)
    return capture(hub(emulator, admin).invite_members, AccountIds=[member], account=admin)


@situation
def securityhub_invite_enabled_member(emulator):
    emulator.join_by_invitation(ADMIN, MEMBER, REGION)
    return capture(hub(emulator).invite_members, AccountIds=[MEMBER])


@situation
def securityhub_get_members_none(emulator):
    emulator.enable_hub(ADMIN, REGION)
    return capture(hub(emulator).get_members, AccountIds=[MEMBER])


@situation
def securityhub_get_members_some(emulator):
    emulator.enable_hub(ADMIN, REGION)
    hub(emulator).create_members(AccountDetails=[{"AccountId": MEMBER}])
    return capture(hub(emulator).get_members, AccountIds=[MEMBER, OTHER])


@situation
def securityhub_disassociate_members_not_a_member(emulator):
    emulator.enable_hub(ADMIN, REGION)
    return capture(hub(emulator).disassociate_members, AccountIds=[MEMBER])


@situation
def securityhub_delete_members_not_a_member(emulator):
    emulator.enable_hub(ADMIN, REGION)
    return capture(hub(emulator).delete_members, AccountIds=[MEMBER])


@situation
def securityhub_delete_members_organization_member(emulator):
    admin, member = enrolled_organization_member(emulator)
    return capture(hub(emulator, admin).delete_members, AccountIds=[member], account=admin)


@situation
def securityhub_accept_without_invitation(emulator):
    emulator.enable_hub(MEMBER, REGION)
    return capture(
        hub(emulator, MEMBER).accept_administrator_invitation,
        AdministratorId=ADMIN,
        InvitationId="0" * 32,
        account=MEMBER,
    )


@situation
def securityhub_accept_wrong_invitation_id(emulator):
    invited(emulator)
    return capture(
        hub(emulator, MEMBER).accept_administrator_invitation,
        AdministratorId=ADMIN,
        InvitationId="f" * 32,
        account=MEMBER,
    )


@situation
def securityhub_accept_second_administrator(emulator):
    emulator.join_by_invitation(ADMIN, MEMBER, REGION)
    invited(emulator, admin=OTHER)
    member = hub(emulator, MEMBER)
    invitation = next(i for i in member.list_invitations()["Invitations"] if i["AccountId"] == OTHER)
    return capture(
        member.accept_administrator_invitation,
        AdministratorId=OTHER,
        InvitationId=invitation["InvitationId"],
        account=MEMBER,
    )


@situation
def securityhub_get_administrator_none(emulator):
    emulator.enable_hub(MEMBER, REGION)
    answer = capture(hub(emulator, MEMBER).get_administrator_account, account=MEMBER)
    assert "Administrator" not in answer.body
    return answer


@situation
def securityhub_disassociate_from_administrator_not_associated(emulator):
    emulator.enable_hub(MEMBER, REGION)
    return capture(hub(emulator, MEMBER).disassociate_from_administrator_account, account=MEMBER)


@situation
def securityhub_disassociate_from_administrator_organization_member(emulator):
    _, member = enrolled_organization_member(emulator)
    return capture(hub(emulator, member).disassociate_from_administrator_account, account=member)


@situation
def securityhub_decline_without_invitation(emulator):
    emulator.enable_hub(MEMBER, REGION)
    return capture(hub(emulator, MEMBER).decline_invitations, AccountIds=[ADMIN], account=MEMBER)


@situation
def securityhub_max_results_out_of_range(emulator):
    emulator.enable_hub(ADMIN, REGION)
    return capture(hub(emulator).list_members, MaxResults=51)


@situation
def securityhub_bad_next_token(emulator):
    emulator.enable_hub(ADMIN, REGION)
    return capture(hub(emulator).list_members, NextToken="not-a-token")


@situation
def securityhub_tag_not_a_securityhub_arn(emulator):
    emulator.enable_hub(ADMIN, REGION)
    return capture(hub(emulator).tag_resource, ResourceArn=f"arn:aws:sns:{REGION}:{ADMIN}:topic", Tags={"a": "b"})


@situation
def securityhub_tag_other_hub(emulator):
    emulator.enable_hub(ADMIN, REGION)
    emulator.enable_hub(MEMBER, REGION)
    return capture(hub(emulator).tag_resource, ResourceArn=hub_arn(MEMBER), Tags={"a": "b"})


@situation
def securityhub_tag_invalid_key(emulator):
    emulator.enable_hub(ADMIN, REGION)
    return capture(hub(emulator).tag_resource, ResourceArn=hub_arn(ADMIN), Tags={"aws:reserved": "b"})


@situation
def securityhub_new_account_not_ready(emulator):
    emulator.create_organization()
    emulator.configure(new_account_not_ready_s=30)
    account = emulator.create_account("fresh", "fresh@example.com")
    emulator.enable_hub(account, REGION)
    return capture(hub(emulator, account).describe_hub, account=account)


@situation
def account_new_account_not_ready(emulator):
    emulator.create_organization()
    emulator.configure(new_account_not_ready_s=30)
    account = emulator.create_account("fresh", "fresh@example.com")
    return capture(emulator.client("account", account, config=NO_RETRIES).list_regions, account=account)


@situation
def securityhub_scp_region_deny(emulator):
    emulator.enable_hub(ADMIN, REGION)
    emulator.configure(denied_regions={ADMIN: [REGION]})
    return capture(hub(emulator).describe_hub)


@situation
def securityhub_iam_no_policy(emulator):
    emulator.enable_hub(ADMIN, REGION)
    emulator.configure(access_denied_accounts=[ADMIN])
    return capture(hub(emulator).list_members)


@situation
def securityhub_fail_region(emulator):
    emulator.enable_hub(ADMIN, REGION)
    emulator.configure(fail_regions={REGION: [ADMIN]})
    return capture(hub(emulator).describe_hub)


@situation
def securityhub_throttle_fraction(emulator):
    emulator.enable_hub(ADMIN, REGION)
    return faulted(emulator, "throttle_fraction", "securityhub", lambda c: c.describe_hub())


@situation
def securityhub_token_bucket(emulator):
    emulator.enable_hub(ADMIN, REGION)
    return emptied_bucket(emulator, "securityhub", lambda c: c.describe_hub(), ADMIN, REGION)


@situation
def securityhub_internal_error(emulator):
    return faulted(emulator, "error_fraction", "securityhub", lambda c: c.describe_hub())


@situation
def account_internal_error(emulator):
    return faulted(emulator, "error_fraction", "account", lambda c: c.list_regions())


@situation
def ec2_internal_error(emulator):
    return faulted(emulator, "error_fraction", "ec2", lambda c: c.describe_regions())


@situation
def sts_internal_error(emulator):
    return faulted(emulator, "error_fraction", "sts", lambda c: c.get_caller_identity(), DEFAULT_ACCOUNT)


@situation
def organizations_internal_error(emulator):
    emulator.create_organization()
    return faulted(emulator, "error_fraction", "organizations", lambda c: c.list_accounts(), DEFAULT_ACCOUNT)


@situation
def s3_response_put_failure(emulator):
    emulator.create_bucket("cfn-responses")
    emulator.configure(response_put_failures=1)
    s3 = emulator.client("s3", config=NO_RETRIES)
    answer = capture(s3.put_object, Bucket="cfn-responses", Key="stack/request", Body=b"{}")
    assert emulator.read_object("cfn-responses", "stack/request") is None
    return answer


@situation
def organizations_throttle_fraction(emulator):
    emulator.create_organization()
    return faulted(emulator, "throttle_fraction", "organizations", lambda c: c.list_accounts(), DEFAULT_ACCOUNT)


@situation
def organizations_token_bucket(emulator):
    emulator.create_organization()
    return emptied_bucket(emulator, "organizations", lambda c: c.list_accounts())


@situation
def sts_token_bucket(emulator):
    return emptied_bucket(emulator, "sts", lambda c: c.get_caller_identity())


@situation
def organizations_create_account_in_progress(emulator):
    emulator.create_organization()
    emulator.configure(create_account_delay_s=5)
    answer = capture(orgs(emulator).create_account, AccountName="new", Email="new@example.com")
    assert "new@example.com" not in [a["Email"] for a in emulator.org_accounts()]
    return answer


@situation
def organizations_create_account_too_many(emulator):
    emulator.create_organization()
    emulator.configure(create_account_delay_s=5, create_account_concurrency=1)
    create_account(emulator, "first", "first@example.com")
    return capture(
        orgs(emulator).create_account, AccountName="second", Email="second@example.com", account=DEFAULT_ACCOUNT
    )


@situation
def organizations_create_account_email_exists(emulator):
    emulator.create_organization()
    emulator.create_account("first", "taken@example.com")
    return finished_creation(emulator, create_account(emulator, "second", "taken@example.com"))


@situation
def organizations_create_account_repeated(emulator):
    emulator.create_organization()
    emulator.configure(create_account_delay_s=0.5)
    create_account(emulator, "repeat", "repeat@example.com")
    return finished_creation(emulator, create_account(emulator, "repeat", "REPEAT@example.com"))


@situation
def organizations_create_account_configured_failure(emulator):
    emulator.create_organization()
    emulator.configure(create_account_failure="ACCOUNT_LIMIT_EXCEEDED")
    return finished_creation(emulator, create_account(emulator, "limited", "limited@example.com"))


@situation
def organizations_create_account_without_organization(emulator):
    return capture(orgs(emulator).create_account, AccountName="new", Email="new@example.com")


@situation
def organizations_create_account_status_not_found(emulator):
    emulator.create_organization()
    return capture(orgs(emulator).describe_create_account_status, CreateAccountRequestId="car-0123456789abcdef")


def moved_account(emulator: Emulator) -> tuple[str, str, str]:
    """(account, root, unit): the account created in the root, an empty OU beside it."""
    emulator.create_organization()
    root = orgs(emulator).list_roots()["Roots"][0]["Id"]
    unit = orgs(emulator).create_organizational_unit(ParentId=root, Name="unit")["OrganizationalUnit"]["Id"]
    return emulator.create_account("moved", "moved@example.com"), root, unit


@situation
def organizations_move_account_duplicate(emulator):
    account, root, _ = moved_account(emulator)
    return capture(orgs(emulator).move_account, AccountId=account, SourceParentId=root, DestinationParentId=root)


@situation
def organizations_move_account_source_not_found(emulator):
    account, root, _ = moved_account(emulator)
    return capture(orgs(emulator).move_account, AccountId=account, SourceParentId=root + "x", DestinationParentId=root)


@situation
def organizations_move_account_destination_not_found(emulator):
    account, root, _ = moved_account(emulator)
    return capture(
        orgs(emulator).move_account, AccountId=account, SourceParentId=root, DestinationParentId="ou-none-00000000"
    )


@situation
def organizations_move_account_not_in_source(emulator):
    account, root, unit = moved_account(emulator)
    other = orgs(emulator).create_organizational_unit(ParentId=root, Name="other")["OrganizationalUnit"]["Id"]
    return capture(orgs(emulator).move_account, AccountId=account, SourceParentId=unit, DestinationParentId=other)


def closing_account(emulator: Emulator, delay_s: float) -> str:
    emulator.create_organization()
    account = emulator.create_account("closing", "closing@example.com")
    emulator.configure(close_account_delay_s=delay_s)
    orgs(emulator).close_account(AccountId=account)
    return account


@situation
def organizations_close_account_pending(emulator):
    account = closing_account(emulator, 30)
    return capture(orgs(emulator).describe_account, AccountId=account, account=account)


@situation
def organizations_close_account_closing(emulator):
    account = closing_account(emulator, 30)
    return capture(orgs(emulator).close_account, AccountId=account, account=account)


@situation
def organizations_close_account_already_closed(emulator):
    account = closing_account(emulator, 0)
    return capture(orgs(emulator).close_account, AccountId=account, account=account)


@situation
def organizations_close_account_quota(emulator):
    emulator.create_organization()
    first = emulator.create_account("first", "first@example.com")
    second = emulator.create_account("second", "second@example.com")
    emulator.configure(close_account_quota=1)
    orgs(emulator).close_account(AccountId=first)
    return capture(orgs(emulator).close_account, AccountId=second, account=second)


@situation
def sts_assume_role_new_account(emulator):
    emulator.create_organization()
    emulator.configure(assume_role_denied_for_s=30)
    return assume(emulator, emulator.create_account("fresh", "fresh@example.com"))


@situation
def sts_assume_role_propagating(emulator):
    emulator.configure(role_propagating={MEMBER: 30})
    return assume(emulator, MEMBER)


@situation
def sts_assume_role_missing_role(emulator):
    emulator.configure(account_roles={MEMBER: ["AWSControlTowerExecution"]})
    return assume(emulator, MEMBER)


@situation
def sts_assume_role_closed_account(emulator):
    return assume(emulator, closing_account(emulator, 0))


@situation
def sts_assume_role_unassumable(emulator):
    emulator.configure(unassumable_accounts=[MEMBER])
    return assume(emulator, MEMBER)


@situation
def ec2_describe_regions_disabled_left_out(emulator):
    emulator.configure(disabled_regions={MEMBER: [REGION]})
    answer = capture(emulator.client("ec2", MEMBER, config=NO_RETRIES).describe_regions, account=MEMBER)
    assert REGION not in [r["RegionName"] for r in answer.body["Regions"]]
    return answer


@situation
def ec2_describe_regions_all_not_opted_in(emulator):
    emulator.configure(disabled_regions={MEMBER: [REGION]})
    return capture(
        emulator.client("ec2", MEMBER, config=NO_RETRIES).describe_regions,
        AllRegions=True,
        RegionNames=[REGION],
        account=MEMBER,
    )


@situation
def account_list_regions_disabled(emulator):
    emulator.configure(disabled_regions={MEMBER: [REGION]})
    return capture(
        emulator.client("account", MEMBER, config=NO_RETRIES).list_regions,
        RegionOptStatusContains=["DISABLED"],
        account=MEMBER,
    )


@situation
def cloudformation_held_stack_in_progress(emulator):
    stack_id, cloudformation = held_stack(emulator)
    return capture(cloudformation.describe_stacks, StackName=stack_id, account=MEMBER)


@situation
def cloudformation_held_resource_no_physical_id(emulator):
    stack_id, cloudformation = held_stack(emulator)
    answer = capture(
        cloudformation.describe_stack_resource, StackName=stack_id, LogicalResourceId="Member", account=MEMBER
    )
    assert "PhysicalResourceId" not in answer.body["StackResourceDetail"]
    return answer


@situation
def cloudformation_failed_answer(emulator):
    stack_id, cloudformation = held_stack(emulator)
    create = emulator.held_stack(stack_id)["requests"]["Member"]
    failed = json.dumps(
        {
            "Status": "FAILED",
            "Reason": "refused",
            "PhysicalResourceId": "none",
            "StackId": stack_id,
            "RequestId": create["RequestId"],
            "LogicalResourceId": "Member",
        }
    ).encode()
    # As CloudFormation's ResponseURL is used: a PUT with an empty Content-Type (urllib would send a form's).
    urllib.request.urlopen(
        urllib.request.Request(create["ResponseURL"], data=failed, method="PUT", headers={"Content-Type": ""}),
        timeout=10,
    ).close()
    answer = capture(cloudformation.describe_stacks, StackName=stack_id, account=MEMBER)
    assert answer.body["Stacks"][0]["StackStatusReason"] == "refused"
    return answer


@situation
def cloudformation_deleted_stack_by_id(emulator):
    stack_id, cloudformation = held_stack(emulator)
    emulator.set_stack(stack_id, "DELETE_COMPLETE")
    return capture(cloudformation.describe_stacks, StackName=stack_id, account=MEMBER)


@situation
def cloudformation_missing_stack(emulator):
    _, cloudformation = held_stack(emulator)
    return capture(cloudformation.describe_stacks, StackName="missing-stack", account=MEMBER)


@situation
def cloudformation_missing_resource(emulator):
    stack_id, cloudformation = held_stack(emulator)
    return capture(
        cloudformation.describe_stack_resource, StackName=stack_id, LogicalResourceId="Missing", account=MEMBER
    )


@situation
def cloudformation_resource_status_during_update(emulator):
    stack_id, cloudformation = held_stack(emulator)
    emulator.stage_stack(stack_id, "UPDATE_IN_PROGRESS", physical_ids={"Member": MEMBER})
    return capture(
        cloudformation.describe_stack_resource, StackName=stack_id, LogicalResourceId="Member", account=MEMBER
    )


@situation
def cloudformation_resource_status_during_cleanup(emulator):
    stack_id, cloudformation = held_stack(emulator)
    emulator.stage_stack(stack_id, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", physical_ids={"Member": MEMBER})
    answer = capture(
        cloudformation.describe_stack_resource, StackName=stack_id, LogicalResourceId="Member", account=MEMBER
    )
    assert answer.body["StackResourceDetail"]["PhysicalResourceId"] == MEMBER
    return answer


@situation
def cloudformation_cleanup_delete_event(emulator):
    stack_id, cloudformation = held_stack(emulator)
    emulator.stage_stack(
        stack_id, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", physical_ids={"Member": MEMBER}, deleting={"Member": OTHER}
    )
    answer = capture(cloudformation.describe_stack_events, StackName=stack_id, account=MEMBER)
    newest = answer.body["StackEvents"][0]
    assert (newest["LogicalResourceId"], newest["PhysicalResourceId"]) == ("Member", OTHER), newest
    return answer


@situation
def cloudformation_get_template_as_given(emulator):
    stack_id, cloudformation = held_stack(emulator)
    body = (
        "Resources:\n  Member:\n    Type: Custom::SecurityHubMemberAccount\n"
        "    Properties:\n      OnDelete: DisableSecurityHub\n"
    )
    emulator.stage_stack(stack_id, "DELETE_IN_PROGRESS", physical_ids={"Member": MEMBER}, template_body=body)
    answer = capture(cloudformation.get_template, StackName=stack_id, TemplateStage="Processed", account=MEMBER)
    assert answer.body["TemplateBody"] == body
    return answer


def left_members(emulator: Emulator) -> object:
    """MEMBER and OTHER Enabled members of ADMIN in REGION; the admin's Security Hub client."""
    emulator.join_by_invitation(ADMIN, MEMBER, REGION)
    emulator.join_by_invitation(ADMIN, OTHER, REGION)
    return hub(emulator)


@situation
def securityhub_list_members_only_associated(emulator):
    admin = left_members(emulator)
    hub(emulator, MEMBER).disassociate_from_administrator_account()
    return capture(admin.list_members)


@situation
def securityhub_list_members_resigned(emulator):
    admin = left_members(emulator)
    hub(emulator, MEMBER).disassociate_from_administrator_account()
    answer = capture(admin.list_members, OnlyAssociated=False)
    answer.body["Members"] = [m for m in answer.body["Members"] if m["AccountId"] == MEMBER]
    assert [m["MemberStatus"] for m in answer.body["Members"]] == ["Resigned"], answer
    return answer


@situation
def securityhub_list_members_removed(emulator):
    emulator.join_by_invitation(ADMIN, MEMBER, REGION)
    hub(emulator).disassociate_members(AccountIds=[MEMBER])
    return capture(hub(emulator).list_members, OnlyAssociated=False)


@situation
def securityhub_list_members_after_delete_members(emulator):
    emulator.join_by_invitation(ADMIN, MEMBER, REGION)
    hub(emulator).disassociate_members(AccountIds=[MEMBER])
    hub(emulator).delete_members(AccountIds=[MEMBER])
    return capture(hub(emulator).list_members, OnlyAssociated=False)


@situation
def securityhub_list_members_status_deleted(emulator):
    emulator.join_by_invitation(ADMIN, MEMBER, REGION)
    emulator.set_member_status(ADMIN, MEMBER, REGION, "Deleted")
    return capture(hub(emulator).list_members, OnlyAssociated=False)


@situation
def securityhub_list_members_suspended_account(emulator):
    emulator.create_organization()
    account = emulator.create_account("closing", "closing@example.com")
    emulator.join_by_invitation(ADMIN, account, REGION)
    emulator.configure(close_account_delay_s=0)
    orgs(emulator).close_account(AccountId=account)
    assert orgs(emulator).describe_account(AccountId=account)["Account"]["Status"] == "SUSPENDED"
    return capture(hub(emulator).list_members, OnlyAssociated=False)


@situation
def organizations_tag_account_outside_organization(emulator):
    emulator.create_organization()
    return capture(orgs(emulator).tag_resource, ResourceId=MEMBER, Tags=[{"Key": "k", "Value": "v"}])


# --- the tests -------------------------------------------------------------------------------------------------


def expected_body_holds(want: object, got: object) -> bool:
    """A body entry of the ledger: true (present), a number (a list of that length), or the value itself."""
    if want is True:
        return True
    if isinstance(want, int) and isinstance(got, list):
        return len(got) == want
    return got == want


@pytest.mark.parametrize("row_id", [row["id"] for row in ROWS])
def test_the_emulator_answers_as_its_ledger_row_says(emulator, row_id):
    row = BY_ID[row_id]
    since = emulator.last_seq()
    answer = SITUATIONS[row_id](emulator)

    message = row["message"].replace("{account}", answer.account).replace("{region}", answer.region)
    assert (answer.status, answer.code) == (row["status"], row["code"]), answer
    assert message in answer.message, answer
    for key, want in row.get("body", {}).items():
        assert key in answer.body and expected_body_holds(want, answer.body[key]), (key, want, answer)
    assert any((c["service"], c["operation"]) == (row["service"], row["operation"]) for c in emulator.calls(since)), (
        f"no {row['service']} {row['operation']} call was made"
    )


def test_every_row_has_a_situation_and_every_situation_a_row():
    assert sorted(set(BY_ID) - set(SITUATIONS)) == [], "rows without a situation"
    assert sorted(set(SITUATIONS) - set(BY_ID)) == [], "situations without a row"


def test_rows_have_unique_snake_case_ids_their_fields_and_one_of_the_three_grades():
    ids = [row["id"] for row in ROWS]
    assert len(ids) == len(set(ids)), "duplicate ids"
    for row in ROWS:
        assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", row["id"]), row["id"]
        assert FIELDS <= set(row) <= FIELDS | OPTIONAL, (row["id"], sorted(set(row) ^ FIELDS))
        assert row["grade"] in GRADES, row["id"]
        assert isinstance(row["status"], int) and (row["code"] == "") == (row["status"] == 200), row["id"]
        assert all(isinstance(row[f], str) and (row[f] or f in ("code", "message")) for f in FIELDS - {"status"}), row[
            "id"
        ]


def test_observed_rows_cite_a_public_issue_or_pull_request():
    for row in ROWS:
        if row["grade"] == "observed":
            assert ISSUE_OR_PULL.fullmatch(row["source"]), (row["id"], row["source"])
