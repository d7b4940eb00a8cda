"""Behaviour of the AWS emulator that its users rely on, checked through boto3 against the running server."""

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

from emulator.client import DEFAULT_ACCOUNT, EmulatorError
from emulator.throttle import RateLimiter, TokenBucket
from harness.runtime_api import RuntimeApi
from harness.stacks import placeholder_code
from harness.wait import wait_until

ADMIN, MEMBER, OTHER_ADMIN = "111111111111", "222222222222", "333333333333"
REGION = "eu-west-1"
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def error_of(call, *args, **kwargs) -> ClientError:
    with pytest.raises(ClientError) as raised:
        call(*args, **kwargs)
    return raised.value


def code_and_status(error: ClientError) -> tuple[str, int]:
    return error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]


def hub(emulator, account, region=REGION, **kwargs):
    return emulator.client("securityhub", account, region, **kwargs)


def invite(emulator, admin=ADMIN, member=MEMBER) -> str:
    """Admin (hub enabled) adds and invites member; answers the invitation id as the emulator holds it."""
    emulator.enable_hub(admin, REGION)
    hub(emulator, admin).create_members(AccountDetails=[{"AccountId": member, "Email": "member@example.com"}])
    hub(emulator, admin).invite_members(AccountIds=[member])
    invitations = emulator.state()[member][REGION]["invitations"]
    return next(i["invitation_id"] for i in invitations if i["administrator"] == admin)


def accept(emulator, invitation_id):
    """The member (hub enabled) accepts the invitation of ADMIN."""
    emulator.enable_hub(MEMBER, REGION)
    hub(emulator, MEMBER).accept_administrator_invitation(AdministratorId=ADMIN, InvitationId=invitation_id)


# --- Security Hub membership ----------------------------------------------------------------------


@pytest.mark.parametrize("accept", ["AcceptAdministratorInvitation", "AcceptInvitation"])
def test_created_invited_accepted_member_is_enabled_and_sees_its_administrator(emulator, accept):
    emulator.enable_hub(ADMIN, REGION)
    admin, member = hub(emulator, ADMIN), hub(emulator, MEMBER)

    admin.create_members(AccountDetails=[{"AccountId": MEMBER, "Email": "member@example.com"}])
    assert admin.get_members(AccountIds=[MEMBER])["Members"][0]["MemberStatus"] == "Created"
    assert admin.invite_members(AccountIds=[MEMBER])["UnprocessedAccounts"] == []
    assert admin.get_members(AccountIds=[MEMBER])["Members"][0]["MemberStatus"] == "Invited"

    member.enable_security_hub(EnableDefaultStandards=False)
    (invitation,) = member.list_invitations()["Invitations"]
    assert invitation["AccountId"] == ADMIN
    assert member.get_invitations_count()["InvitationsCount"] == 1
    if accept == "AcceptAdministratorInvitation":
        member.accept_administrator_invitation(AdministratorId=ADMIN, InvitationId=invitation["InvitationId"])
    else:
        member.accept_invitation(MasterId=ADMIN, InvitationId=invitation["InvitationId"])

    (record,) = admin.get_members(AccountIds=[MEMBER])["Members"]
    assert (record["MemberStatus"], record["AdministratorId"], record["MasterId"], record["Email"]) == (
        "Enabled",
        ADMIN,
        ADMIN,
        "member@example.com",
    )
    assert {"InvitedAt", "UpdatedAt"} <= set(record)
    assert member.get_administrator_account()["Administrator"]["AccountId"] == ADMIN
    assert member.get_master_account()["Master"]["AccountId"] == ADMIN
    assert [m["AccountId"] for m in admin.list_members()["Members"]] == [MEMBER]
    assert member.list_invitations()["Invitations"] == []
    assert emulator.state()[MEMBER][REGION]["enable_default_standards"] is False


def test_accept_without_an_invitation_fails(emulator):
    emulator.enable_hub(MEMBER, REGION)
    error = error_of(
        hub(emulator, MEMBER).accept_administrator_invitation, AdministratorId=ADMIN, InvitationId="0" * 32
    )
    assert code_and_status(error) == ("ResourceNotFoundException", 404)
    assert emulator.member_status(ADMIN, MEMBER, REGION) is None


def test_accept_naming_another_administrator_or_a_wrong_id_fails(emulator):
    invitation_id = invite(emulator)
    emulator.enable_hub(MEMBER, REGION)
    member = hub(emulator, MEMBER)

    wrong_admin = error_of(
        member.accept_administrator_invitation, AdministratorId=OTHER_ADMIN, InvitationId=invitation_id
    )
    wrong_id = error_of(member.accept_administrator_invitation, AdministratorId=ADMIN, InvitationId="f" * 32)

    assert code_and_status(wrong_admin) == ("ResourceNotFoundException", 404)
    assert code_and_status(wrong_id) == ("InvalidInputException", 400)
    assert emulator.member_status(ADMIN, MEMBER, REGION) == "Invited"
    assert emulator.administrator_of(MEMBER, REGION) is None


def test_accept_needs_the_members_hub_enabled(emulator):
    invitation_id = invite(emulator)
    error = error_of(
        hub(emulator, MEMBER).accept_administrator_invitation, AdministratorId=ADMIN, InvitationId=invitation_id
    )
    assert code_and_status(error) == ("InvalidAccessException", 401)


def test_operations_of_an_account_without_a_hub_fail_with_invalid_access_but_disabling_with_not_found(emulator):
    admin = hub(emulator, ADMIN)
    for call, kwargs in [
        (admin.create_members, {"AccountDetails": [{"AccountId": MEMBER}]}),
        (admin.describe_hub, {}),
        (admin.get_administrator_account, {}),
        (admin.list_invitations, {}),
    ]:
        error = error_of(call, **kwargs)
        assert code_and_status(error) == ("InvalidAccessException", 401)
        assert error.response["Error"]["Message"] == f"Account {ADMIN} is not subscribed to AWS Security Hub"
    error = error_of(admin.disable_security_hub)
    assert code_and_status(error) == ("ResourceNotFoundException", 404)
    assert error.response["Error"]["Message"] == "Account is not subscribed to Security Hub"


def test_enabling_twice_is_a_conflict_in_the_security_hub_error_format(emulator):
    member = hub(emulator, MEMBER)
    member.enable_security_hub()
    error = error_of(member.enable_security_hub)
    assert code_and_status(error) == ("ResourceConflictException", 409)
    # The Rust SDK reads the code from this header.
    assert error.response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == "ResourceConflictException"
    assert member.describe_hub()["HubArn"] == f"arn:aws:securityhub:{REGION}:{MEMBER}:hub/default"


def test_disassociation_by_the_administrator_removes_the_member(emulator):
    accept(emulator, invite(emulator))
    hub(emulator, ADMIN).disassociate_members(AccountIds=[MEMBER])
    assert emulator.member_status(ADMIN, MEMBER, REGION) == "Removed"
    assert "Administrator" not in hub(emulator, MEMBER).get_administrator_account()
    assert hub(emulator, ADMIN).list_members()["Members"] == []
    assert len(hub(emulator, ADMIN).list_members(OnlyAssociated=False)["Members"]) == 1


def test_disassociation_by_the_member_resigns_it(emulator):
    accept(emulator, invite(emulator))
    hub(emulator, MEMBER).disassociate_from_administrator_account()
    assert emulator.member_status(ADMIN, MEMBER, REGION) == "Resigned"
    error = error_of(hub(emulator, MEMBER).disassociate_from_master_account)
    assert code_and_status(error) == ("ResourceNotFoundException", 404)


def test_deleted_members_are_gone_and_deleting_again_reports_them_unprocessed(emulator):
    accept(emulator, invite(emulator))
    admin = hub(emulator, ADMIN)
    assert admin.delete_members(AccountIds=[MEMBER])["UnprocessedAccounts"] == []
    assert code_and_status(error_of(admin.get_members, AccountIds=[MEMBER])) == ("BadRequestException", 400)
    assert "Administrator" not in hub(emulator, MEMBER).get_administrator_account()
    assert [u["AccountId"] for u in admin.delete_members(AccountIds=[MEMBER])["UnprocessedAccounts"]] == [MEMBER]


def test_declined_invitations_leave_the_inbox(emulator):
    invite(emulator)
    emulator.enable_hub(MEMBER, REGION)
    member = hub(emulator, MEMBER)
    assert member.decline_invitations(AccountIds=[ADMIN])["UnprocessedAccounts"] == []
    assert member.get_invitations_count()["InvitationsCount"] == 0


def test_disabling_a_members_hub_resigns_it_but_an_administrator_of_members_cannot_disable(emulator):
    accept(emulator, invite(emulator))
    assert code_and_status(error_of(hub(emulator, ADMIN).disable_security_hub)) == ("InvalidInputException", 400)
    hub(emulator, MEMBER).disable_security_hub()
    assert emulator.member_status(ADMIN, MEMBER, REGION) == "Resigned"
    assert emulator.state()[MEMBER][REGION]["enabled"] is False


def test_a_member_cannot_accept_a_second_administrator(emulator):
    accept(emulator, invite(emulator))
    second = invite(emulator, admin=OTHER_ADMIN)
    error = error_of(
        hub(emulator, MEMBER).accept_administrator_invitation, AdministratorId=OTHER_ADMIN, InvitationId=second
    )
    assert code_and_status(error) == ("InvalidInputException", 400)
    assert emulator.administrator_of(MEMBER, REGION) == ADMIN


def test_organization_members_of_an_auto_enabling_administrator_are_enabled_at_once(emulator):
    emulator.create_organization()
    audit = emulator.create_account("audit", "audit@example.com")
    member = emulator.create_account("workload", "workload@example.com")
    emulator.configure(auto_enable_org_members=[audit])
    emulator.enable_hub(audit, REGION)

    hub(emulator, audit).create_members(AccountDetails=[{"AccountId": member}, {"AccountId": "999999999999"}])

    assert emulator.member_status(audit, member, REGION) == "Enabled"
    assert emulator.administrator_of(member, REGION) == audit
    assert emulator.state()[member][REGION]["enabled"] is True
    assert emulator.member_status(audit, "999999999999", REGION) == "Created"


ALREADY_MEMBER = (
    "The request is rejected because the given account ID is already a member or associated member "
    "of the current account."
)


@pytest.mark.parametrize("status", ["Created", "Invited", "Enabled"])
def test_create_members_of_a_member_already_is_refused_in_unprocessed_accounts_and_changes_nothing(emulator, status):
    if status == "Enabled":
        accept(emulator, invite(emulator))
    elif status == "Invited":
        invite(emulator)
    else:
        emulator.enable_hub(ADMIN, REGION)
        hub(emulator, ADMIN).create_members(AccountDetails=[{"AccountId": MEMBER, "Email": "member@example.com"}])
    admin = hub(emulator, ADMIN)
    (before,) = admin.get_members(AccountIds=[MEMBER])["Members"]

    answer = admin.create_members(
        AccountDetails=[{"AccountId": MEMBER, "Email": "other@example.com"}, {"AccountId": OTHER_ADMIN}]
    )

    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert answer["UnprocessedAccounts"] == [{"AccountId": MEMBER, "ProcessingResult": ALREADY_MEMBER}]
    assert admin.get_members(AccountIds=[MEMBER])["Members"] == [before]
    assert before["MemberStatus"] == status
    assert emulator.member_status(ADMIN, OTHER_ADMIN, REGION) == "Created", "the others are still processed"


@pytest.mark.parametrize("leave", ["DisassociateMembers", "DisassociateFromAdministratorAccount"])
def test_create_members_makes_a_former_member_a_member_again(emulator, leave):
    accept(emulator, invite(emulator))
    if leave == "DisassociateMembers":
        hub(emulator, ADMIN).disassociate_members(AccountIds=[MEMBER])
    else:
        hub(emulator, MEMBER).disassociate_from_administrator_account()
    assert emulator.member_status(ADMIN, MEMBER, REGION) in ("Removed", "Resigned")

    answer = hub(emulator, ADMIN).create_members(AccountDetails=[{"AccountId": MEMBER}])

    assert answer["UnprocessedAccounts"] == []
    assert emulator.member_status(ADMIN, MEMBER, REGION) == "Created"


def test_get_members_naming_no_member_is_a_bad_request_and_some_members_answer_the_rest_unprocessed(emulator):
    emulator.enable_hub(ADMIN, REGION)
    admin = hub(emulator, ADMIN)

    none = error_of(admin.get_members, AccountIds=[MEMBER, OTHER_ADMIN])
    assert code_and_status(none) == ("BadRequestException", 400)
    assert none.response["Error"]["Message"] == "The request is rejected since no such resource found."
    assert none.response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == "BadRequestException"

    admin.create_members(AccountDetails=[{"AccountId": MEMBER}])
    some = admin.get_members(AccountIds=[MEMBER, OTHER_ADMIN])
    assert [m["AccountId"] for m in some["Members"]] == [MEMBER]
    assert [u["AccountId"] for u in some["UnprocessedAccounts"]] == [OTHER_ADMIN]


# --- Security Hub tags ----------------------------------------------------------------------------


def hub_arn(account, region=REGION) -> str:
    return f"arn:aws:securityhub:{region}:{account}:hub/default"


def test_hub_tags_are_added_listed_replaced_and_removed(emulator):
    emulator.enable_hub(ADMIN, REGION)
    admin, arn = hub(emulator, ADMIN), hub_arn(ADMIN)
    assert admin.list_tags_for_resource(ResourceArn=arn)["Tags"] == {}

    admin.tag_resource(ResourceArn=arn, Tags={"StackId": "stack-1", "Team": "security", "Env": "test"})
    admin.tag_resource(ResourceArn=arn, Tags={"Team": "platform"})
    assert admin.list_tags_for_resource(ResourceArn=arn)["Tags"] == {
        "StackId": "stack-1",
        "Team": "platform",
        "Env": "test",
    }

    # Several tagKeys in the query string; a key the hub does not have is ignored.
    admin.untag_resource(ResourceArn=arn, TagKeys=["Team", "Env", "Absent"])
    assert admin.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"StackId": "stack-1"}
    assert emulator.state()[ADMIN][REGION]["tags"] == {"StackId": "stack-1"}
    assert [c["operation"] for c in emulator.aws_calls(service="securityhub")] == [
        "ListTagsForResource",
        "TagResource",
        "TagResource",
        "ListTagsForResource",
        "UntagResource",
        "ListTagsForResource",
    ]


def signed_request(emulator, account, method, path, body=b"") -> tuple[int, dict]:
    """A Security Hub request with `path` sent exactly as given (SigV4-signed as `account`)."""
    credentials = emulator.session(account, REGION).get_credentials().get_frozen_credentials()
    request = AWSRequest(
        method=method, url=f"{emulator.url}{path}", data=body, headers={"Content-Type": "application/json"}
    )
    SigV4Auth(credentials, "securityhub", REGION).add_auth(request)
    sent = urllib.request.Request(request.url, data=body or None, method=method, headers=dict(request.headers))
    try:
        with urllib.request.urlopen(sent, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_the_arn_routes_percent_encoded_with_its_slash_as_2f_or_with_a_plain_slash(emulator):
    emulator.enable_hub(ADMIN, REGION)
    arn = hub_arn(ADMIN)
    encoded = urllib.parse.quote(arn, safe="")
    assert "%2F" in encoded and "%3A" in encoded  # as the SDKs send it

    assert signed_request(emulator, ADMIN, "POST", f"/tags/{encoded}", b'{"Tags": {"k": "v"}}')[0] == 200
    assert signed_request(emulator, ADMIN, "GET", f"/tags/{encoded}") == (200, {"Tags": {"k": "v"}})
    assert signed_request(emulator, ADMIN, "GET", f"/tags/{arn}") == (200, {"Tags": {"k": "v"}})
    assert signed_request(emulator, ADMIN, "DELETE", f"/tags/{encoded}?tagKeys=k")[0] == 200
    assert hub(emulator, ADMIN).list_tags_for_resource(ResourceArn=arn)["Tags"] == {}


def test_tags_of_another_accounts_or_regions_hub_are_not_found(emulator):
    emulator.enable_hub(ADMIN, REGION)
    emulator.enable_hub(MEMBER, REGION)
    emulator.enable_hub(ADMIN, "us-east-1")
    hub(emulator, MEMBER).tag_resource(ResourceArn=hub_arn(MEMBER), Tags={"Owner": "member"})
    admin = hub(emulator, ADMIN)

    for arn in (
        hub_arn(MEMBER),
        hub_arn(ADMIN, "us-east-1"),
        f"arn:aws:securityhub:{REGION}:{ADMIN}:hub/other",
        f"arn:aws:securityhub:{REGION}:{ADMIN}:automation-rule/0123",
    ):
        assert code_and_status(error_of(admin.tag_resource, ResourceArn=arn, Tags={"Owner": "admin"})) == (
            "ResourceNotFoundException",
            404,
        ), arn
        assert code_and_status(error_of(admin.list_tags_for_resource, ResourceArn=arn)) == (
            "ResourceNotFoundException",
            404,
        ), arn
        assert code_and_status(error_of(admin.untag_resource, ResourceArn=arn, TagKeys=["Owner"])) == (
            "ResourceNotFoundException",
            404,
        ), arn
    assert hub(emulator, MEMBER).list_tags_for_resource(ResourceArn=hub_arn(MEMBER))["Tags"] == {"Owner": "member"}
    assert emulator.state()[ADMIN][REGION]["tags"] == {}


def test_invalid_tags_and_arns_are_invalid_input(emulator):
    emulator.enable_hub(ADMIN, REGION)
    admin, arn = hub(emulator, ADMIN), hub_arn(ADMIN)
    refused = [
        (admin.tag_resource, {"ResourceArn": "arn:aws:s3:::bucket", "Tags": {"k": "v"}}),
        (admin.list_tags_for_resource, {"ResourceArn": "not-an-arn"}),
        (admin.tag_resource, {"ResourceArn": arn, "Tags": {"aws:reserved": "v"}}),
        (admin.tag_resource, {"ResourceArn": arn, "Tags": {"bad key!": "v"}}),
        (admin.tag_resource, {"ResourceArn": arn, "Tags": {"k": "v" * 257}}),
        (admin.tag_resource, {"ResourceArn": arn, "Tags": {f"k{i}": "v" for i in range(51)}}),
        (admin.untag_resource, {"ResourceArn": arn, "TagKeys": ["aws:reserved"]}),
    ]
    for call, kwargs in refused:
        assert code_and_status(error_of(call, **kwargs)) == ("InvalidInputException", 400), kwargs
    # At most 50 tags on the hub in all.
    admin.tag_resource(ResourceArn=arn, Tags={f"k{i}": "v" for i in range(50)})
    assert code_and_status(error_of(admin.tag_resource, ResourceArn=arn, Tags={"one-more": "v"})) == (
        "InvalidInputException",
        400,
    )
    assert len(admin.list_tags_for_resource(ResourceArn=arn)["Tags"]) == 50


def test_enable_security_hub_tags_land_in_the_hubs_tags(emulator):
    member = hub(emulator, MEMBER)
    member.enable_security_hub(EnableDefaultStandards=False, Tags={"StackId": "stack-1"})
    assert member.list_tags_for_resource(ResourceArn=hub_arn(MEMBER))["Tags"] == {"StackId": "stack-1"}
    assert emulator.state()[MEMBER][REGION]["tags"] == {"StackId": "stack-1"}
    # A second EnableSecurityHub conflicts and leaves the tags alone.
    assert code_and_status(error_of(member.enable_security_hub, Tags={"Other": "x"}))[0] == "ResourceConflictException"
    assert member.list_tags_for_resource(ResourceArn=hub_arn(MEMBER))["Tags"] == {"StackId": "stack-1"}


def test_disabling_the_hub_drops_its_tags_and_a_disabled_hub_has_none_to_tag(emulator):
    member = hub(emulator, MEMBER)
    member.enable_security_hub(Tags={"StackId": "stack-1"})
    member.tag_resource(ResourceArn=hub_arn(MEMBER), Tags={"Team": "security"})
    member.disable_security_hub()

    assert MEMBER not in emulator.state()  # no hub, no tags
    for call, kwargs in [
        (member.list_tags_for_resource, {}),
        (member.tag_resource, {"Tags": {"k": "v"}}),
        (member.untag_resource, {"TagKeys": ["Team"]}),
    ]:
        assert code_and_status(error_of(call, ResourceArn=hub_arn(MEMBER), **kwargs)) == (
            "ResourceNotFoundException",
            404,
        )
    member.enable_security_hub()
    assert member.list_tags_for_resource(ResourceArn=hub_arn(MEMBER))["Tags"] == {}


def test_reset_clears_hub_tags(emulator):
    hub(emulator, ADMIN).enable_security_hub(Tags={"StackId": "stack-1"})
    assert emulator.state()[ADMIN][REGION]["tags"] == {"StackId": "stack-1"}
    emulator.reset()
    assert emulator.state() == {}
    emulator.enable_hub(ADMIN, REGION)
    assert hub(emulator, ADMIN).list_tags_for_resource(ResourceArn=hub_arn(ADMIN))["Tags"] == {}


# --- Organizations and STS ------------------------------------------------------------------------


def test_created_account_is_in_progress_and_hidden_until_the_delay_passes_and_keeps_its_tags(emulator):
    emulator.create_organization()
    emulator.configure(create_account_delay_s=1.0)
    organizations = emulator.client("organizations")

    status = organizations.create_account(
        AccountName="new", Email="new@example.com", Tags=[{"Key": "StackId", "Value": "stack-1"}]
    )["CreateAccountStatus"]
    assert status["State"] == "IN_PROGRESS" and "AccountId" not in status
    described = organizations.describe_create_account_status(CreateAccountRequestId=status["Id"])
    assert described["CreateAccountStatus"]["State"] == "IN_PROGRESS"
    listed = organizations.list_create_account_status(States=["IN_PROGRESS"])["CreateAccountStatuses"]
    assert [s["Id"] for s in listed] == [status["Id"]]
    assert "new@example.com" not in [a["Email"] for a in organizations.list_accounts()["Accounts"]]

    def succeeded():
        current = organizations.describe_create_account_status(CreateAccountRequestId=status["Id"])
        return current["CreateAccountStatus"] if current["CreateAccountStatus"]["State"] == "SUCCEEDED" else None

    done = wait_until(succeeded, 5.0, 0.1, "CreateAccount succeeding")
    accounts = {a["Email"]: a["Id"] for a in organizations.list_accounts()["Accounts"]}
    assert accounts["new@example.com"] == done["AccountId"]
    assert organizations.list_tags_for_resource(ResourceId=done["AccountId"])["Tags"] == [
        {"Key": "StackId", "Value": "stack-1"}
    ]


def test_create_account_failures_end_failed_with_their_reason(emulator):
    emulator.create_organization()
    emulator.configure(create_account_failure="ACCOUNT_LIMIT_EXCEEDED")
    with pytest.raises(EmulatorError, match="ACCOUNT_LIMIT_EXCEEDED"):
        emulator.create_account("first", "first@example.com")
    emulator.create_account("second", "second@example.com")
    with pytest.raises(EmulatorError, match="EMAIL_ALREADY_EXISTS"):
        emulator.create_account("again", "second@example.com")


def test_create_account_beyond_the_concurrency_is_refused_until_a_creation_finished(emulator):
    emulator.create_organization()
    management_email = {a["Email"] for a in emulator.org_accounts()}
    assert emulator.config()["create_account_concurrency"] == 5
    emulator.configure(create_account_delay_s=1.5, create_account_concurrency=2)
    organizations = emulator.client("organizations", config=NO_RETRIES)

    def create(name):
        return organizations.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]

    def refused_create(name):
        refused = error_of(create, name)
        assert code_and_status(refused) == ("TooManyRequestsException", 400)
        assert refused.response["Error"]["Message"] == (
            "AWS Organizations can't complete your request because "
            "another request is already in progress. Try again later."
        )

    first = create("first")
    time.sleep(0.5)  # the second finishes 0.5 s after the first
    create("second")
    emulator.configure(create_account_failure="ACCOUNT_LIMIT_EXCEEDED")
    refused_create("third")
    assert emulator.config()["create_account_failure"] == "ACCOUNT_LIMIT_EXCEEDED", "left for the next creation"
    emulator.configure(create_account_failure=None)
    statuses = organizations.list_create_account_status()["CreateAccountStatuses"]
    assert sorted(s["AccountName"] for s in statuses) == ["first", "second"], "a refused call creates nothing"

    def finished():
        state = organizations.describe_create_account_status(CreateAccountRequestId=first["Id"])
        return state["CreateAccountStatus"]["State"] == "SUCCEEDED"

    wait_until(finished, 5.0, 0.05, "the first CreateAccount finishing")
    assert create("third")["State"] == "IN_PROGRESS", "one creation finished: one more may start"
    refused_create("fourth")  # the second and the third are in progress

    assert emulator.call_totals("organizations", operation="CreateAccount") == {"served": 3, "throttled": 2}
    assert [c["fault"] for c in emulator.aws_calls(operation="CreateAccount")] == [
        None,
        None,
        "service_throttled",
        None,
        "service_throttled",
    ]
    wait_until(
        lambda: not organizations.list_create_account_status(States=["IN_PROGRESS"])["CreateAccountStatuses"],
        5.0,
        0.1,
        "every CreateAccount finishing",
    )
    emails = sorted(a["Email"] for a in emulator.org_accounts() if a["Email"] not in management_email)
    assert emails == ["first@example.com", "second@example.com", "third@example.com"]
    assert len(organizations.list_create_account_status()["CreateAccountStatuses"]) == 3
    for bad in (0, -1, 1.5, True, "5"):
        with pytest.raises(EmulatorError, match="400"):
            emulator.configure(create_account_concurrency=bad)
    assert emulator.configure(create_account_concurrency=None)["create_account_concurrency"] is None


def create_status(organizations, request_id: str) -> dict:
    return organizations.describe_create_account_status(CreateAccountRequestId=request_id)["CreateAccountStatus"]


def test_a_repeat_of_a_create_account_in_progress_fails_with_concurrent_account_modification(emulator):
    emulator.create_organization()
    emulator.configure(create_account_delay_s=1.0)
    organizations = emulator.client("organizations", config=NO_RETRIES)

    def create(name, email):
        return organizations.create_account(AccountName=name, Email=email)["CreateAccountStatus"]["Id"]

    first = create("repeat", "repeat@example.com")
    repeated = create("repeat", "Repeat@Example.com")
    renamed = create("renamed", "repeat@example.com")
    assert len({first, repeated, renamed}) == 3, "each call has its own request id"
    assert create_status(organizations, repeated)["State"] == "IN_PROGRESS"

    def finished(request_id):
        return lambda: (status := create_status(organizations, request_id))["State"] != "IN_PROGRESS" and status

    assert wait_until(finished(first), 5.0, 0.1, "the first CreateAccount finishing")["State"] == "SUCCEEDED"
    failed = wait_until(finished(repeated), 5.0, 0.1, "the repeated CreateAccount finishing")
    assert (failed["State"], failed["FailureReason"]) == ("FAILED", "CONCURRENT_ACCOUNT_MODIFICATION")
    assert "AccountId" not in failed
    assert (
        wait_until(finished(renamed), 5.0, 0.1, "the renamed one finishing")["FailureReason"] == "EMAIL_ALREADY_EXISTS"
    )
    assert len(emulator.accounts_with_email("repeat@example.com")) == 1
    # Once the creation has finished, the same request meets the existing account.
    again = wait_until(finished(create("repeat", "repeat@example.com")), 5.0, 0.1, "the last one finishing")
    assert again["FailureReason"] == "EMAIL_ALREADY_EXISTS"


def test_close_account_is_pending_closure_then_suspended_and_a_second_close_is_refused(emulator):
    emulator.create_organization()
    account = emulator.create_account("closing", "closing@example.com")
    emulator.configure(close_account_delay_s=1.0)
    organizations = emulator.client("organizations", config=NO_RETRIES)

    def status():
        return organizations.describe_account(AccountId=account)["Account"]["Status"]

    organizations.close_account(AccountId=account)
    assert status() == "PENDING_CLOSURE"
    assert {a["Id"]: a["Status"] for a in emulator.org_accounts()}[account] == "PENDING_CLOSURE"
    conflict = error_of(organizations.close_account, AccountId=account)
    assert code_and_status(conflict) == ("ConflictException", 400)
    assert conflict.response["Error"]["Message"] == (
        "The request failed because it conflicts with the current state of the specified resource."
    )
    assert code_and_status(error_of(assume, emulator, account)) == ("AccessDenied", 403)

    wait_until(lambda: status() == "SUSPENDED", 5.0, 0.1, "the account suspended")
    closed = error_of(organizations.close_account, AccountId=account)
    assert code_and_status(closed) == ("AccountAlreadyClosedException", 400)
    assert closed.response["Error"]["Message"] == "You attempted to close an account that is already closed."


def test_closing_beyond_the_quota_is_a_constraint_violation_with_its_reason(emulator):
    emulator.create_organization()
    first = emulator.create_account("first", "first@example.com")
    second = emulator.create_account("second", "second@example.com")
    emulator.configure(close_account_quota=1)
    organizations = emulator.client("organizations", config=NO_RETRIES)

    organizations.close_account(AccountId=first)
    refused = error_of(organizations.close_account, AccountId=second)

    assert code_and_status(refused) == ("ConstraintViolationException", 400)
    assert refused.response["Reason"] == "CLOSE_ACCOUNT_QUOTA_EXCEEDED"
    assert refused.response["Error"]["Message"] == (
        "CLOSE_ACCOUNT_QUOTA_EXCEEDED: You have exceeded close account quota for the past 30 days."
    )
    assert organizations.describe_account(AccountId=second)["Account"]["Status"] == "ACTIVE"
    for bad in (-1, 1.5, True, "1"):
        with pytest.raises(EmulatorError, match="400"):
            emulator.configure(close_account_quota=bad)
    with pytest.raises(EmulatorError, match="400"):
        emulator.configure(close_account_delay_s=-1)
    # The count starts again with the emulator's state.
    emulator.reset()
    emulator.create_organization()
    emulator.configure(close_account_quota=1)
    organizations = emulator.client("organizations", config=NO_RETRIES)
    organizations.close_account(AccountId=emulator.create_account("third", "third@example.com"))


def test_move_account_list_parents_and_close_account(emulator):
    emulator.create_organization()
    organizations = emulator.client("organizations")
    root = organizations.list_roots()["Roots"][0]["Id"]
    unit = organizations.create_organizational_unit(ParentId=root, Name="workloads")["OrganizationalUnit"]["Id"]
    account = emulator.create_account("moved", "moved@example.com")

    organizations.move_account(AccountId=account, SourceParentId=root, DestinationParentId=unit)
    assert organizations.list_parents(ChildId=account)["Parents"] == [{"Id": unit, "Type": "ORGANIZATIONAL_UNIT"}]
    again = error_of(organizations.move_account, AccountId=account, SourceParentId=root, DestinationParentId=unit)
    assert code_and_status(again)[0] == "DuplicateAccountException"

    organizations.close_account(AccountId=account)
    assert organizations.describe_account(AccountId=account)["Account"]["Status"] == "SUSPENDED"
    refused = error_of(
        emulator.client("sts").assume_role,
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
        RoleSessionName="t1",
    )
    assert code_and_status(refused) == ("AccessDenied", 403)


def assume(emulator, account):
    return emulator.client("sts", config=NO_RETRIES).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="test"
    )


def test_assume_role_into_a_fresh_account_is_denied_until_its_role_is_ready(emulator):
    emulator.create_organization()
    emulator.configure(assume_role_denied_for_s=1.0)
    account = emulator.create_account("fresh", "fresh@example.com")

    assert code_and_status(error_of(assume, emulator, account)) == ("AccessDenied", 403)

    def assumed():
        try:
            return assume(emulator, account)["AssumedRoleUser"]
        except ClientError:
            return None

    wait_until(assumed, 5.0, 0.1, "AssumeRole allowed")


def test_assume_role_into_unassumable_accounts_is_always_denied(emulator):
    emulator.configure(unassumable_accounts=[MEMBER])
    assert code_and_status(error_of(assume, emulator, MEMBER)) == ("AccessDenied", 403)
    assert assume(emulator, ADMIN)["AssumedRoleUser"]["Arn"].startswith(f"arn:aws:sts::{ADMIN}:")


def test_an_account_with_only_control_towers_role_refuses_the_others(emulator):
    emulator.configure(account_roles={MEMBER: ["AWSControlTowerExecution"]})
    sts = emulator.client("sts", config=NO_RETRIES)

    def assume_named(role):
        return sts.assume_role(RoleArn=f"arn:aws:iam::{MEMBER}:role/{role}", RoleSessionName="provider")

    assert code_and_status(error_of(lambda: assume_named("OrganizationAccountAccessRole"))) == ("AccessDenied", 403)
    assert assume_named("AWSControlTowerExecution")["AssumedRoleUser"]["Arn"].startswith(f"arn:aws:sts::{MEMBER}:")
    # Other accounts, and the test support's own sessions of this one, are not affected.
    assert assume(emulator, ADMIN)["AssumedRoleUser"]["Arn"].startswith(f"arn:aws:sts::{ADMIN}:")
    assert emulator.client("sts", MEMBER).get_caller_identity()["Account"] == MEMBER


def test_disabled_regions_are_left_out_of_that_accounts_describe_regions(emulator):
    emulator.configure(disabled_regions={MEMBER: ["eu-west-1"]})

    def region_names(account, **kwargs):
        return {r["RegionName"] for r in emulator.client("ec2", account).describe_regions(**kwargs)["Regions"]}

    assert "eu-west-1" not in region_names(MEMBER)
    assert {"eu-west-1", "us-east-1"} <= region_names(ADMIN)
    assert "ap-east-1" not in region_names(ADMIN)  # opt-in region, not enabled
    every = emulator.client("ec2", MEMBER).describe_regions(AllRegions=True)["Regions"]
    assert {r["RegionName"]: r["OptInStatus"] for r in every}["eu-west-1"] == "not-opted-in"
    assert not any(r["RegionName"].startswith(("us-gov-", "cn-")) for r in every)


def test_list_regions_answers_what_describe_regions_does_for_each_account(emulator):
    emulator.configure(disabled_regions={MEMBER: ["eu-west-1"]})

    def listed(account, statuses=("ENABLED", "ENABLED_BY_DEFAULT")):
        pages = (
            emulator.client("account", account)
            .get_paginator("list_regions")
            .paginate(RegionOptStatusContains=list(statuses), PaginationConfig={"PageSize": 7})
        )
        return {r["RegionName"]: r["RegionOptStatus"] for page in pages for r in page["Regions"]}

    def described(account):
        return {r["RegionName"] for r in emulator.client("ec2", account).describe_regions()["Regions"]}

    for account in (ADMIN, MEMBER):
        assert set(listed(account)) == described(account), account
    assert "eu-west-1" not in listed(MEMBER)
    assert listed(MEMBER, ["DISABLED"])["eu-west-1"] == "DISABLED"
    assert listed(ADMIN)["us-east-1"] == "ENABLED_BY_DEFAULT"


# --- faults ---------------------------------------------------------------------------------------


def test_throttling_is_each_services_own_error(emulator):
    emulator.create_organization()
    emulator.enable_hub(ADMIN, REGION)
    emulator.session(ADMIN, REGION)  # assume the role before STS could be affected
    emulator.configure(throttle_fraction=1.0)

    throttled_hub = error_of(hub(emulator, ADMIN, config=NO_RETRIES).describe_hub)
    throttled_org = error_of(emulator.client("organizations", config=NO_RETRIES).list_accounts)

    assert code_and_status(throttled_hub) == ("LimitExceededException", 429)
    assert code_and_status(throttled_org) == ("TooManyRequestsException", 400)
    assert emulator.client("sts", config=NO_RETRIES).get_caller_identity()["Account"] == DEFAULT_ACCOUNT


def test_errors_are_500s_in_each_services_format(emulator):
    emulator.session(ADMIN, REGION)
    emulator.configure(error_fraction=1.0)
    expected = {
        "securityhub": ("InternalException", 500),
        "organizations": ("ServiceException", 500),
        "sts": ("InternalFailure", 500),
        "ec2": ("InternalError", 500),
    }
    calls = {
        "securityhub": lambda c: c.describe_hub(),
        "organizations": lambda c: c.list_accounts(),
        "sts": lambda c: c.get_caller_identity(),
        "ec2": lambda c: c.describe_regions(),
    }
    for service, call in calls.items():
        client = emulator.client(service, ADMIN, REGION, config=NO_RETRIES)
        assert code_and_status(error_of(call, client)) == expected[service], service


def test_error_fraction_with_a_seed_is_reproducible(emulator):
    emulator.enable_hub(ADMIN, REGION)
    client = hub(emulator, ADMIN, config=NO_RETRIES)

    def outcomes() -> list[bool]:
        emulator.configure(error_fraction=0.5, seed=42)
        results = []
        for _ in range(20):
            try:
                client.describe_hub()
                results.append(True)
            except ClientError:
                results.append(False)
        return results

    first, second = outcomes(), outcomes()
    assert first == second
    assert 0 < first.count(False) < 20


def test_reset_fraction_closes_connections_without_a_response(emulator):
    emulator.enable_hub(ADMIN, REGION)
    client = hub(emulator, ADMIN, config=NO_RETRIES)
    emulator.configure(reset_fraction=1.0)
    with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
        client.describe_hub()
    emulator.create_bucket("reset-fraction-spares-s3")  # S3 is not affected
    assert emulator.calls()[-2]["fault"] == "reset"


def test_latency_delays_every_request_and_concurrent_requests_overlap(emulator):
    emulator.enable_hub(ADMIN, REGION)
    client = hub(emulator, ADMIN)
    emulator.configure(latency_ms=300)

    started = time.monotonic()
    client.describe_hub()
    assert time.monotonic() - started >= 0.3

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: client.describe_hub(), range(8)))
    assert time.monotonic() - started < 1.5, "requests were served one after the other"


def test_a_new_account_needs_a_subscription_until_its_services_are_ready(emulator):
    emulator.create_organization()
    emulator.configure(new_account_not_ready_s=1.0)
    account = emulator.create_account("fresh", "fresh@example.com")
    emulator.enable_hub(account, REGION)
    emulator.enable_hub(ADMIN, REGION)
    new_hub = hub(emulator, account, config=NO_RETRIES)
    new_account = emulator.client("account", account, config=NO_RETRIES)

    for call in (new_hub.describe_hub, new_account.list_regions):
        refused = error_of(call)
        assert code_and_status(refused) == ("SubscriptionRequiredException", 400)
        assert refused.response["Error"]["Message"] == "The AWS Access Key Id needs a subscription for the service"
    assert [c["fault"] for c in emulator.aws_calls(service="securityhub", operation="DescribeHub")] == ["not_ready"]
    assert hub(emulator, ADMIN).describe_hub()["HubArn"], "other accounts are ready"

    def ready():
        try:
            return new_hub.describe_hub()["HubArn"]
        except ClientError as error:
            assert code_and_status(error)[0] == "SubscriptionRequiredException"
            return None

    wait_until(ready, 5.0, 0.1, "the new account's Security Hub ready")
    assert new_account.list_regions()["Regions"]


def iam_deny(account, operation, why, region=REGION) -> str:
    return (
        f"User: arn:aws:sts::{account}:assumed-role/OrganizationAccountAccessRole/session is not authorized to "
        f"perform: securityhub:{operation} on resource: arn:aws:securityhub:{region}:{account}:hub/default {why}"
    )


def test_access_denied_accounts_and_denied_regions_answer_iams_403_for_the_operation(emulator):
    emulator.enable_hub(ADMIN, REGION)
    emulator.enable_hub(MEMBER, REGION)
    emulator.configure(access_denied_accounts=[ADMIN], denied_regions={MEMBER: [REGION]})

    plain = error_of(hub(emulator, ADMIN, config=NO_RETRIES).list_members)
    assert code_and_status(plain) == ("AccessDeniedException", 403)
    assert plain.response["Error"]["Message"] == iam_deny(
        ADMIN, "ListMembers", "because no identity-based policy allows the securityhub:ListMembers action"
    )
    scp = error_of(hub(emulator, MEMBER, config=NO_RETRIES).describe_hub)
    assert code_and_status(scp) == ("AccessDeniedException", 403)
    assert scp.response["Error"]["Message"] == iam_deny(
        MEMBER, "DescribeHub", "with an explicit deny in a service control policy"
    )
    assert [c["fault"] for c in emulator.aws_calls(service="securityhub")] == ["access_denied", "denied_region"]
    assert hub(emulator, MEMBER, "us-east-1").enable_security_hub() is not None, "the SCP denies one region only"
    with pytest.raises(EmulatorError, match="400"):
        emulator.configure(access_denied_accounts=MEMBER)


def test_fail_regions_fails_one_account_in_one_region(emulator):
    for region in (REGION, "us-east-1"):
        emulator.enable_hub(ADMIN, region)
    emulator.enable_hub(MEMBER, REGION)
    emulator.configure(fail_regions={REGION: [ADMIN]})

    failed = error_of(hub(emulator, ADMIN, config=NO_RETRIES).describe_hub)
    assert code_and_status(failed) == ("InternalException", 500)
    assert hub(emulator, ADMIN, "us-east-1").describe_hub()["HubArn"]
    assert hub(emulator, MEMBER).describe_hub()["HubArn"]


def put(url: str, body: bytes) -> int:
    request = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": ""})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_response_put_failures_fail_the_next_uploads_before_storing(emulator):
    emulator.create_bucket("cfn-responses")
    url = emulator.presigned_put_url("cfn-responses", "stack/request-1")
    assert "X-Amz-Credential=" in url and "/cfn-responses/stack/request-1?" in url
    emulator.configure(response_put_failures=2)

    assert [put(url, b'{"Status": "SUCCESS"}') for _ in range(2)] == [500, 500]
    assert emulator.read_object("cfn-responses", "stack/request-1") is None
    assert put(url, b'{"Status": "SUCCESS"}') == 200
    assert emulator.read_object("cfn-responses", "stack/request-1") == b'{"Status": "SUCCESS"}'
    assert [c["fault"] for c in emulator.calls() if c["operation"] == "PutObject"] == [
        "put_failure",
        "put_failure",
        None,
    ]


# --- Lambda invocations ---------------------------------------------------------------------------


def lambda_function(emulator, name: str = "invoked") -> str:
    """A moto Lambda function (its code never runs); answers its ARN."""
    role = emulator.client("iam").create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    return emulator.client("lambda").create_function(
        FunctionName=name,
        Runtime="provided.al2023",
        Handler="bootstrap",
        Role=role,
        Code={"ZipFile": placeholder_code()},
        Timeout=30,
    )["FunctionArn"]


def answer_once(api: RuntimeApi, body: bytes) -> threading.Thread:
    """A runtime client in a thread: take one event, answer `body`."""

    def run():
        with urllib.request.urlopen(f"http://{api.address}/2018-06-01/runtime/invocation/next", timeout=10) as r:
            request_id = r.headers["Lambda-Runtime-Aws-Request-Id"]
        answer = urllib.request.Request(
            f"http://{api.address}/2018-06-01/runtime/invocation/{request_id}/response", data=body, method="POST"
        )
        urllib.request.urlopen(answer, timeout=10).close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_lambda_invocations_go_to_the_configured_invoke_api(emulator):
    with RuntimeApi() as api:
        emulator.configure(lambda_endpoint=api.invoke_url)
        arn = lambda_function(emulator)
        client = emulator.client("lambda", config=Config(read_timeout=20, retries={"total_max_attempts": 1}))
        thread = answer_once(api, b'{"answer":1}')
        reply = client.invoke(FunctionName=arn, Payload=b'{"n":1}')
        thread.join(10)
        assert reply["StatusCode"] == 200 and reply["Payload"].read() == b'{"answer":1}'
        assert client.invoke(FunctionName="invoked", InvocationType="Event", Payload=b'{"n":2}')["StatusCode"] == 202
        assert [(i.payload, i.function_arn) for i in api.invocations] == [(b'{"n":1}', arn), (b'{"n":2}', arn)]


def test_sns_delivers_to_a_subscribed_function_through_the_invoke_api(emulator):
    with RuntimeApi() as api:
        emulator.configure(lambda_endpoint=api.invoke_url)
        sns = emulator.client("sns")
        topic = sns.create_topic(Name="requests")["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=lambda_function(emulator))
        sns.publish(TopicArn=topic, Message='{"RequestType":"Create"}')
        [queued] = api.invocations
        [record] = json.loads(queued.payload)["Records"]
        assert record["EventSource"] == "aws:sns" and record["Sns"]["Message"] == '{"RequestType":"Create"}'


def test_lambda_endpoint_must_be_loopback(emulator):
    for bad in ("http://10.0.0.1:9000", "https://127.0.0.1:9000", "127.0.0.1:9000", 9000):
        with pytest.raises(EmulatorError, match="400"):
            emulator.configure(lambda_endpoint=bad)
    assert emulator.configure(lambda_endpoint=None)["lambda_endpoint"] is None


# --- stacks held in progress ---------------------------------------------------------------------

STACK_OWNER = "444455556666"
FIXED_STACK_ID = f"arn:aws:cloudformation:{REGION}:{STACK_OWNER}:stack/workload-q/8a209923-6348-11ef-8c72-90d6cbc4e397"


def stack_resource(emulator, stack_id: str, logical_id: str = "Member") -> dict:
    account, region = stack_id.split(":")[4], stack_id.split(":")[3]
    cloudformation = emulator.client("cloudformation", account, region)
    return cloudformation.describe_stack_resource(StackName=stack_id, LogicalResourceId=logical_id)[
        "StackResourceDetail"
    ]


def stack_status(emulator, stack_id: str) -> str:
    account, region = stack_id.split(":")[4], stack_id.split(":")[3]
    return emulator.client("cloudformation", account, region).describe_stacks(StackName=stack_id)["Stacks"][0][
        "StackStatus"
    ]


def test_a_held_stack_waits_in_create_in_progress_for_its_custom_resource(emulator):
    with RuntimeApi() as api:
        emulator.configure(lambda_endpoint=api.invoke_url)  # a held request must not reach it
        stack_id = emulator.hold_stack(STACK_OWNER, REGION)
        assert emulator.calls() == [], "holding makes no AWS call of its own"
        assert stack_id.startswith(f"arn:aws:cloudformation:{REGION}:{STACK_OWNER}:stack/")
        assert stack_status(emulator, stack_id) == "CREATE_IN_PROGRESS"
        detail = stack_resource(emulator, stack_id)
        assert detail["ResourceType"] == "Custom::SecurityHubMemberAccount"
        assert "PhysicalResourceId" not in detail, "no physical id before the Create is answered"
        held = emulator.held_stack(stack_id)
        assert held["requests"]["Member"]["RequestType"] == "Create"
        assert held["requests"]["Member"]["StackId"] == stack_id
        time.sleep(0.2)
        assert api.invocations == [] and stack_status(emulator, stack_id) == "CREATE_IN_PROGRESS"


def test_a_held_stack_gets_the_given_id_and_more_resources(emulator):
    assert emulator.hold_stack(STACK_OWNER, REGION, stack_id=FIXED_STACK_ID) == FIXED_STACK_ID
    assert (
        emulator.hold_stack(
            STACK_OWNER, REGION, "Second", "AWS::CloudFormation::CustomResource", stack_id=FIXED_STACK_ID
        )
        == FIXED_STACK_ID
    )
    assert emulator.hold_stack(STACK_OWNER, REGION, stack_id=FIXED_STACK_ID) == FIXED_STACK_ID  # again: no-op
    assert stack_resource(emulator, FIXED_STACK_ID)["ResourceType"] == "Custom::SecurityHubMemberAccount"
    assert stack_resource(emulator, FIXED_STACK_ID, "Second")["ResourceType"] == "AWS::CloudFormation::CustomResource"
    assert sorted(emulator.held_stack(FIXED_STACK_ID)["requests"]) == ["Member", "Second"]
    with pytest.raises(EmulatorError, match="400"):  # the same logical id as another type
        emulator.hold_stack(STACK_OWNER, REGION, "Member", "Custom::Other", stack_id=FIXED_STACK_ID)
    with pytest.raises(EmulatorError, match="400"):  # the id names another account
        emulator.hold_stack(DEFAULT_ACCOUNT, REGION, stack_id=FIXED_STACK_ID)


def test_a_resource_of_another_type_is_created_beside_a_held_one(emulator):
    stack_id = emulator.hold_stack(STACK_OWNER, REGION, "Member", "AWS::SNS::Topic")
    detail = stack_resource(emulator, stack_id)
    assert detail["ResourceType"] == "AWS::SNS::Topic"
    topics = emulator.client("sns", STACK_OWNER, REGION).list_topics()["Topics"]
    assert [t["TopicArn"] for t in topics] == [detail["PhysicalResourceId"]]
    assert stack_status(emulator, stack_id) == "CREATE_IN_PROGRESS"  # its held custom resource keeps it so


def test_set_stack_gives_the_status_and_physical_id_describe_answers(emulator):
    stack_id = emulator.hold_stack(STACK_OWNER, REGION)
    # The resource's own status is the one CloudFormation shows for it in the stack's (during a cleanup only a
    # replaced physical id is deleted: the resource itself is UPDATE_COMPLETE; docs/origin-statuses.md).
    for status, resource_status in (
        ("UPDATE_IN_PROGRESS", "UPDATE_IN_PROGRESS"),
        ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_COMPLETE"),
        ("DELETE_IN_PROGRESS", "DELETE_IN_PROGRESS"),
        ("CREATE_COMPLETE", "CREATE_COMPLETE"),
    ):
        held = emulator.set_stack(stack_id, status, {"Member": "111122223333"})
        assert held["status"] == status and held["resources"]["Member"]["physical_id"] == "111122223333"
        assert stack_status(emulator, stack_id) == status
        detail = stack_resource(emulator, stack_id)
        assert (detail["PhysicalResourceId"], detail["ResourceStatus"]) == ("111122223333", resource_status)
    # Deleted: DescribeStacks still answers by stack id, as CloudFormation does.
    emulator.set_stack(stack_id, "DELETE_COMPLETE")
    assert stack_status(emulator, stack_id) == "DELETE_COMPLETE"
    cloudformation = emulator.client("cloudformation", STACK_OWNER, REGION)
    assert stack_id not in [s["StackId"] for s in cloudformation.describe_stacks()["Stacks"]]


def test_missing_stacks_and_resources_are_validation_errors_that_say_does_not_exist(emulator):
    """What the provider recognises a missing stack or resource by."""
    stack_id = emulator.hold_stack(STACK_OWNER, REGION)
    cloudformation = emulator.client("cloudformation", STACK_OWNER, REGION)
    for call, kwargs in (
        (cloudformation.describe_stacks, {"StackName": FIXED_STACK_ID}),
        (cloudformation.describe_stack_resource, {"StackName": stack_id, "LogicalResourceId": "X"}),
        (cloudformation.describe_stack_resource, {"StackName": FIXED_STACK_ID, "LogicalResourceId": "Member"}),
    ):
        error = error_of(call, **kwargs)
        assert error.response["Error"]["Code"] == "ValidationError", error.response
        assert "does not exist" in error.response["Error"]["Message"], error.response
    # Another account's stacks are not this account's.
    error_of(emulator.client("cloudformation").describe_stacks, StackName=stack_id)


def test_held_stack_requests_are_checked(emulator):
    stack_id = emulator.hold_stack(STACK_OWNER, REGION)
    for bad in (
        {"account": "1234", "region": REGION},
        {"account": STACK_OWNER, "region": "nowhere"},
        {"account": STACK_OWNER, "region": REGION, "logical_id": "not alnum"},
        {"account": STACK_OWNER, "region": REGION, "resource_type": "Bogus"},
        {"account": STACK_OWNER, "region": REGION, "stack_id": "not-an-arn"},
        {"account": STACK_OWNER, "region": REGION, "colour": "blue"},
    ):
        with pytest.raises(EmulatorError, match="400"):
            emulator._control("POST", "stacks/hold", bad)
    with pytest.raises(EmulatorError, match="400"):
        emulator.set_stack(stack_id, "HALF_DONE")
    with pytest.raises(EmulatorError, match="400"):
        emulator.set_stack(stack_id, physical_ids={"Nothing": "1"})
    with pytest.raises(EmulatorError, match="404"):
        emulator.set_stack(FIXED_STACK_ID, "CREATE_COMPLETE")


def test_reset_drops_held_stacks(emulator):
    stack_id = emulator.hold_stack(STACK_OWNER, REGION)
    emulator.reset()
    with pytest.raises(EmulatorError, match="404"):
        emulator.held_stack(stack_id)
    assert emulator.hold_stack(STACK_OWNER, REGION, stack_id=stack_id) == stack_id
    assert emulator.held_stack(stack_id)["status"] == "CREATE_IN_PROGRESS"


# --- control API and call log ---------------------------------------------------------------------


def test_call_log_records_each_aws_request_with_its_outcome(emulator):
    emulator.enable_hub(ADMIN, REGION)
    hub(emulator, ADMIN).describe_hub()
    emulator.configure(throttle_fraction=1.0)
    error_of(hub(emulator, ADMIN, config=NO_RETRIES).list_members)

    logged = [
        (c["service"], c["operation"], c["account"], c["region"], c["status"], c["fault"]) for c in emulator.calls()
    ]
    assert logged[0] == ("sts", "AssumeRole", DEFAULT_ACCOUNT, "us-east-1", 200, None)
    assert logged[1:] == [
        ("securityhub", "DescribeHub", ADMIN, REGION, 200, None),
        ("securityhub", "ListMembers", ADMIN, REGION, 429, "throttle"),
    ]
    assert all(c["start"] <= c["end"] for c in emulator.calls())


def test_reset_clears_state_faults_and_the_call_log(emulator):
    emulator.enable_hub(ADMIN, REGION)
    emulator.configure(
        latency_ms=10,
        fail_regions={REGION: [ADMIN]},
        new_account_not_ready_s=5,
        access_denied_accounts=[ADMIN],
        close_account_delay_s=5,
        close_account_quota=0,
    )
    emulator.reset()
    assert emulator.state() == {} and emulator.calls() == []
    config = emulator.config()
    assert config["latency_ms"] == 0 and config["fail_regions"] == {}
    assert (
        config["new_account_not_ready_s"],
        config["access_denied_accounts"],
        config["close_account_delay_s"],
        config["close_account_quota"],
    ) == (0, [], 0, None)


def test_unknown_configuration_keys_are_refused(emulator):
    with pytest.raises(EmulatorError, match="400"):
        emulator.configure(no_such_setting=1)
    with pytest.raises(EmulatorError, match="400"):
        emulator.configure(throttle_fraction=2)


def test_motos_other_security_hub_operations_still_work(emulator):
    emulator.enable_hub(ADMIN, REGION)
    assert hub(emulator, ADMIN).get_findings()["Findings"] == []


# --- token buckets (emulator/throttle.py) ----------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_token_bucket_allows_its_burst_and_refills_continuously_up_to_the_burst():
    bucket = TokenBucket(rate=2.0, burst=3, now=0.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert not bucket.take(0.25), "half a token is not a token"
    assert bucket.take(0.5), "rate x elapsed: 2/s x 0.5 s = one token"
    assert not bucket.take(0.5)
    assert [bucket.take(100.0) for _ in range(4)] == [True, True, True, False], "capped at the burst"
    assert not bucket.take(99.0) and bucket.tokens == 0.0, "a clock going back adds nothing"


def test_the_rate_limiter_keeps_one_bucket_per_service_account_and_region_and_counts_per_operation():
    clock = FakeClock()
    limiter = RateLimiter(clock)
    limit = (1.0, 2)
    admitted = [
        limiter.admit("securityhub", ADMIN, REGION, op, limit) for op in ("GetMembers", "GetMembers", "InviteMembers")
    ]
    assert admitted == [True, True, False]
    assert limiter.admit("securityhub", MEMBER, REGION, "GetMembers", limit), "another account's bucket"
    assert limiter.admit("securityhub", ADMIN, "us-east-1", "GetMembers", limit), "another region's bucket"
    assert limiter.admit("organizations", ADMIN, REGION, "ListAccounts", limit), "another service's bucket"
    assert limiter.admit("securityhub", ADMIN, REGION, "GetMembers", None), "no bucket switched on: served"
    clock.now += 1.0
    assert limiter.admit("securityhub", ADMIN, REGION, "InviteMembers", limit), "refilled after 1 s at 1/s"
    assert limiter.admit("securityhub", ADMIN, REGION, "GetMembers", (1.0, 3)), "new settings: a new, full bucket"
    rows = {
        (r["service"], r["account"], r["region"], r["operation"]): (r["served"], r["throttled"])
        for r in limiter.snapshot()
    }
    assert rows == {
        ("organizations", ADMIN, REGION, "ListAccounts"): (1, 0),
        ("securityhub", ADMIN, REGION, "GetMembers"): (4, 0),
        ("securityhub", ADMIN, REGION, "InviteMembers"): (1, 1),
        ("securityhub", ADMIN, "us-east-1", "GetMembers"): (1, 0),
        ("securityhub", MEMBER, REGION, "GetMembers"): (1, 0),
    }
    limiter.reset()
    assert limiter.snapshot() == []


def test_token_buckets_are_off_by_default_and_every_call_is_counted_served(emulator):
    emulator.enable_hub(ADMIN, REGION)
    client = hub(emulator, ADMIN, config=NO_RETRIES)
    config = emulator.config()
    assert config["token_buckets"] == []
    assert (config["securityhub_rate_per_s"], config["securityhub_burst"]) == (10.0, 30)
    for _ in range(40):  # more than a default burst, at once
        client.describe_hub()
    assert emulator.call_counts("securityhub") == [
        {
            "service": "securityhub",
            "account": ADMIN,
            "region": REGION,
            "operation": "DescribeHub",
            "served": 40,
            "throttled": 0,
        }
    ]


def test_the_security_hub_bucket_serves_its_burst_then_answers_429_until_it_refills(emulator):
    emulator.enable_hub(ADMIN, REGION)
    client = hub(emulator, ADMIN, config=NO_RETRIES)
    emulator.configure(token_buckets=["securityhub"], securityhub_rate_per_s=1, securityhub_burst=5)

    for _ in range(5):
        client.list_members()  # one of the project's membership operations
    started = time.monotonic()
    throttled = error_of(client.get_findings)  # one of moto's own: the same bucket
    assert time.monotonic() - started < 0.5, "too slow to be sure the bucket had not refilled"
    assert code_and_status(throttled) == ("LimitExceededException", 429)
    assert throttled.response["Error"]["Message"] == "Rate exceeded"
    assert throttled.response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == "LimitExceededException"

    time.sleep(1.1)  # 1 token per second
    client.list_members()
    assert code_and_status(error_of(client.list_members)) == ("LimitExceededException", 429)

    assert emulator.call_totals("securityhub", ADMIN, REGION) == {"served": 6, "throttled": 2}
    assert emulator.call_totals(operation="GetFindings") == {"served": 0, "throttled": 1}
    assert [c["fault"] for c in emulator.aws_calls(service="securityhub")][-3:] == [
        "rate_limited",
        None,
        "rate_limited",
    ]


def test_each_account_and_each_region_has_its_own_security_hub_bucket(emulator):
    for account, region in ((ADMIN, REGION), (MEMBER, REGION), (ADMIN, "us-east-1")):
        emulator.enable_hub(account, region)
    clients = {
        (ADMIN, REGION): hub(emulator, ADMIN, config=NO_RETRIES),
        (MEMBER, REGION): hub(emulator, MEMBER, config=NO_RETRIES),
        (ADMIN, "us-east-1"): hub(emulator, ADMIN, "us-east-1", config=NO_RETRIES),
    }
    # Rate 0: no refill at all, so the outcome cannot depend on timing.
    emulator.configure(token_buckets=["securityhub"], securityhub_rate_per_s=0, securityhub_burst=2)

    for client in clients.values():
        client.describe_hub()
        client.describe_hub()
    for client in clients.values():
        assert code_and_status(error_of(client.describe_hub)) == ("LimitExceededException", 429)

    for account, region in clients:
        assert emulator.call_counts("securityhub", account, region) == [
            {
                "service": "securityhub",
                "account": account,
                "region": region,
                "operation": "DescribeHub",
                "served": 2,
                "throttled": 1,
            }
        ]


def test_organizations_and_sts_buckets_answer_their_own_throttling_errors(emulator):
    emulator.create_organization()
    organizations = emulator.client("organizations", config=NO_RETRIES)
    sts = emulator.client("sts", config=NO_RETRIES)
    emulator.configure(
        token_buckets=["organizations", "sts"],
        organizations_rate_per_s=0,
        organizations_burst=1,
        sts_rate_per_s=0,
        sts_burst=1,
    )

    organizations.list_accounts()
    assert code_and_status(error_of(organizations.list_accounts)) == ("TooManyRequestsException", 400)
    sts.get_caller_identity()
    throttled = error_of(sts.get_caller_identity)
    assert code_and_status(throttled) == ("Throttling", 400)
    assert throttled.response["Error"]["Message"] == "Rate exceeded"
    assert emulator.call_totals("organizations", DEFAULT_ACCOUNT, operation="ListAccounts") == {
        "served": 1,
        "throttled": 1,
    }
    assert emulator.call_totals("sts", DEFAULT_ACCOUNT, "us-east-1") == {"served": 1, "throttled": 1}


def test_the_random_fraction_still_throttles_beside_the_buckets_and_takes_no_token(emulator):
    emulator.enable_hub(ADMIN, REGION)
    client = hub(emulator, ADMIN, config=NO_RETRIES)
    emulator.configure(
        token_buckets=["securityhub"], securityhub_rate_per_s=0, securityhub_burst=1, throttle_fraction=1.0
    )
    assert code_and_status(error_of(client.describe_hub)) == ("LimitExceededException", 429)
    assert emulator.aws_calls(service="securityhub")[-1]["fault"] == "throttle"
    emulator.configure(throttle_fraction=0)
    client.describe_hub()  # the one token is still there
    assert emulator.call_totals("securityhub") == {"served": 1, "throttled": 0}


def test_reset_clears_buckets_and_counts_and_bad_bucket_settings_are_refused(emulator):
    emulator.enable_hub(ADMIN, REGION)
    hub(emulator, ADMIN).describe_hub()
    emulator.configure(token_buckets=["securityhub"], securityhub_burst=1)
    emulator.reset()
    assert emulator.call_counts() == [] and emulator.config()["token_buckets"] == []
    for bad in (
        {"token_buckets": ["ec2"]},
        {"token_buckets": "securityhub"},
        {"securityhub_burst": 0},
        {"securityhub_burst": 1.5},
        {"sts_rate_per_s": -1},
    ):
        with pytest.raises(EmulatorError, match="400"):
            emulator.configure(**bad)
