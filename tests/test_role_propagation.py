"""An existing account's role that refuses AssumeRole at first, through the real binary.

A StackSet that auto-deploys to a just-vended account creates the member's role and the member's resource
moments apart, and IAM is eventually consistent: the new role can refuse AssumeRole with AccessDenied for a
while (IAM User Guide, "Troubleshoot IAM", "Changes that I make are not always immediately visible"). So a
Create or an Update retries the member's AssumeRole for about a minute (`EXISTING_ACCOUNT_ROLE_PATIENCE`,
src/enrollment/lifecycle.rs) before it fails naming the role; a Delete does not wait (a closed account's role
never comes back). The emulator's `role_propagating` switch refuses one account's AssumeRole for its first
seconds; `unassumable_accounts` refuses it for good.

`test_a_role_refused_for_good_fails_naming_it_after_the_patience` waits out the whole patience: about 60 s.
"""

from __future__ import annotations

import time

import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from emulator.client import EmulatorError
from harness.constants import ADMIN, MEMBER, R1, R2
from harness.scenario import props
from harness.wait import wait_until

ROLE_ARN = f"arn:aws:iam::{MEMBER}:role/OrganizationAccountAccessRole"
PROPAGATION_S = 5
# The patience for an existing account's role (src/enrollment/lifecycle.rs), and how much later than that the
# answer may come (the retry pauses are capped at 5 s, then the answer is delivered).
PATIENCE_S = 60
# The longest pause between two AssumeRole tries (src/aws.rs ROLE_PAUSES).
ROLE_PAUSE_CAP_S = 5
ANSWER_SLACK_S = 20


def refused_assume_roles(emulator, since: int) -> list[dict]:
    return [call for call in emulator.aws_calls(since, "sts", "AssumeRole") if call["status"] == 403]


def assume(emulator, account: str) -> dict:
    sts = emulator.client("sts", config=BotoConfig(retries={"max_attempts": 1, "mode": "standard"}))
    return sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="test")


def test_the_emulator_refuses_a_propagating_role_for_its_seconds_only(emulator):
    emulator.configure(role_propagating={MEMBER: 1.0})
    with pytest.raises(ClientError) as refused:
        assume(emulator, MEMBER)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert assume(emulator, "555566667777")["AssumedRoleUser"], "another account is not refused"

    def assumed():
        try:
            return assume(emulator, MEMBER)["AssumedRoleUser"]
        except ClientError:
            return None

    wait_until(assumed, 5.0, 0.1, "AssumeRole allowed once the role has propagated")
    with pytest.raises(EmulatorError):
        emulator.configure(role_propagating={MEMBER: -1})
    with pytest.raises(EmulatorError):
        emulator.configure(role_propagating=[MEMBER])


def test_an_existing_account_whose_role_is_still_propagating_is_enrolled(emulator, cfn):
    for region in (R1, R2):
        emulator.enable_hub(ADMIN, region)
    emulator.configure(role_propagating={MEMBER: PROPAGATION_S})
    since, started = emulator.last_seq(), time.monotonic()
    resp = cfn.create(props(), timeout=PATIENCE_S + ANSWER_SLACK_S)
    took = time.monotonic() - started
    assert resp.status == "SUCCESS", resp.describe()
    assert resp.data["Regions"] == ",".join(sorted((R1, R2))), resp.data
    for region in (R1, R2):
        assert emulator.member_status(ADMIN, MEMBER, region) == "Enabled", region
        assert emulator.administrator_of(MEMBER, region) == ADMIN, region
    assert refused_assume_roles(emulator, since), "the emulator should have refused the member's role at first"
    # It waited for the role, and not much longer than the role took.
    assert PROPAGATION_S - 1 <= took < PROPAGATION_S + ANSWER_SLACK_S, took


def test_a_role_refused_for_good_fails_naming_it_after_the_patience(emulator, cfn):
    for region in (R1, R2):
        emulator.enable_hub(ADMIN, region)
    emulator.configure(unassumable_accounts=[MEMBER])
    since, started = emulator.last_seq(), time.monotonic()
    resp = cfn.create(props(), timeout=PATIENCE_S + ANSWER_SLACK_S + 30)
    took = time.monotonic() - started
    assert resp.status == "FAILED", resp.describe()
    assert "member account" in resp.reason and ROLE_ARN in resp.reason, resp.reason
    assert "AccessDenied" in resp.reason or "not authorized" in resp.reason, resp.reason
    assert resp.physical_id == MEMBER, resp.describe()
    # Retries stop when the next would start past the patience: the last pause (up to the 5 s cap of
    # src/aws.rs ROLE_PAUSES) is not taken, so the answer comes within that cap before the patience ends.
    assert PATIENCE_S - ROLE_PAUSE_CAP_S - 2 <= took < PATIENCE_S + ANSWER_SLACK_S, took
    assert len(refused_assume_roles(emulator, since)) > 1, "AssumeRole was not retried"
    # Nothing changed: the administrator adds the member only once both sessions are there.
    for region in (R1, R2):
        assert emulator.member_status(ADMIN, MEMBER, region) is None, region
    assert not [call for call in emulator.aws_calls(since, "securityhub") if call["account"] == MEMBER]


def test_a_delete_does_not_wait_for_a_refused_role(emulator, cfn):
    for region in (R1, R2):
        emulator.enable_hub(ADMIN, region)
    created = cfn.create(props())
    assert created.status == "SUCCESS", created.describe()
    emulator.configure(unassumable_accounts=[MEMBER])
    started = time.monotonic()
    resp = cfn.delete(props(), MEMBER)
    took = time.monotonic() - started
    assert resp.status == "SUCCESS", resp.describe()
    assert took < 15, f"the Delete waited {took:.1f} s for a role that is refused"
    for region in (R1, R2):
        assert emulator.member_status(ADMIN, MEMBER, region) is None, region
