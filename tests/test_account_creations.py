"""Many account creations at once: CREATIONS Creates, each making a new account (AccountName + Email), each in
its own provider process, all invoked at the same time in one organization.

AWS Organizations runs only a few CreateAccount requests of an organization at once and refuses one more with
TooManyRequestsException while they are in progress (emulator/organizations.py, `create_account_concurrency`,
where the behaviour is sourced; default 5). CloudFormation's own AWS::Organizations::Account makes templates
chain accounts with DependsOn for it; a StackSet, or a template with several of these resources, does not. A
throttled call is tried again for as long as a full pause still fits before the answer is due (docs/design.md,
"Throttling and scale"), so every Create must succeed, each with its own account, none created twice.

Each creation stays IN_PROGRESS for DELAY_S, so the first LIMIT take the organization's slots and the rest are
refused until one of those finished: about 2 x DELAY_S of creation at best, plus the enrollments. Scaled down:
a creation takes DELAY_S instead of minutes, and CloudFormation waits SERVICE_TIMEOUT_S (the template's
ServiceTimeout) for each answer instead of up to an hour. Expected duration: about 20 s when it passes (10 s of
requests, plus process starts); a provider that gives up on the refusal answers FAILED at once, and one that
cannot get its account created in time answers FAILED before SERVICE_TIMEOUT_S.
"""

from __future__ import annotations

import collections
import time

from harness.assertions import assert_delivered, member_statuses
from harness.constants import ADMIN
from harness.fixtures import send_at_once
from harness.reliability import record_figure

CREATIONS = 8
LIMIT = 5  # the emulator's default create_account_concurrency, asserted below
DELAY_S = 3.0  # how long each CreateAccount stays IN_PROGRESS
REGIONS = ["eu-west-1", "us-east-1"]
EMAILS = [f"parallel-{i}@example.com" for i in range(CREATIONS)]
# When each answer is due (the event's ServiceTimeout, counted from its arrival): twice the expected duration, and
# too short for creations one at a time (CREATIONS x DELAY_S and the pauses between them: about 26 s). The Lambda
# deadline is later, so that no request needs a continuation; the test waits for each answer up to
# ANSWER_MARGIN_S beyond it: a hang becomes a failure.
SERVICE_TIMEOUT_S = 20
LAMBDA_DEADLINE_S = 40
ANSWER_MARGIN_S = 15
START_TIMEOUT_S = 30


def test_many_account_creations_at_once_all_succeed_each_with_its_own_account(emulator, provider_factory):
    emulator.create_organization()
    existing = {account["Id"] for account in emulator.org_accounts()}
    for region in REGIONS:
        emulator.enable_hub(ADMIN, region)
    assert emulator.config()["create_account_concurrency"] == LIMIT
    emulator.configure(create_account_delay_s=DELAY_S)
    deployments = [provider_factory() for _ in EMAILS]
    for deployment in deployments:
        deployment.runtime_api.wait_polling(1, timeout=START_TIMEOUT_S)
    requests = []
    for index, (deployment, email) in enumerate(zip(deployments, EMAILS, strict=True)):
        deployment.cfn.ensure_bucket()  # one response bucket for all: made by the first, found by the others
        props = {
            "AdministratorAccountId": ADMIN,
            "AccountName": f"Parallel {index}",
            "Email": email,
            "Regions": REGIONS,
        }
        event, key = deployment.cfn.event("Create", props, service_timeout=str(SERVICE_TIMEOUT_S))
        deployment.cfn.hold(event)
        requests.append((deployment, email, event, key))

    started = time.monotonic()
    answered = send_at_once(
        [(deployment, event, key) for deployment, _, event, key in requests],
        LAMBDA_DEADLINE_S,
        LAMBDA_DEADLINE_S + ANSWER_MARGIN_S,
    )
    responses = [(email, resp) for (_, email, _, _), resp in zip(requests, answered, strict=True)]
    elapsed = time.monotonic() - started
    creations = emulator.call_totals("organizations", operation="CreateAccount")

    # Exactly one answer per request (no continuation), whatever it says.
    for deployment, (email, resp) in zip(deployments, responses, strict=True):
        assert len(deployment.runtime_api.posts) == 1, f"{email}: {len(deployment.runtime_api.posts)} answers"
        assert_delivered(resp)
    statuses = collections.Counter(resp.status for _, resp in responses)
    record_figure(
        "account_creations",
        f"{CREATIONS} concurrent Creates of new accounts",
        limit=LIMIT,
        delay_s=DELAY_S,
        success=statuses["SUCCESS"],
        failed=statuses["FAILED"],
        seconds=round(elapsed, 1),
        create_account_served=creations["served"],
        create_account_refused=creations["throttled"],
    )
    failed = [f"{email}: {resp.reason}" for email, resp in responses if resp.status != "SUCCESS"]
    assert not failed, (
        f"{len(failed)} of {CREATIONS} Creates FAILED in {elapsed:.1f} s (CreateAccount: "
        f"{creations['served']} accepted, {creations['throttled']} refused); first ones:\n" + "\n".join(failed[:5])
    )

    # The limit was hit: some CreateAccount calls were refused with TooManyRequestsException (counted throttled
    # by the emulator, which answers nothing else for them here), and a refused call created nothing.
    assert creations["throttled"] > 0, f"no CreateAccount was refused: the limit was never reached ({creations})"
    refusals = [
        c
        for c in emulator.aws_calls(service="organizations", operation="CreateAccount")
        if c["fault"] == "service_throttled"
    ]
    assert len(refusals) == creations["throttled"] and {c["status"] for c in refusals} == {400}, refusals
    assert creations["served"] == CREATIONS, f"one accepted CreateAccount per Create, no more: {creations}"
    requested = emulator.client("organizations").list_create_account_status()["CreateAccountStatuses"]
    assert sorted(s["State"] for s in requested) == ["SUCCEEDED"] * CREATIONS, requested

    # Exactly CREATIONS new accounts, one per email, each the physical id of the Create that asked for it.
    new = [account for account in emulator.org_accounts() if account["Id"] not in existing]
    by_email = collections.Counter(account["Email"] for account in new)
    assert by_email == collections.Counter(EMAILS), f"new accounts by email: {by_email}"
    account_of = {account["Email"]: account["Id"] for account in new}
    for email, resp in responses:
        assert resp.physical_id == account_of[email], resp.describe()
        assert resp.data["AccountCreated"] == "true" and resp.data["AccountId"] == resp.physical_id, resp.describe()
        assert resp.data["Regions"] == ",".join(sorted(REGIONS)), resp.describe()
        member = resp.physical_id
        statuses_seen = member_statuses(emulator, ADMIN, member, REGIONS)
        assert set(statuses_seen.values()) == {"Enabled"}, f"{email} ({member}): {statuses_seen}"
        administrators = {region: emulator.administrator_of(member, region) for region in REGIONS}
        assert set(administrators.values()) == {ADMIN}, f"{email} ({member}) sees: {administrators}"
