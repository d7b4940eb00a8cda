"""What real AWS accounts answer, through the real binary: each test puts the emulator in a situation whose answer
the fidelity ledger (tests/emulator/ledger.toml) records from real output or the documentation, and checks the
emulator's state afterwards.

- CreateMembers answers an account that is already a member with HTTP 200 and an `UnprocessedAccounts` entry;
- GetMembers answers "not a member" with HTTP 400 BadRequestException "no such resource found";
- ListInvitations is paginated;
- a new account refuses service calls (SubscriptionRequiredException) for a while after its creation;
- Organizations answers a second creation of the same account CONCURRENT_ACCOUNT_MODIFICATION;
- CloseAccount is asynchronous and has a quota;
- a region-deny SCP on the member's OU alone refuses the member's calls there;
- AccessDenied that is not an SCP's explicit deny.
"""

from __future__ import annotations

import time

from harness.assertions import member_statuses, ok
from harness.constants import ADMIN, MEMBER, R1, R2, R3
from harness.fixtures import send_at_once
from harness.scenario import enable_hubs, props

ALREADY_MEMBER = "already a member or associated member of the current account"
MEMBER_DENIED_WARNING = "the member is denied these regions by a service control policy: left out"


def new_account_props(email: str = "fresh@example.com", **overrides) -> dict:
    return props(AccountId=None, AccountName="Fresh Account", Email=email, **overrides)


def statuses(emulator, member: str, regions) -> list[str | None]:
    return list(member_statuses(emulator, ADMIN, member, regions).values())


def logged(provider, message: str) -> list[dict]:
    return [record for record in provider.log_records() if record.get("fields", {}).get("message") == message]


# --- an existing member: CreateMembers' UnprocessedAccounts ----------------------------------------------------


def test_an_update_that_adds_a_region_and_its_rollback_both_succeed(emulator, cfn):
    enable_hubs(emulator, ADMIN, [R1, R2, R3])
    old = props()
    ok(cfn.create(old))
    # What AWS answers an existing member, as the provider meets it in the regions it keeps.
    answer = emulator.client("securityhub", ADMIN, R1).create_members(AccountDetails=[{"AccountId": MEMBER}])
    assert ALREADY_MEMBER in answer["UnprocessedAccounts"][0]["ProcessingResult"], answer

    new = props(Regions=[R1, R2, R3])
    since = emulator.last_seq()
    resp = ok(cfn.update(new, old, MEMBER))
    assert resp.physical_id == MEMBER and resp.data["Regions"] == ",".join(sorted([R1, R2, R3]))
    assert statuses(emulator, MEMBER, [R1, R2, R3]) == ["Enabled"] * 3
    assert {call["region"] for call in emulator.aws_calls(since, "securityhub", "CreateMembers")} == {R1, R2, R3}

    # CloudFormation's rollback: an Update back to the old properties, while the stack rolls back.
    event, key = cfn.event("Update", old, old_props=new, physical_id=MEMBER)
    cfn.hold(event)
    emulator.set_stack(cfn.stack_id, "UPDATE_ROLLBACK_IN_PROGRESS", {"Member": MEMBER})
    rollback = ok(cfn.send(event, key=key, hold=False))
    assert rollback.physical_id == MEMBER and rollback.data["Regions"] == f"{R2},{R1}"
    assert statuses(emulator, MEMBER, [R1, R2, R3]) == ["Enabled", "Enabled", None]


def test_the_same_create_delivered_twice_succeeds_twice_alike(emulator, cfn):
    enable_hubs(emulator, ADMIN, [R1, R2])
    event, key = cfn.event("Create", props())
    first = ok(cfn.send(event, key=key))
    since = emulator.last_seq()
    second = ok(cfn.send(event, key=key))
    assert (second.physical_id, second.data) == (first.physical_id, first.data)
    assert statuses(emulator, MEMBER, [R1, R2]) == ["Enabled", "Enabled"]
    # The second delivery found the member in place: no invitation was accepted again.
    assert not emulator.aws_calls(since, "securityhub", "AcceptAdministratorInvitation")


def test_a_create_for_an_account_already_an_enabled_member_succeeds(emulator, cfn):
    enable_hubs(emulator, ADMIN, [R1, R2])
    for region in (R1, R2):
        emulator.join_by_invitation(ADMIN, MEMBER, region)
    since = emulator.last_seq()
    resp = ok(cfn.create(props()))
    assert resp.data["Regions"] == f"{R2},{R1}"
    assert statuses(emulator, MEMBER, [R1, R2]) == ["Enabled", "Enabled"]
    assert len(emulator.aws_calls(since, "securityhub", "CreateMembers")) == 2
    assert not emulator.aws_calls(since, "securityhub", "AcceptAdministratorInvitation")


# --- "not a member": GetMembers' HTTP 400 -----------------------------------------------------------------------


def test_a_no_op_update_with_discovered_regions_where_the_member_is_missing_somewhere(emulator, cfn):
    enable_hubs(emulator, ADMIN, [R1, R2])
    old = props(Regions=None)
    ok(cfn.create(old))
    emulator.enable_hub(ADMIN, R3)  # a hub enabled since: the member is no member there
    client = emulator.client("securityhub", ADMIN, R3)
    try:
        client.get_members(AccountIds=[MEMBER])
        raise AssertionError("GetMembers of no member answers HTTP 400")
    except client.exceptions.ClientError as error:
        assert error.response["Error"]["Code"] == "BadRequestException", error.response

    new = props(Regions=None, MemberRoleName="OrganizationAccountAccessRole")
    since = emulator.last_seq()
    resp = ok(cfn.update(new, old, MEMBER))
    assert resp.data["Regions"] == f"{R2},{R1}"
    assert statuses(emulator, MEMBER, [R1, R2, R3]) == ["Enabled", "Enabled", None]
    writes = [
        c
        for c in emulator.aws_calls(since, "securityhub")
        if not c["operation"].startswith(("Get", "Describe", "List"))
    ]
    assert not writes, writes


# --- ListInvitations' pages ------------------------------------------------------------------------------------


def test_a_member_holding_60_invitations_from_other_administrators_finds_ours(emulator, cfn):
    enable_hubs(emulator, ADMIN, [R1])
    emulator.enable_hub(MEMBER, R1)
    others = [f"9000000000{n:02d}" for n in range(60)]
    for other in others:
        hub = emulator.client("securityhub", other, R1)
        hub.enable_security_hub()
        hub.create_members(AccountDetails=[{"AccountId": MEMBER}])
        hub.invite_members(AccountIds=[MEMBER])
    member_hub = emulator.client("securityhub", MEMBER, R1)
    assert member_hub.get_invitations_count()["InvitationsCount"] == 60

    since = emulator.last_seq()
    ok(cfn.create(props(Regions=R1)))
    assert emulator.member_status(ADMIN, MEMBER, R1) == "Enabled"
    assert emulator.administrator_of(MEMBER, R1) == ADMIN
    # Ours came after the 60 others: it is on a later page.
    assert len(emulator.aws_calls(since, "securityhub", "ListInvitations")) >= 2
    assert member_hub.get_invitations_count()["InvitationsCount"] == 60, "the others' invitations are left alone"


# --- a new account, not ready at once ---------------------------------------------------------------------------


def test_a_new_account_that_refuses_calls_for_30_s_is_enrolled(emulator, cfn):
    emulator.create_organization()
    enable_hubs(emulator, ADMIN, [R1])
    emulator.configure(new_account_not_ready_s=30)
    started = time.monotonic()
    resp = ok(cfn.create(new_account_props(Regions=R1)))
    assert time.monotonic() - started >= 30
    account = resp.physical_id
    assert emulator.member_status(ADMIN, account, R1) == "Enabled"
    refused = [call for call in emulator.aws_calls(0) if call.get("fault") == "not_ready"]
    assert refused and {call["account"] for call in refused} == {account}, refused[:3]


# --- CONCURRENT_ACCOUNT_MODIFICATION ----------------------------------------------------------------------------


def test_a_duplicate_creation_waits_for_its_twin_and_makes_one_account(emulator, provider_factory):
    """Lambda delivers one Create to two processes at once: both look, find nothing, and ask Organizations; the
    second is answered CONCURRENT_ACCOUNT_MODIFICATION and waits for the first's creation instead of asking
    again. The emulator's latency makes both looks come before either CreateAccount."""
    emulator.create_organization()
    enable_hubs(emulator, ADMIN, [R1])
    emulator.configure(create_account_delay_s=4, latency_ms=300)
    first, second = provider_factory(), provider_factory()
    for deployment in (first, second):
        deployment.runtime_api.wait_polling(1, timeout=30)
    first.cfn.ensure_bucket()
    event, key = first.cfn.event("Create", new_account_props(email="twin@example.com", Regions=R1))
    first.cfn.hold(event)
    answers = send_at_once([(first, event, key), (second, event, key)], deadline_s=120, wait_s=120)
    creates = emulator.aws_calls(0, "organizations", "CreateAccount")
    assert len(creates) == 2, creates
    statuses_seen = emulator.client("organizations").list_create_account_status()["CreateAccountStatuses"]
    reasons = sorted(status.get("FailureReason", status["State"]) for status in statuses_seen)
    assert reasons == ["CONCURRENT_ACCOUNT_MODIFICATION", "SUCCEEDED"], statuses_seen
    assert len(emulator.accounts_with_email("twin@example.com")) == 1
    account = emulator.accounts_with_email("twin@example.com")[0]["Id"]
    for answer in answers:
        assert answer.status == "SUCCESS" and answer.physical_id == account, answer.describe()
    assert emulator.member_status(ADMIN, account, R1) == "Enabled"


# --- CloseAccount's quota ---------------------------------------------------------------------------------------


def test_a_close_account_quota_refusal_says_what_to_do_and_a_later_delete_closes(emulator, cfn):
    emulator.create_organization()
    enable_hubs(emulator, ADMIN, [R1])
    p = new_account_props(email="closing@example.com", Regions=R1, CloseAccountOnDelete=True)
    account = ok(cfn.create(p)).physical_id
    emulator.configure(close_account_quota=0)
    failed = ok(cfn.delete(p, account), "FAILED")
    assert "close account quota" in failed.reason and "CloseAccountOnDelete" in failed.reason, failed.reason
    assert emulator.member_status(ADMIN, account, R1) is None, "the membership was ended all the same"
    org = emulator.client("organizations")
    assert org.describe_account(AccountId=account)["Account"]["Status"] == "ACTIVE"
    # The quota allows it again (in AWS: 30 days on): the same Delete closes it, and once more is still fine.
    emulator.configure(close_account_quota=None)
    ok(cfn.delete(p, account))
    assert org.describe_account(AccountId=account)["Account"]["Status"] in ("PENDING_CLOSURE", "SUSPENDED")
    ok(cfn.delete(p, account))


# --- a region denied to the member alone ------------------------------------------------------------------------


def test_discovery_leaves_out_a_region_denied_to_the_member_only(emulator, cfn, provider):
    enable_hubs(emulator, ADMIN, [R1, R2])
    emulator.configure(denied_regions={MEMBER: [R2]})
    resp = ok(cfn.create(props(Regions=None)))
    assert resp.data["Regions"] == R1
    assert statuses(emulator, MEMBER, [R1, R2]) == ["Enabled", None], "the administrator took its member back"
    assert logged(provider, MEMBER_DENIED_WARNING), provider.tail()


def test_an_explicit_region_denied_to_the_member_is_an_error_naming_it(emulator, cfn):
    enable_hubs(emulator, ADMIN, [R1, R2])
    emulator.configure(denied_regions={MEMBER: [R2]})
    p = props()
    failed = ok(cfn.create(p), "FAILED")
    assert "member account is refused AccessDenied by a service control policy in: eu-west-1" in failed.reason, (
        failed.reason
    )
    assert failed.physical_id == MEMBER
    # The rollback's Delete cleans the region that joined, and skips the denied one.
    ok(cfn.delete(p, MEMBER))
    assert statuses(emulator, MEMBER, [R1, R2]) == [None, None]


def test_a_delete_skips_the_members_side_where_an_scp_denies_it(emulator, cfn, provider):
    enable_hubs(emulator, ADMIN, [R1, R2])
    p = props()
    ok(cfn.create(p))
    emulator.configure(denied_regions={MEMBER: [R2]})  # the SCP came after the enrollment
    ok(cfn.delete(p, MEMBER))
    assert statuses(emulator, MEMBER, [R1, R2]) == [None, None], "the administrator's side is done everywhere"
    assert emulator.administrator_of(MEMBER, R1) is None
    assert any("service control policy" in str(record) for record in provider.log_records()), provider.tail()


# --- AccessDenied that is no SCP --------------------------------------------------------------------------------


def test_access_denied_in_every_region_fails_create_and_delete_saying_so(emulator, cfn):
    enable_hubs(emulator, ADMIN, [R1, R2])
    p = props(Regions=None)
    ok(cfn.create(p))
    emulator.configure(access_denied_accounts=[ADMIN])  # say, a permission taken from the role
    failed = ok(cfn.delete(p, MEMBER), "FAILED")
    assert "AccessDenied" in failed.reason and "no identity-based policy" in failed.reason, failed.reason
    assert statuses(emulator, MEMBER, [R1, R2]) == ["Enabled", "Enabled"], "FAILED, not a false SUCCESS"

    other = props(AccountId="333344445555", Regions=None)
    failed = ok(cfn.create(other), "FAILED")
    assert "AccessDenied" in failed.reason and "no identity-based policy" in failed.reason, failed.reason
