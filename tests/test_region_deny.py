"""Region-deny service control policies, as Control Tower and most landing zones set them, through the real binary.

Such an SCP refuses every call of an account in the denied regions with AccessDeniedException, while Account
ListRegions still lists them as enabled (Organizations User Guide, "SCP examples": deny access based on the
requested Region; Control Tower's Region deny control). The emulator's `denied_regions` switch does that for
Security Hub. Discovery leaves such regions out with a warning; an explicit region that is denied is an error
naming it; a Delete skips them and says so in the log, instead of failing (a StackSet instance would otherwise
end DELETE_FAILED).
"""

from __future__ import annotations

from harness.constants import ADMIN, MEMBER, R1, R2
from harness.scenario import props_builder

DENIED_WARNING = "AccessDenied in these regions (a region-deny SCP?): left out"


# MEMBER enrolled with ADMIN, in the regions discovery finds (no Regions).
props = props_builder(Regions=None)


def denial_warnings(provider, region: str) -> list[dict]:
    return [
        record
        for record in provider.log_records()
        if record.get("fields", {}).get("message") == DENIED_WARNING
        and region in record.get("fields", {}).get("regions", "")
    ]


def enroll_in_both(emulator, cfn) -> None:
    for region in (R1, R2):
        emulator.enable_hub(ADMIN, region)
    created = cfn.create(props(Regions=f"{R1},{R2}"))
    assert created.status == "SUCCESS", created.describe()
    assert [emulator.member_status(ADMIN, MEMBER, region) for region in (R1, R2)] == ["Enabled", "Enabled"]


def test_discovery_leaves_out_a_denied_region_with_a_warning(emulator, cfn, provider):
    for region in (R1, R2):
        emulator.enable_hub(ADMIN, region)
    emulator.configure(denied_regions={ADMIN: [R2]})
    resp = cfn.create(props())
    assert resp.status == "SUCCESS", resp.describe()
    assert resp.data["Regions"] == R1
    assert emulator.member_status(ADMIN, MEMBER, R1) == "Enabled"
    assert emulator.member_status(ADMIN, MEMBER, R2) is None
    assert denial_warnings(provider, R2), provider.tail()


def test_an_explicit_region_that_is_denied_is_an_error_naming_it(emulator, cfn):
    for region in (R1, R2):
        emulator.enable_hub(ADMIN, region)
    emulator.configure(denied_regions={ADMIN: [R2]})
    since = emulator.last_seq()
    resp = cfn.create(props(Regions=f"{R1},{R2}"))
    assert resp.status == "FAILED", resp.describe()
    assert "Regions: the administrator account is refused AccessDenied" in resp.reason, resp.reason
    assert R2 in resp.reason and R1 not in resp.reason.split("in: ", 1)[1], resp.reason
    # Nothing is left changed: CreateMembers is the administrator's first call in each region (where it is denied
    # it says so), the member added in R1 is taken back, and the member's side was never touched.
    assert emulator.member_status(ADMIN, MEMBER, R1) is None
    assert not emulator.aws_calls(since, "securityhub", "EnableSecurityHub")
    assert not emulator.aws_calls(since, "securityhub", "InviteMembers")


def test_a_delete_without_regions_skips_a_region_an_scp_denies_since(emulator, cfn, provider):
    enroll_in_both(emulator, cfn)
    emulator.configure(denied_regions={ADMIN: [R2]})  # the SCP came after the enrollment
    resp = cfn.delete(props(), physical_id=MEMBER)
    assert resp.status == "SUCCESS", resp.describe()
    assert emulator.member_status(ADMIN, MEMBER, R1) is None
    # The denied region cannot be touched: its membership stays, and the log says why.
    assert emulator.member_status(ADMIN, MEMBER, R2) == "Enabled"
    assert denial_warnings(provider, R2), provider.tail()


def test_a_delete_with_listed_regions_skips_the_denied_one(emulator, cfn, provider):
    enroll_in_both(emulator, cfn)
    emulator.configure(denied_regions={ADMIN: [R2]})
    resp = cfn.delete(props(Regions=f"{R1},{R2}"), physical_id=MEMBER)
    assert resp.status == "SUCCESS", resp.describe()
    assert emulator.member_status(ADMIN, MEMBER, R1) is None
    assert emulator.member_status(ADMIN, MEMBER, R2) == "Enabled"
    assert denial_warnings(provider, R2), provider.tail()
