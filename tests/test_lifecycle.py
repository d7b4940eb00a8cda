"""End-to-end tests of the enrollment engine: Create, Update and Delete of `Custom::SecurityHubMemberAccount`
against the AWS emulator, through the real `bootstrap` binary (docs/design.md: Properties, Attributes, Physical
resource id, Create, Update, Delete).

Every test checks the emulator's state afterwards: the member's status as the administrator sees it in each
region, the member's administrator, its hub, and the organization's accounts.

The administrator is usually 123456789012, the provider's own account (no administrator role assumed); a
second administrator (ADMIN2) is entered through AssumeRole, as is every member account.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest

from harness.assertions import assert_enrolled, assert_not_member, enabled_member_regions, hub, ok
from harness.constants import ACCOUNT_ID, ADMIN, ADMIN2, LOGICAL_ID_TAG, MEMBER, OTHER, R1, R2, R3, STACK_TAG
from harness.scenario import enable_hubs, props
from harness.wait import wait_until

THREE = [R1, R2, R3]

# Security Hub operations that change something; an update that changes nothing must make none of them.
SECURITY_HUB_WRITES = {
    "EnableSecurityHub",
    "DisableSecurityHub",
    "CreateMembers",
    "InviteMembers",
    "AcceptAdministratorInvitation",
    "AcceptInvitation",
    "DisassociateMembers",
    "DeleteMembers",
    "DisassociateFromAdministratorAccount",
    "DisassociateFromMasterAccount",
    "DeclineInvitations",
    "DeleteInvitations",
}


# --- helpers ------------------------------------------------------------------------------------------------


def new_account_props(name: str = "Security Sandbox", email: str = "sandbox@example.com", **overrides) -> dict:
    return props(AccountId=None, AccountName=name, Email=email, **overrides)


def organizations(emulator):
    return emulator.client("organizations")


def account_tags(emulator, account: str) -> dict[str, str]:
    tags = organizations(emulator).list_tags_for_resource(ResourceId=account)["Tags"]
    return {tag["Key"]: tag["Value"] for tag in tags}


def account_status(emulator, account: str) -> str:
    return organizations(emulator).describe_account(AccountId=account)["Account"]["Status"]


def leave_directly(emulator, member: str, region: str) -> None:
    emulator.client("securityhub", member, region).disassociate_from_administrator_account()


# --- Create: a new account -------------------------------------------------------------------------------------


def test_create_new_account_tags_it_and_enrolls_it(emulator, cfn):
    emulator.create_organization()
    emulator.configure(create_account_delay_s=3)
    enable_hubs(emulator, ADMIN, [R1, R2])
    started = time.monotonic()
    resp = ok(cfn.create(new_account_props()))
    assert time.monotonic() - started >= 3, "the account cannot be ready before its creation finished"

    account = resp.physical_id
    assert ACCOUNT_ID.match(account), resp.describe()
    assert resp.data == {
        "AccountId": account,
        "AdministratorAccountId": ADMIN,
        "Regions": f"{R2},{R1}",
        "AccountCreated": "true",
    }
    [created] = emulator.accounts_with_email("sandbox@example.com")
    assert created["Id"] == account and created["Name"] == "Security Sandbox" and created["Status"] == "ACTIVE"
    tags = account_tags(emulator, account)
    assert tags.get(STACK_TAG) == cfn.stack_id and tags.get(LOGICAL_ID_TAG) == "Member", tags
    assert_enrolled(emulator, ADMIN, account, [R1, R2])
    assert enabled_member_regions(emulator, ADMIN, account) == [R2, R1]
    # The email is given to CreateMembers when known.
    admin_hub = emulator.client("securityhub", ADMIN, R1)
    [seen] = admin_hub.get_members(AccountIds=[account])["Members"]
    assert seen.get("Email") == "sandbox@example.com", seen


def test_create_moves_new_account_to_parent_ou(emulator, cfn):
    emulator.create_organization()
    org = organizations(emulator)
    root = org.list_roots()["Roots"][0]["Id"]
    ou = org.create_organizational_unit(ParentId=root, Name="Security")["OrganizationalUnit"]["Id"]
    enable_hubs(emulator, ADMIN, [R1])
    resp = ok(cfn.create(new_account_props(ParentId=ou, Regions=R1)))
    account = resp.physical_id
    assert [p["Id"] for p in org.list_parents(ChildId=account)["Parents"]] == [ou]
    assert len(emulator.accounts_with_email("sandbox@example.com")) == 1
    assert_enrolled(emulator, ADMIN, account, [R1])


def test_create_into_a_missing_parent_answers_the_new_account_id(emulator, cfn):
    """The account exists once CreateAccount succeeded: a failed move still answers its id, so that the
    rollback's Delete finds it (and closes it when asked)."""
    emulator.create_organization()
    root = organizations(emulator).list_roots()["Roots"][0]["Id"]
    missing_ou = f"ou-{root[2:]}-nosuchou1"
    enable_hubs(emulator, ADMIN, [R1])
    p = new_account_props(ParentId=missing_ou, Regions=R1, CloseAccountOnDelete=True)
    resp = ok(cfn.create(p), "FAILED")
    assert "ParentId" in resp.reason, resp.reason
    [created] = emulator.accounts_with_email("sandbox@example.com")
    assert resp.physical_id == created["Id"], resp.describe()
    ok(cfn.delete(p, resp.physical_id))
    assert account_status(emulator, created["Id"]) != "ACTIVE"


def test_retried_create_finds_its_own_account(emulator, cfn):
    """Lambda retries an asynchronous invocation with the same event: one account, the same answer."""
    emulator.create_organization()
    emulator.configure(create_account_delay_s=1)
    enable_hubs(emulator, ADMIN, [R1, R2])
    event, key = cfn.event("Create", new_account_props())
    first = ok(cfn.send(event, key=key))
    second = ok(cfn.send(event, key=key))
    assert first.physical_id == second.physical_id
    assert first.data == second.data
    assert len(emulator.accounts_with_email("sandbox@example.com")) == 1
    assert len(emulator.aws_calls(operation="CreateAccount")) == 1
    assert_enrolled(emulator, ADMIN, first.physical_id, [R1, R2])


def test_retried_create_while_the_first_waits_on_creation(emulator, cfn, provider_factory):
    """A second process gets the same event while the first still waits for CreateAccount: it waits for the
    same creation instead of starting another."""
    emulator.create_organization()
    emulator.configure(create_account_delay_s=3)
    enable_hubs(emulator, ADMIN, [R1, R2])
    second = provider_factory()
    event, key = cfn.event("Create", new_account_props())
    retry_url, retry_key = cfn.response_url()
    retry = dict(event, ResponseURL=retry_url)  # the same request; only where the answer goes differs

    cfn.hold(event)
    first_id = cfn.runtime_api.invoke(event)
    org = organizations(emulator)
    wait_until(
        lambda: org.list_create_account_status(States=["IN_PROGRESS"])["CreateAccountStatuses"],
        timeout=10,
        message="CreateAccount in progress",
    )
    retried = ok(second.cfn.send(retry, key=retry_key))
    cfn.runtime_api.wait_result(first_id, 60)
    first_raw = cfn.read_response(key)
    assert first_raw is not None, cfn.provider.tail()
    first = json.loads(first_raw)
    assert first["Status"] == "SUCCESS", first
    assert first["PhysicalResourceId"] == retried.physical_id
    assert first["Data"] == retried.data
    assert len(emulator.accounts_with_email("sandbox@example.com")) == 1
    assert len(emulator.aws_calls(operation="CreateAccount")) == 1
    assert_enrolled(emulator, ADMIN, retried.physical_id, [R1, R2])


def test_create_while_another_resource_creates_an_account_of_the_same_name(emulator, cfn):
    """Account names need not be unique: another stack's creation in progress under the same name (another
    email) is not this resource's, so this resource creates its own account."""
    emulator.create_organization()
    emulator.configure(create_account_delay_s=3)
    enable_hubs(emulator, ADMIN, [R1])
    other_stack = cfn.stack_id.rsplit("/", 1)[0] + f"/{uuid.uuid4()}"
    organizations(emulator).create_account(
        AccountName="Security Sandbox",
        Email="other-sandbox@example.com",
        Tags=[{"Key": STACK_TAG, "Value": other_stack}, {"Key": LOGICAL_ID_TAG, "Value": "Member"}],
    )
    resp = ok(cfn.create(new_account_props(Regions=R1)))
    [mine] = emulator.accounts_with_email("sandbox@example.com")
    [theirs] = emulator.accounts_with_email("other-sandbox@example.com")
    assert resp.physical_id == mine["Id"] != theirs["Id"]
    assert account_tags(emulator, mine["Id"]).get(STACK_TAG) == cfn.stack_id
    assert_enrolled(emulator, ADMIN, mine["Id"], [R1])
    assert_not_member(emulator, ADMIN, theirs["Id"], [R1])


def test_create_with_email_of_a_foreign_account_fails_naming_it(emulator, cfn):
    emulator.create_organization()
    foreign = emulator.create_account("Someone Else", "sandbox@example.com")
    enable_hubs(emulator, ADMIN, [R1, R2])
    since = emulator.last_seq()
    resp = ok(cfn.create(new_account_props()), "FAILED")
    assert foreign in resp.reason and "AccountId" in resp.reason, resp.reason
    assert not ACCOUNT_ID.match(resp.physical_id), resp.describe()
    assert len(emulator.accounts_with_email("sandbox@example.com")) == 1
    assert not emulator.aws_calls(since, operation="CreateAccount")
    assert_not_member(emulator, ADMIN, foreign, [R1, R2])
    # The rollback's Delete is recognised and answered with no AWS call.
    since = emulator.last_seq()
    ok(cfn.delete(new_account_props(), resp.physical_id))
    assert emulator.aws_calls(since) == []


def test_create_account_failure_gives_its_reason(emulator, cfn):
    emulator.create_organization()
    emulator.configure(create_account_failure="ACCOUNT_LIMIT_EXCEEDED")
    enable_hubs(emulator, ADMIN, [R1])
    resp = ok(cfn.create(new_account_props(Regions=R1)), "FAILED")
    assert "ACCOUNT_LIMIT_EXCEEDED" in resp.reason, resp.reason
    assert not ACCOUNT_ID.match(resp.physical_id), resp.describe()
    assert [a["Id"] for a in emulator.org_accounts()] == [ADMIN]
    # Rollback: the Delete of an id that is not an account makes no AWS call.
    since = emulator.last_seq()
    ok(cfn.delete(new_account_props(Regions=R1), resp.physical_id))
    assert emulator.aws_calls(since) == []


def test_new_account_whose_role_is_not_assumable_yet_still_succeeds(emulator, cfn):
    emulator.create_organization()
    emulator.configure(assume_role_denied_for_s=3)
    enable_hubs(emulator, ADMIN, [R1, R2])
    resp = ok(cfn.create(new_account_props()))
    account = resp.physical_id
    refused = [c for c in emulator.aws_calls(operation="AssumeRole") if c["status"] == 403]
    assert refused, "the emulator should have refused the new account's role at first"
    assert_enrolled(emulator, ADMIN, account, [R1, R2])
    assert resp.data["AccountCreated"] == "true"


# --- Create: an existing account ------------------------------------------------------------------------------


def test_enroll_existing_account_in_explicit_regions(emulator, cfn):
    enable_hubs(emulator, ADMIN, THREE)
    resp = ok(cfn.create(props(Regions=[R1, R2], EnableDefaultStandards=False)))
    assert resp.physical_id == MEMBER
    assert resp.data == {
        "AccountId": MEMBER,
        "AdministratorAccountId": ADMIN,
        "Regions": f"{R2},{R1}",
        "AccountCreated": "false",
    }
    assert_enrolled(emulator, ADMIN, MEMBER, [R1, R2])
    state = emulator.state()
    assert hub(state, MEMBER, R1)["enable_default_standards"] is False
    # Only the regions asked for.
    assert not hub(state, MEMBER, R3).get("enabled")
    assert MEMBER not in hub(state, ADMIN, R3).get("members", {})


def test_member_already_enabled_with_this_administrator_is_fine(emulator, cfn):
    enable_hubs(emulator, ADMIN, [R1, R2])
    emulator.join_by_invitation(ADMIN, MEMBER, R1)
    resp = ok(cfn.create(props()))
    assert resp.data["Regions"] == f"{R2},{R1}"
    assert_enrolled(emulator, ADMIN, MEMBER, [R1, R2])


def test_member_hub_already_enabled_is_fine(emulator, cfn):
    enable_hubs(emulator, ADMIN, [R1, R2])
    enable_hubs(emulator, MEMBER, [R1, R2])
    resp = ok(cfn.create(props()))
    assert resp.data["Regions"] == f"{R2},{R1}"
    assert_enrolled(emulator, ADMIN, MEMBER, [R1, R2])


def test_member_of_another_administrator_is_left_there(emulator, cfn):
    enable_hubs(emulator, ADMIN, [R1, R2])
    emulator.join_by_invitation(ADMIN2, MEMBER, R1)
    resp = ok(cfn.create(props()), "FAILED")
    assert ADMIN2 in resp.reason and R1 in resp.reason, resp.reason
    assert R2 + ":" not in resp.reason, resp.reason  # only the failing region is named as failed
    assert resp.physical_id == MEMBER  # the account is known: the rollback's Delete cleans up
    state = emulator.state()
    assert hub(state, MEMBER, R1)["administrator"] == ADMIN2
    assert hub(state, ADMIN2, R1)["members"][MEMBER] == "Enabled"
    assert_enrolled(emulator, ADMIN, MEMBER, [R2])
    # The rollback's Delete cleans this administrator's side and leaves the other administrator's member alone.
    ok(cfn.delete(props(), resp.physical_id))
    state = emulator.state()
    assert hub(state, MEMBER, R1)["administrator"] == ADMIN2
    assert hub(state, ADMIN2, R1)["members"][MEMBER] == "Enabled"
    assert_not_member(emulator, ADMIN, MEMBER, [R1, R2])


def test_accepts_the_invitation_of_its_own_administrator_not_the_first(emulator, cfn):
    """An older, pending invitation from another administrator is neither accepted nor disturbed."""
    enable_hubs(emulator, ADMIN, [R1])
    emulator.enable_hub(ADMIN2, R1)
    emulator.enable_hub(MEMBER, R1)
    other = emulator.client("securityhub", ADMIN2, R1)
    other.create_members(AccountDetails=[{"AccountId": MEMBER}])
    other.invite_members(AccountIds=[MEMBER])
    ok(cfn.create(props(Regions=R1)))
    assert_enrolled(emulator, ADMIN, MEMBER, [R1])
    state = emulator.state()
    assert hub(state, ADMIN2, R1)["members"][MEMBER] == "Invited"
    assert [i["administrator"] for i in hub(state, MEMBER, R1)["invitations"]] == [ADMIN2]


def test_discovered_regions_are_where_the_administrator_hub_is(emulator, cfn):
    enable_hubs(emulator, ADMIN, THREE)
    resp = ok(cfn.create(props(Regions=None)))
    assert resp.data["Regions"] == ",".join(sorted(THREE))
    assert enabled_member_regions(emulator, ADMIN, MEMBER) == sorted(THREE)
    assert_enrolled(emulator, ADMIN, MEMBER, THREE)
    # Nothing enabled in the member outside those regions.
    assert sorted(r for r, v in emulator.state()[MEMBER].items() if v.get("enabled")) == sorted(THREE)


def test_discovered_regions_leave_out_regions_disabled_in_the_member(emulator, cfn):
    enable_hubs(emulator, ADMIN, THREE)
    emulator.configure(disabled_regions={MEMBER: [R2]})
    resp = ok(cfn.create(props(Regions=None)))
    assert resp.data["Regions"] == f"{R3},{R1}"
    assert enabled_member_regions(emulator, ADMIN, MEMBER) == [R3, R1]
    assert not hub(emulator.state(), MEMBER, R2).get("enabled")


@pytest.mark.parametrize(
    "admin_regions,disabled,whose",
    [([R1, R2], {MEMBER: [R2]}, "member"), ([R1], {}, "administrator")],
    ids=["disabled-in-the-member", "without-the-administrator-hub"],
)
def test_explicit_region_unusable_fails_naming_it(emulator, cfn, admin_regions, disabled, whose):
    """R2 is disabled in the member, or the administrator has no hub there: FAILED naming R2 and whose side."""
    enable_hubs(emulator, ADMIN, admin_regions)
    emulator.configure(disabled_regions=disabled)
    resp = ok(cfn.create(props()), "FAILED")
    assert R2 in resp.reason and whose in resp.reason, resp.reason
    assert R1 not in resp.reason, resp.reason
    # Checked before anything changed.
    assert_not_member(emulator, ADMIN, MEMBER, [R1, R2])
    assert not hub(emulator.state(), MEMBER, R1).get("enabled")
    ok(cfn.delete(props(), resp.physical_id))  # the rollback
    assert_not_member(emulator, ADMIN, MEMBER, [R1, R2])


def test_organization_member_under_auto_enabling_administrator(emulator, cfn):
    emulator.create_organization()
    member = emulator.create_account("Workload", "workload@example.com")
    emulator.configure(auto_enable_org_members=[ADMIN])
    enable_hubs(emulator, ADMIN, [R1, R2])
    since = emulator.last_seq()
    resp = ok(cfn.create(props(AccountId=member)))
    assert resp.physical_id == member and resp.data["Regions"] == f"{R2},{R1}"
    assert_enrolled(emulator, ADMIN, member, [R1, R2])
    # CreateMembers made it Enabled: nothing was accepted (InviteMembers runs beside EnableSecurityHub, before the
    # member's own view says so, and is refused for an Enabled member), and no invitation is left pending.
    assert not emulator.aws_calls(since, operation="AcceptAdministratorInvitation")
    assert all(not hub(emulator.state(), member, region).get("invitations") for region in (R1, R2))
    # And it leaves again on Delete.
    ok(cfn.delete(props(AccountId=member), member))
    assert_not_member(emulator, ADMIN, member, [R1, R2])


def test_close_account_on_delete_with_account_id_is_a_property_error(emulator, cfn):
    enable_hubs(emulator, ADMIN, [R1, R2])
    since = emulator.last_seq()
    resp = ok(cfn.create(props(CloseAccountOnDelete=True)), "FAILED")
    assert "CloseAccountOnDelete" in resp.reason, resp.reason
    assert not ACCOUNT_ID.match(resp.physical_id), resp.describe()
    assert emulator.aws_calls(since) == []
    assert_not_member(emulator, ADMIN, MEMBER, [R1, R2])


# --- Update ----------------------------------------------------------------------------------------------------


def test_update_adds_and_removes_regions(emulator, cfn):
    enable_hubs(emulator, ADMIN, THREE)
    old = props()
    ok(cfn.create(old))

    added = props(Regions=THREE)
    resp = ok(cfn.update(added, old, MEMBER))
    assert resp.physical_id == MEMBER and resp.data["Regions"] == ",".join(sorted(THREE))
    assert_enrolled(emulator, ADMIN, MEMBER, THREE)

    dropped = props(Regions=[R2, R3])
    resp = ok(cfn.update(dropped, added, MEMBER))
    assert resp.physical_id == MEMBER and resp.data["Regions"] == f"{R3},{R2}"
    assert_enrolled(emulator, ADMIN, MEMBER, [R2, R3])
    assert_not_member(emulator, ADMIN, MEMBER, [R1])
    state = emulator.state()
    assert hub(state, MEMBER, R1)["administrator"] is None
    assert hub(state, MEMBER, R1)["enabled"], "OnDelete Disassociate keeps the member's hub"
    # The same Update again (Lambda's retry) finds the work done.
    again = ok(cfn.update(dropped, added, MEMBER))
    assert again.physical_id == MEMBER and again.data == resp.data
    assert_enrolled(emulator, ADMIN, MEMBER, [R2, R3])
    assert_not_member(emulator, ADMIN, MEMBER, [R1])


def test_update_from_discovered_to_explicit_regions_removes_the_others(emulator, cfn):
    """The resource covered the discovered regions; listing fewer drops the rest."""
    enable_hubs(emulator, ADMIN, THREE)
    old = props(Regions=None)
    ok(cfn.create(old))
    assert enabled_member_regions(emulator, ADMIN, MEMBER) == sorted(THREE)
    new = props(Regions=R1)
    resp = ok(cfn.update(new, old, MEMBER))
    assert resp.data["Regions"] == R1
    assert_enrolled(emulator, ADMIN, MEMBER, [R1])
    assert_not_member(emulator, ADMIN, MEMBER, [R2, R3])


@pytest.mark.parametrize("regions", [f"{R1},{R2}", None], ids=["explicit", "discovered"])
def test_update_administrator_change(emulator, cfn, regions):
    enable_hubs(emulator, ADMIN, [R1, R2])
    enable_hubs(emulator, ADMIN2, [R1, R2])
    old = props(Regions=regions)
    ok(cfn.create(old))
    assert_enrolled(emulator, ADMIN, MEMBER, [R1, R2])

    new = props(Regions=regions, AdministratorAccountId=ADMIN2)
    resp = ok(cfn.update(new, old, MEMBER))
    assert resp.physical_id == MEMBER
    assert resp.data["AdministratorAccountId"] == ADMIN2 and resp.data["Regions"] == f"{R2},{R1}"
    assert_enrolled(emulator, ADMIN2, MEMBER, [R1, R2])
    state = emulator.state()
    assert not any(MEMBER in view.get("members", {}) for view in state.get(ADMIN, {}).values()), state[ADMIN]


def test_update_account_id_change_enrolls_the_new_one_and_delete_removes_the_old(emulator, cfn):
    enable_hubs(emulator, ADMIN, [R1, R2])
    old = props()
    ok(cfn.create(old))
    new = props(AccountId=OTHER)
    resp = ok(cfn.update(new, old, MEMBER))
    assert resp.physical_id == OTHER and resp.data["AccountId"] == OTHER
    assert_enrolled(emulator, ADMIN, OTHER, [R1, R2])
    assert_enrolled(emulator, ADMIN, MEMBER, [R1, R2])  # untouched until CloudFormation deletes it
    # CloudFormation's cleanup: Delete of the old id with the old properties.
    ok(cfn.delete(old, MEMBER))
    assert_not_member(emulator, ADMIN, MEMBER, [R1, R2])
    assert_enrolled(emulator, ADMIN, OTHER, [R1, R2])


def test_failed_update_changes_nothing_and_its_rollback_succeeds(emulator, cfn):
    """A new administrator without a hub in one region: FAILED naming it, the member stays with the old
    administrator; CloudFormation's rollback (an Update back to the old properties) succeeds."""
    enable_hubs(emulator, ADMIN, [R1, R2])
    enable_hubs(emulator, ADMIN2, [R1])
    old = props()
    ok(cfn.create(old))
    new = props(AdministratorAccountId=ADMIN2)
    failed = ok(cfn.update(new, old, MEMBER), "FAILED")
    assert R2 in failed.reason, failed.reason
    assert failed.physical_id == MEMBER
    assert_enrolled(emulator, ADMIN, MEMBER, [R1, R2])
    assert_not_member(emulator, ADMIN2, MEMBER, [R1, R2])
    rollback = ok(cfn.update(old, new, MEMBER))
    assert rollback.physical_id == MEMBER and rollback.data["AdministratorAccountId"] == ADMIN
    assert_enrolled(emulator, ADMIN, MEMBER, [R1, R2])
    assert_not_member(emulator, ADMIN2, MEMBER, [R1, R2])


@pytest.mark.parametrize(
    "change", [{"AccountName": "Renamed"}, {"Email": "renamed@example.com"}], ids=["AccountName", "Email"]
)
def test_update_of_a_created_account_name_or_email_fails(emulator, cfn, change):
    emulator.create_organization()
    enable_hubs(emulator, ADMIN, [R1])
    old = new_account_props(Regions=R1)
    created = ok(cfn.create(old))
    account = created.physical_id
    since = emulator.last_seq()
    resp = ok(cfn.update(dict(old, **change), old, account), "FAILED")
    assert "fixed" in resp.reason and next(iter(change)) in resp.reason, resp.reason
    assert resp.physical_id == account
    assert emulator.aws_calls(since, "organizations") == []
    assert len(emulator.org_accounts()) == 2
    assert_enrolled(emulator, ADMIN, account, [R1])


def test_update_of_role_names_and_on_delete_makes_no_aws_call(emulator, cfn):
    enable_hubs(emulator, ADMIN, [R1, R2])
    old = props()
    created = ok(cfn.create(old))
    # The same regions written another way (a list, another order) are no change either.
    new = props(
        Regions=[R2, R1], MemberRoleName="SecurityHubEnrollment", OnDelete="Retain", EnableDefaultStandards=False
    )
    since = emulator.last_seq()
    resp = ok(cfn.update(new, old, MEMBER))
    assert emulator.aws_calls(since) == []
    assert resp.physical_id == MEMBER and resp.data == created.data
    assert_enrolled(emulator, ADMIN, MEMBER, [R1, R2])


def test_update_of_on_delete_with_discovered_regions_changes_nothing(emulator, cfn):
    """With discovered regions the Regions attribute may need reading, but nothing is written."""
    enable_hubs(emulator, ADMIN, [R1, R2])
    old = props(Regions=None)
    created = ok(cfn.create(old))
    new = props(Regions=None, OnDelete="DisableSecurityHub")
    since = emulator.last_seq()
    resp = ok(cfn.update(new, old, MEMBER))
    writes = [c["operation"] for c in emulator.aws_calls(since, "securityhub") if c["operation"] in SECURITY_HUB_WRITES]
    assert writes == [], writes
    assert resp.physical_id == MEMBER and resp.data == created.data
    assert_enrolled(emulator, ADMIN, MEMBER, [R1, R2])


# --- Delete ----------------------------------------------------------------------------------------------------


def test_delete_disassociates_and_keeps_the_member_hub(emulator, cfn):
    enable_hubs(emulator, ADMIN, [R1, R2])
    ok(cfn.create(props()))
    resp = ok(cfn.delete(props(), MEMBER))
    assert resp.physical_id == MEMBER
    assert_not_member(emulator, ADMIN, MEMBER, [R1, R2])
    state = emulator.state()
    for region in (R1, R2):
        assert hub(state, MEMBER, region)["enabled"], region
        assert hub(state, MEMBER, region)["administrator"] is None
        assert hub(state, ADMIN, region)["enabled"], "the administrator's hub is never touched"


# Delete with DisableSecurityHub, for an invitation member and an organization member, with the order of the
# calls: tests/test_delegated_administrator.py.


def test_delete_with_retain_touches_nothing(emulator, cfn):
    enable_hubs(emulator, ADMIN, [R1, R2])
    p = props(OnDelete="Retain")
    ok(cfn.create(p))
    before = emulator.state()
    since = emulator.last_seq()
    ok(cfn.delete(p, MEMBER))
    assert emulator.aws_calls(since) == []
    assert emulator.state() == before
    assert_enrolled(emulator, ADMIN, MEMBER, [R1, R2])


def test_delete_twice_succeeds_both_times(emulator, cfn):
    enable_hubs(emulator, ADMIN, [R1, R2])
    ok(cfn.create(props()))
    ok(cfn.delete(props(), MEMBER))
    ok(cfn.delete(props(), MEMBER))
    assert_not_member(emulator, ADMIN, MEMBER, [R1, R2])


def test_delete_of_discovered_regions_cleans_every_region(emulator, cfn):
    enable_hubs(emulator, ADMIN, THREE)
    ok(cfn.create(props(Regions=None)))
    ok(cfn.delete(props(Regions=None), MEMBER))
    assert_not_member(emulator, ADMIN, MEMBER, THREE)


def test_delete_when_the_member_role_cannot_be_assumed(emulator, cfn):
    enable_hubs(emulator, ADMIN, [R1, R2])
    ok(cfn.create(props()))
    emulator.configure(unassumable_accounts=[MEMBER])
    since = emulator.last_seq()
    ok(cfn.delete(props(), MEMBER))
    state = emulator.state()
    for region in (R1, R2):
        assert MEMBER not in hub(state, ADMIN, region).get("members", {}), (region, state)
    assert not [c for c in emulator.aws_calls(since, "securityhub") if c["account"] == MEMBER]


def test_delete_never_takes_a_member_from_a_newer_administrator(emulator, cfn):
    enable_hubs(emulator, ADMIN, [R1, R2])
    ok(cfn.create(props()))
    # In R1 the member has since left this administrator and joined another.
    leave_directly(emulator, MEMBER, R1)
    emulator.join_by_invitation(ADMIN2, MEMBER, R1)
    since = emulator.last_seq()
    ok(cfn.delete(props(), MEMBER))
    state = emulator.state()
    assert hub(state, MEMBER, R1)["administrator"] == ADMIN2
    assert hub(state, ADMIN2, R1)["members"][MEMBER] == "Enabled"
    assert_not_member(emulator, ADMIN, MEMBER, [R1, R2])
    leaving = [c["region"] for c in emulator.aws_calls(since, "securityhub", "DisassociateFromAdministratorAccount")]
    assert R1 not in leaving, leaving


def test_rollback_delete_after_a_failed_region_cleans_the_others(emulator, cfn):
    enable_hubs(emulator, ADMIN, THREE)
    p = props(Regions=THREE)
    emulator.configure(fail_regions={R2: [MEMBER]})
    resp = ok(cfn.create(p), "FAILED")
    assert resp.physical_id == MEMBER, resp.describe()
    assert R2 in resp.reason, resp.reason
    assert f"{R1}:" not in resp.reason and f"{R3}:" not in resp.reason, resp.reason
    assert_enrolled(emulator, ADMIN, MEMBER, [R1, R3])
    # CloudFormation rolls back with a Delete of that id; the outage is over by then.
    emulator.configure(fail_regions={})
    ok(cfn.delete(p, resp.physical_id))
    assert_not_member(emulator, ADMIN, MEMBER, THREE)


# --- CloseAccountOnDelete ---------------------------------------------------------------------------------------


def test_close_account_on_delete_closes_the_account_it_created(emulator, cfn):
    emulator.create_organization()
    enable_hubs(emulator, ADMIN, [R1])
    p = new_account_props(Regions=R1, CloseAccountOnDelete=True)
    account = ok(cfn.create(p)).physical_id
    assert account_status(emulator, account) == "ACTIVE"
    ok(cfn.delete(p, account))
    assert account_status(emulator, account) in ("SUSPENDED", "PENDING_CLOSURE", "CLOSED")
    assert_not_member(emulator, ADMIN, account, [R1])
    # Delete is idempotent: again, with the account closed and its role no longer assumable.
    ok(cfn.delete(p, account))
    assert account_status(emulator, account) in ("SUSPENDED", "PENDING_CLOSURE", "CLOSED")


def test_close_account_on_delete_leaves_an_account_with_other_tags_open(emulator, cfn):
    """The account carries this stack's tag but another logical id: not this resource's, so it stays open."""
    emulator.create_organization()
    enable_hubs(emulator, ADMIN, [R1])
    account = emulator.create_account(
        "Security Sandbox", "sandbox@example.com", {STACK_TAG: cfn.stack_id, LOGICAL_ID_TAG: "SomeoneElse"}
    )
    p = new_account_props(Regions=R1, CloseAccountOnDelete=True)
    since = emulator.last_seq()
    resp = cfn.delete(p, account)
    assert resp.status == "SUCCESS", resp.describe()
    assert account_status(emulator, account) == "ACTIVE"
    assert not emulator.aws_calls(since, operation="CloseAccount")


def test_close_account_on_delete_of_another_stack_leaves_the_account_open(emulator, cfn):
    """The same logical id in another stack (a copy of the template) does not own the account."""
    emulator.create_organization()
    enable_hubs(emulator, ADMIN, [R1])
    p = new_account_props(Regions=R1, CloseAccountOnDelete=True)
    account = ok(cfn.create(p)).physical_id
    other_stack = cfn.stack_id.rsplit("/", 1)[0] + f"/{uuid.uuid4()}"
    ok(cfn.delete(p, account, stack=other_stack))
    assert account_status(emulator, account) == "ACTIVE"
