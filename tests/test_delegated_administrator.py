"""The delegated administrator (Security Hub CSPM integrated with AWS Organizations) through the real binary.

What AWS documents, and the emulator models (tests/emulator/securityhub.py):
- organization accounts receive no invitations: the administrator's CreateMembers makes them Enabled members,
  enabling their hub (Security Hub User Guide, "Managing Security Hub CSPM for multiple accounts with AWS
  Organizations"; API Reference, InviteMembers: "Organization accounts don't receive invitations");
- they cannot disassociate themselves (API Reference, DisassociateFromAdministratorAccount: "only used by
  accounts that are not part of an organization. For organization accounts, only the administrator account can
  disassociate a member account"), nor, in this model, disable their hub while associated;
- the administrator's DisassociateMembers works for them and makes them standalone accounts (User Guide,
  "Disassociating Security Hub CSPM member accounts from your organization"), after which the member may
  disable its own hub; DeleteMembers is for members that joined by invitation (API Reference, DeleteMembers).

So a Delete with `OnDelete: DisableSecurityHub` succeeds for an organization member only because the
administrator's side runs first; a DisableSecurityHub that is refused anyway is a FAILED answer naming it and
the region, never SUCCESS with the hub still enabled.
"""

from __future__ import annotations

import botocore.exceptions
import pytest

from harness.assertions import assert_enrolled, assert_not_member, hub, ok
from harness.constants import ADMIN, MEMBER, OTHER, R1, R2
from harness.scenario import enable_hubs, props

LEAVING = ("DisassociateMembers", "DeleteMembers", "DisassociateFromAdministratorAccount")


def organization_member(emulator) -> str:
    """A new account of the organization, whose administrator ADMIN auto-enables organization members."""
    emulator.create_organization()
    member = emulator.create_account("Workload", "workload@example.com")
    emulator.configure(auto_enable_org_members=[ADMIN])
    enable_hubs(emulator, ADMIN, [R1, R2])
    return member


def calls_in(emulator, since: int, region: str) -> list[dict]:
    return [call for call in emulator.aws_calls(since, "securityhub") if call["region"] == region]


def assert_disabled_after_leaving(emulator, since: int, member: str) -> None:
    """In each region the member's DisableSecurityHub came after every call of leaving (the provider awaits their
    answers first), and GetAdministratorAccount then looked whether the hub was gone."""
    for region in (R1, R2):
        calls = calls_in(emulator, since, region)
        disable = [c for c in calls if c["operation"] == "DisableSecurityHub" and c["account"] == member]
        assert len(disable) == 1, (region, calls)
        leaving = [c for c in calls if c["operation"] in LEAVING]
        assert {"DisassociateMembers", "DeleteMembers"} <= {c["operation"] for c in leaving}, (region, calls)
        # Sequence numbers are taken as requests arrive: each leaving call came in before DisableSecurityHub.
        assert all(c["seq"] < disable[0]["seq"] for c in leaving), (region, calls)
        looked = [c for c in calls if c["operation"] == "GetAdministratorAccount" and c["account"] == member]
        assert looked and looked[-1]["seq"] > disable[0]["seq"], (region, calls)


def test_an_organization_member_joins_with_no_invitation(emulator, cfn):
    member = organization_member(emulator)
    since = emulator.last_seq()
    resp = ok(cfn.create(props(AccountId=member)))
    assert resp.data["Regions"] == f"{R2},{R1}"
    assert_enrolled(emulator, ADMIN, member, [R1, R2])
    assert not emulator.aws_calls(since, operation="AcceptAdministratorInvitation")
    assert all(not hub(emulator.state(), member, region)["invitations"] for region in (R1, R2))


def test_the_emulator_holds_an_organization_member_as_aws_does(emulator, cfn):
    """The model the Delete below relies on, seen through the API itself."""
    member = organization_member(emulator)
    ok(cfn.create(props(AccountId=member)))
    own = emulator.client("securityhub", member, R1)
    for refused in (own.disassociate_from_administrator_account, own.disable_security_hub):
        with pytest.raises(botocore.exceptions.ClientError) as error:
            refused()
        assert error.value.response["Error"]["Code"] == "InvalidInputException"
    admin = emulator.client("securityhub", ADMIN, R1)
    kept = admin.delete_members(AccountIds=[member])["UnprocessedAccounts"]
    assert [account["AccountId"] for account in kept] == [member]
    assert hub(emulator.state(), ADMIN, R1)["members"][member] == "Enabled"
    # The administrator frees it: it is then a standalone account, which may disable its own hub.
    admin.disassociate_members(AccountIds=[member])
    assert admin.delete_members(AccountIds=[member])["UnprocessedAccounts"] == []
    own.disable_security_hub()
    assert not hub(emulator.state(), member, R1).get("enabled")


def invitation_member(emulator) -> str:
    """MEMBER, outside any organization: it joins ADMIN by invitation."""
    enable_hubs(emulator, ADMIN, [R1, R2])
    return MEMBER


@pytest.mark.parametrize("make_member", [organization_member, invitation_member], ids=["organization", "invitation"])
def test_delete_disables_the_member_hub_after_the_administrator_let_it_go(emulator, cfn, make_member):
    """An organization member is let go by the administrator's DisassociateMembers (it cannot leave by itself),
    an invitation member by DeleteMembers: either way its DisableSecurityHub comes after, and succeeds."""
    member = make_member(emulator)
    p = props(AccountId=member, OnDelete="DisableSecurityHub")
    ok(cfn.create(p))
    since = emulator.last_seq()
    ok(cfn.delete(p, member))
    assert_not_member(emulator, ADMIN, member, [R1, R2])
    state = emulator.state()
    for region in (R1, R2):
        assert not hub(state, member, region).get("enabled"), (region, state)
        assert hub(state, ADMIN, region)["enabled"]
    assert_disabled_after_leaving(emulator, since, member)


def test_a_refused_disable_is_failed_naming_it_and_the_region(emulator, cfn):
    """DisableSecurityHub's documented refusal: "You can't disable Security Hub in an account that is currently the
    Security Hub administrator" (API Reference, DisableSecurityHub) — here the member administers OTHER in R1. The
    emulator allows an account to be member and administrator at once; that is only the means to a refusal, and
    what is tested is how a refusal is answered: FAILED naming DisableSecurityHub and R1, the hub left enabled
    there, the membership ended and the hub disabled elsewhere; a second Delete fails the same way."""
    enable_hubs(emulator, ADMIN, [R1, R2])
    p = props(OnDelete="DisableSecurityHub")
    ok(cfn.create(p))
    emulator.join_by_invitation(MEMBER, OTHER, R1)
    for _ in range(2):
        resp = ok(cfn.delete(p, MEMBER), "FAILED")
        assert f"{R1}: DisableSecurityHub: refused (InvalidInputException: " in resp.reason, resp.reason
        assert "the hub stays enabled" in resp.reason and R2 not in resp.reason, resp.reason
        assert_not_member(emulator, ADMIN, MEMBER, [R1, R2])
        state = emulator.state()
        assert hub(state, MEMBER, R1)["enabled"] and hub(state, MEMBER, R1)["members"][OTHER] == "Enabled"
        assert not hub(state, MEMBER, R2).get("enabled"), state


# --- central configuration --------------------------------------------------------------------------------------
# The delegated administrator's configuration policies decide whether each account's hub is enabled (Security Hub
# User Guide, "Understanding central configuration in Security Hub CSPM"); the accounts' own EnableSecurityHub and
# DisableSecurityHub are refused AccessDeniedException (the emulator's model, tests/emulator/securityhub.py).


def test_under_central_configuration_an_organization_member_joins_and_a_disable_is_explained(emulator, cfn):
    member = organization_member(emulator)
    emulator.configure(central_configuration=[ADMIN])
    own = emulator.client("securityhub", member, R1)
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        own.enable_security_hub()
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"

    # The member's own EnableSecurityHub is refused, but CreateMembers made it an Enabled member: SUCCESS.
    p = props(AccountId=member, OnDelete="DisableSecurityHub")
    resp = ok(cfn.create(p))
    assert resp.data["Regions"] == f"{R2},{R1}"
    assert_enrolled(emulator, ADMIN, member, [R1, R2])

    # Its DisableSecurityHub is the policy's to decide: FAILED, saying so in each region, the hub left enabled.
    resp = ok(cfn.delete(p, member), "FAILED")
    for region in (R1, R2):
        assert (
            f"{region}: DisableSecurityHub: refused: the account is governed by a Security Hub CSPM central "
            "configuration policy"
        ) in resp.reason, resp.reason
        assert hub(emulator.state(), member, region)["enabled"], region
    assert "OnDelete: Disassociate" in resp.reason
    assert_not_member(emulator, ADMIN, member, [R1, R2])
    # With OnDelete: Disassociate the Delete asks nothing of the policy.
    ok(cfn.delete(props(AccountId=member), member))


def test_under_central_configuration_a_hub_the_policy_keeps_disabled_is_explained(emulator, cfn):
    """An account of the organization that CreateMembers does not enable (no auto-enable), with no hub: its own
    EnableSecurityHub is refused, and the Reason says where the hub is to be enabled."""
    emulator.create_organization()
    member = emulator.create_account("Workload", "workload@example.com")
    emulator.configure(central_configuration=[ADMIN])
    enable_hubs(emulator, ADMIN, [R1])
    resp = ok(cfn.create(props(AccountId=member, Regions=[R1])), "FAILED")
    assert f"{R1}: EnableSecurityHub: refused: the account is governed by a Security Hub CSPM central" in resp.reason
    assert "enable Security Hub CSPM for it in its policy" in resp.reason, resp.reason
    assert not hub(emulator.state(), member, R1).get("enabled")
