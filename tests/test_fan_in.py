"""StackSet-scale fan-in, scaled down: many Creates at once, each in its own provider process, all enrolling into
one administrator whose Security Hub throttles as AWS does (a token bucket per account and region,
emulator/throttle.py). The contract ("Throttling and scale"): throttling is never a reason to fail while time is
left.

A service-managed StackSet rolled out to an OU sends one request per account at about the same time, and Lambda
runs each in its own instance. Here: MEMBERS existing accounts, one `bootstrap` process and one Runtime API
stand-in each, all invoked at once, enrolling into ADMIN (not the provider's own account, so its side goes
through AssumeRole as in a delegated-administrator setup) in REGIONS, the administrator's bucket at RATE
requests per second with a burst of BURST. The administrator needs at least ADMIN_CALLS_PER_REGION calls per
member and region, so its queue in each region is about MEMBERS x ADMIN_CALLS_PER_REGION / RATE seconds long
(BACKLOG_S): the time the whole fan-in takes at best.

Expected duration: about 30 s when it passes (a 21 s backlog, plus process starts); a provider that gives up on
throttling answers FAILED well within the bounds below.
"""

from __future__ import annotations

import collections
import time

from harness.assertions import assert_delivered, member_statuses
from harness.constants import ADMIN2
from harness.fixtures import send_at_once
from harness.reliability import list_members, record_figure

ADMIN = ADMIN2  # in the harness's ADMINISTRATOR_ACCOUNT_IDS; not the provider's own account
MEMBERS = [str(410000000000 + i) for i in range(14)]
REGIONS = ["eu-west-1", "us-east-1"]
RATE, BURST = 2, 5  # the administrator's Security Hub bucket: requests per second, and burst
# CreateMembers, InviteMembers and one GetMembers (confirming Enabled): the least the administrator's side of one
# enrollment in one region takes (Security Hub API Reference: a member is added, then invited, and the invitation
# accepted by the member; GetMembers is the administrator's only read of the member's status).
ADMIN_CALLS_PER_REGION = 3
BACKLOG_S = len(MEMBERS) * ADMIN_CALLS_PER_REGION / RATE  # per region; the regions' buckets drain side by side
# The Lambda deadline of each invocation, and how long the test waits for each answer beyond it: bounds that
# turn a hang into a failure, far above the backlog.
DEADLINE_S = 240
ANSWER_MARGIN_S = 30
START_TIMEOUT_S = 30


def test_a_whole_ou_enrolling_at_once_into_one_throttled_administrator_all_succeeds(emulator, provider_factory):
    for region in REGIONS:
        emulator.enable_hub(ADMIN, region)
    deployments = [provider_factory() for _ in MEMBERS]
    for deployment in deployments:
        deployment.runtime_api.wait_polling(1, timeout=START_TIMEOUT_S)
    requests = []
    for deployment, member in zip(deployments, MEMBERS, strict=True):
        deployment.cfn.ensure_bucket()  # one response bucket for all: made by the first, found by the others
        props = {"AdministratorAccountId": ADMIN, "AccountId": member, "Regions": REGIONS}
        event, key = deployment.cfn.event("Create", props)
        deployment.cfn.hold(event)  # the control API: neither throttled nor counted
        requests.append((deployment, member, event, key))
    emulator.configure(token_buckets=["securityhub"], securityhub_rate_per_s=RATE, securityhub_burst=BURST)

    started = time.monotonic()
    answered = send_at_once(
        [(deployment, event, key) for deployment, _, event, key in requests], DEADLINE_S, DEADLINE_S + ANSWER_MARGIN_S
    )
    responses = [(member, resp) for (_, member, _, _), resp in zip(requests, answered, strict=True)]
    elapsed = time.monotonic() - started
    totals = emulator.call_totals("securityhub", ADMIN)
    emulator.configure(token_buckets=[])

    # Exactly one answer per request, to the runtime and to CloudFormation, whatever it says.
    for deployment, (member, resp) in zip(deployments, responses, strict=True):
        assert len(deployment.runtime_api.posts) == 1, f"{member}: {len(deployment.runtime_api.posts)} answers"
        assert_delivered(resp)
    bucket = deployments[0].cfn.bucket
    puts = collections.Counter(
        c["path"]
        for c in emulator.calls()
        if c["service"] == "s3"
        and c["method"] == "PUT"
        and c["fault"] is None
        and c["path"].startswith(f"/{bucket}/responses/")
    )
    assert sorted(puts.values()) == [1] * len(MEMBERS), puts

    statuses = collections.Counter(resp.status for _, resp in responses)
    per_enrollment = totals["served"] / (len(MEMBERS) * len(REGIONS))
    record_figure(
        "fan_in",
        f"{len(MEMBERS)} concurrent Creates into one administrator",
        regions=len(REGIONS),
        rate_per_s=RATE,
        burst=BURST,
        backlog_s=BACKLOG_S,
        success=statuses["SUCCESS"],
        failed=statuses["FAILED"],
        seconds=round(elapsed, 1),
        time_over_bound=round(elapsed / BACKLOG_S, 2),
        admin_calls_per_enrollment_per_region=round(per_enrollment, 2),
        admin_throttled=totals["throttled"],
    )
    failed = [f"{member}: {resp.reason}" for member, resp in responses if resp.status != "SUCCESS"]
    assert not failed, (
        f"{len(failed)} of {len(MEMBERS)} Creates FAILED (administrator: {totals['served']} calls "
        f"served, {totals['throttled']} throttled, in {elapsed:.1f} s against a "
        f"{BACKLOG_S:.0f} s backlog); first ones:\n" + "\n".join(failed[:5])
    )

    for member, resp in responses:
        assert resp.physical_id == member, resp.describe()
        assert resp.data["Regions"] == ",".join(sorted(REGIONS)), resp.describe()
        statuses_seen = member_statuses(emulator, ADMIN, member, REGIONS)
        assert set(statuses_seen.values()) == {"Enabled"}, f"{member}: {statuses_seen}"
        administrators = {r: emulator.administrator_of(member, r) for r in REGIONS}
        assert set(administrators.values()) == {ADMIN}, f"{member} sees: {administrators}"
    for region in REGIONS:
        listed = collections.Counter(list_members(emulator, ADMIN, region))
        assert listed == collections.Counter(MEMBERS), f"{region}: {listed}"
