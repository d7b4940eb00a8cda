"""Reliability under AWS trouble, load, partial failure, retried and overlapping invocations (docs/design.md: Create,
Delete, "The CloudFormation protocol — guarantees").

Every test drives the real `bootstrap` binary through the Runtime API stand-in against the emulator with faults
injected, and checks what CloudFormation and the accounts would see: exactly one response per request, its
status, and the Security Hub memberships left behind. Every wait is bounded, so a hang fails instead of
blocking the run.
"""

from __future__ import annotations

import collections
import json
import time

import pytest

from harness.assertions import assert_delivered, member_statuses
from harness.constants import ACCOUNT_ID, ADMIN
from harness.fixtures import CfnResponse
from harness.reliability import REGIONS_17, Pool, leftovers, list_members, record_figure
from harness.wait import wait_until

MEMBER = "111111111111"
FOUR_REGIONS = ["ap-southeast-2", "eu-west-1", "us-east-1", "us-west-2"]
# Generous bounds: a request under faults takes seconds; these only turn a hang into a failure.
REQUEST_TIMEOUT_S = 120


def enable_admin_hubs(emulator, regions) -> None:
    for region in regions:
        emulator.enable_hub(ADMIN, region)


def fault_counts(emulator) -> collections.Counter:
    return collections.Counter((c["service"], c["fault"]) for c in emulator.aws_calls())


def successful(emulator, operation: str) -> list[dict]:
    """Calls of `operation` that reached the emulator's model (no fault injected) and succeeded."""
    return [c for c in emulator.aws_calls(operation=operation) if c["fault"] is None and c["status"] == 200]


def assert_enabled_everywhere(emulator, member: str, regions) -> None:
    statuses = member_statuses(emulator, ADMIN, member, regions)
    assert all(s == "Enabled" for s in statuses.values()), f"member {member}: {statuses}"
    state = emulator.state()
    administrators = {r: state.get(member, {}).get(r, {}).get("administrator") for r in regions}
    assert all(a == ADMIN for a in administrators.values()), f"member {member} sees: {administrators}"


# -- throttling ------------------------------------------------------------------------------------------------


def test_create_in_17_regions_survives_a_quarter_of_calls_throttled(emulator, cfn):
    enable_admin_hubs(emulator, REGIONS_17)
    emulator.configure(throttle_fraction=0.25, seed=1725)
    props = {"AdministratorAccountId": ADMIN, "AccountId": MEMBER, "Regions": REGIONS_17}

    started = time.monotonic()
    resp = cfn.create(props, timeout=REQUEST_TIMEOUT_S)
    elapsed = time.monotonic() - started
    emulator.configure(throttle_fraction=0)

    body = assert_delivered(resp, "SUCCESS")
    assert resp.physical_id == MEMBER
    assert body["Data"]["Regions"] == ",".join(REGIONS_17), resp.describe()
    assert_enabled_everywhere(emulator, MEMBER, REGIONS_17)
    faults = fault_counts(emulator)
    throttled = faults[("securityhub", "throttle")]
    total = sum(n for (service, _), n in faults.items() if service == "securityhub")
    assert throttled > 0, f"no throttling was injected: {faults}"
    record_figure(
        "throttle_17_regions",
        0.25,
        throttled_calls=throttled,
        securityhub_calls=total,
        measured_fraction=round(throttled / total, 3),
        seconds=round(elapsed, 1),
    )


def test_account_creation_survives_throttling(emulator, cfn):
    emulator.create_organization()
    enable_admin_hubs(emulator, REGIONS_17)
    emulator.configure(throttle_fraction=0.25, seed=4242, create_account_delay_s=1.0, assume_role_denied_for_s=1.5)
    email = "throttled-workload@example.com"
    props = {
        "AdministratorAccountId": ADMIN,
        "AccountName": "Throttled Workload",
        "Email": email,
        "Regions": REGIONS_17,
    }

    resp = cfn.create(props, timeout=REQUEST_TIMEOUT_S)
    emulator.configure(throttle_fraction=0)

    body = assert_delivered(resp, "SUCCESS")
    account = resp.physical_id
    assert ACCOUNT_ID.match(account), resp.describe()
    assert body["Data"]["AccountCreated"] == "true"
    assert body["Data"]["AccountId"] == account
    assert [a["Id"] for a in emulator.accounts_with_email(email)] == [account]
    assert len(successful(emulator, "CreateAccount")) == 1, "more than one account creation reached AWS"
    assert_enabled_everywhere(emulator, account, REGIONS_17)
    faults = fault_counts(emulator)
    assert faults[("securityhub", "throttle")] + faults[("organizations", "throttle")] > 0, faults
    record_figure(
        "throttle_account_creation",
        0.25,
        organizations_throttled=faults[("organizations", "throttle")],
        securityhub_throttled=faults[("securityhub", "throttle")],
    )


# -- server errors and dropped connections ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "error_fraction,reset_fraction,seed",
    [(0.1, 0.1, 101), (0.1, 0.1, 202), (0.5, 0.2, 7)],
    ids=["10%-errors-10%-resets-a", "10%-errors-10%-resets-b", "50%-errors-20%-resets"],
)
def test_server_errors_and_dropped_connections_never_hang(emulator, cfn, error_fraction, reset_fraction, seed):
    """Mild trouble is ridden out; severe trouble ends in a FAILED that says where and why, in bounded time."""
    enable_admin_hubs(emulator, REGIONS_17)
    emulator.configure(error_fraction=error_fraction, reset_fraction=reset_fraction, seed=seed)
    props = {"AdministratorAccountId": ADMIN, "AccountId": MEMBER, "Regions": REGIONS_17}

    started = time.monotonic()
    resp = cfn.create(props, timeout=REQUEST_TIMEOUT_S)  # a hang fails here (RuntimeApiTimeout)
    elapsed = time.monotonic() - started
    emulator.configure(error_fraction=0, reset_fraction=0)

    body = assert_delivered(resp)
    faults = fault_counts(emulator)
    assert sum(n for (_, fault), n in faults.items() if fault == "error") > 0, faults
    assert sum(n for (_, fault), n in faults.items() if fault == "reset") > 0, faults
    if body["Status"] == "SUCCESS":
        assert resp.physical_id == MEMBER
        assert_enabled_everywhere(emulator, MEMBER, REGIONS_17)
    else:
        reason = body.get("Reason") or ""
        assert error_fraction > 0.1, f"mild trouble must be ridden out: {reason}"
        # A regional step names its region; the few global steps (before any region) name their operation.
        regional = any(region in reason for region in REGIONS_17)
        global_step = any(op in reason for op in ("GetCallerIdentity", "AssumeRole", "ListRegions"))
        assert regional or global_step, f"FAILED without naming the region or the step: {reason}"
        assert "Exception" in reason or "error" in reason.lower(), f"FAILED without the error: {reason}"
        assert resp.physical_id == MEMBER, "a failure after the account is known must carry its id"
    record_figure(
        "errors_and_resets",
        {"error_fraction": error_fraction, "reset_fraction": reset_fraction},
        seed=seed,
        status=body["Status"],
        seconds=round(elapsed, 1),
        injected={f"{s}/{f}": n for (s, f), n in faults.items() if f},
    )


# -- load: several instances, many requests at once ------------------------------------------------------------

INSTANCES = 4
CONCURRENT_CREATES = 24


def test_many_creates_at_once_on_several_instances(emulator, bootstrap_binary, tmp_path):
    enable_admin_hubs(emulator, FOUR_REGIONS)
    members = [str(300000000000 + i) for i in range(CONCURRENT_CREATES)]
    pool = Pool(bootstrap_binary, emulator, INSTANCES, tmp_path)
    try:
        pool.cfn.ensure_bucket()
        emulator.configure(throttle_fraction=0.25, seed=2424, response_put_failures=5)
        tickets = []
        for i, member in enumerate(members):
            props = {"AdministratorAccountId": ADMIN, "AccountId": member, "Regions": FOUR_REGIONS}
            event, key = pool.cfn.event("Create", props, logical_id=f"Member{i}")
            tickets.append(pool.submit(event, key))
        started = time.monotonic()
        responses = [pool.collect(t, timeout=REQUEST_TIMEOUT_S * 2) for t in tickets]
        elapsed = time.monotonic() - started
        emulator.configure(throttle_fraction=0)

        for member, resp in zip(members, responses, strict=True):
            assert_delivered(resp, "SUCCESS")
            assert resp.physical_id == member, resp.describe()
        # Exactly one runtime answer per invocation, and exactly one stored response per ResponseURL.
        assert len(pool.api.posts) == CONCURRENT_CREATES
        puts = collections.Counter(
            c["path"]
            for c in emulator.calls()
            if c["service"] == "s3"
            and c["method"] == "PUT"
            and c["fault"] is None
            and c["path"].startswith(f"/{pool.cfn.bucket}/responses/")
        )
        assert sorted(puts.values()) == [1] * CONCURRENT_CREATES, puts
        for region in FOUR_REGIONS:
            listed = collections.Counter(list_members(emulator, ADMIN, region))
            assert listed == collections.Counter(members), f"{region}: {listed}"
        for member in members:
            assert_enabled_everywhere(emulator, member, FOUR_REGIONS)
        expected = CONCURRENT_CREATES * len(FOUR_REGIONS)
        for operation in ("CreateMembers", "InviteMembers"):
            assert len(successful(emulator, operation)) == expected, f"{operation} repeated or missing"
        accepted = collections.Counter(
            (c["account"], c["region"]) for c in successful(emulator, "AcceptAdministratorInvitation")
        )
        assert accepted == collections.Counter({(m, r): 1 for m in members for r in FOUR_REGIONS}), accepted
        handled = [p.logs().count('"request received"') for p in pool.providers]
        assert all(n >= 1 for n in handled), f"requests per instance: {handled}"
        faults = fault_counts(emulator)
        record_figure(
            "load",
            f"{INSTANCES} instances x {CONCURRENT_CREATES} concurrent Creates",
            regions=len(FOUR_REGIONS),
            throttle_fraction=0.25,
            seconds=round(elapsed, 1),
            per_instance=handled,
            throttled=faults[("securityhub", "throttle")],
            response_put_failures_injected=5,
            responses_lost=0,
        )
    finally:
        pool.close()


# -- partial failure and the rollback's Delete -----------------------------------------------------------------


def test_failure_in_one_region_is_named_and_the_rollback_cleans_up(emulator, cfn):
    enable_admin_hubs(emulator, FOUR_REGIONS)
    emulator.configure(fail_regions={"eu-west-1": [MEMBER]})
    props = {"AdministratorAccountId": ADMIN, "AccountId": MEMBER, "Regions": FOUR_REGIONS}

    resp = cfn.create(props, timeout=REQUEST_TIMEOUT_S)
    body = assert_delivered(resp, "FAILED")
    assert "eu-west-1" in body["Reason"], resp.describe()
    assert "InternalException" in body["Reason"] or "failing" in body["Reason"], resp.describe()
    for region in FOUR_REGIONS:
        if region != "eu-west-1":
            assert region not in body["Reason"], f"{region} succeeded but is named: {body['Reason']}"
    assert resp.physical_id == MEMBER, "the rollback's Delete needs the account id to clean up"
    succeeded = [r for r in FOUR_REGIONS if r != "eu-west-1"]
    assert set(member_statuses(emulator, ADMIN, MEMBER, succeeded).values()) == {"Enabled"}

    # CloudFormation's rollback comes at once, while the region may still be failing.
    rollback = cfn.delete(props, physical_id=MEMBER, timeout=REQUEST_TIMEOUT_S)
    rollback_body = assert_delivered(rollback)
    assert rollback.physical_id == MEMBER
    assert leftovers(emulator, ADMIN, MEMBER, succeeded) == {}, "the regions that succeeded are not clean"
    if rollback_body["Status"] == "FAILED":
        assert "eu-west-1" in rollback_body["Reason"], rollback.describe()

    # Once the region recovers, a Delete (CloudFormation's retry of a failed delete) leaves nothing at all.
    emulator.configure(fail_regions={})
    again = cfn.delete(props, physical_id=MEMBER, timeout=REQUEST_TIMEOUT_S)
    assert_delivered(again, "SUCCESS")
    assert leftovers(emulator, ADMIN, MEMBER, FOUR_REGIONS) == {}
    assert MEMBER not in sum((list_members(emulator, ADMIN, r) for r in FOUR_REGIONS), [])


# -- retried and duplicated invocations ------------------------------------------------------------------------


def created_account_props(name: str, email: str, regions) -> dict:
    return {"AdministratorAccountId": ADMIN, "AccountName": name, "Email": email, "Regions": regions}


def test_same_create_delivered_twice_makes_one_account(emulator, cfn):
    """Lambda retries an asynchronous invocation with the same event: same RequestId, same ResponseURL."""
    emulator.create_organization()
    enable_admin_hubs(emulator, FOUR_REGIONS)
    emulator.configure(create_account_delay_s=1.0)
    email = "retried@example.com"
    event, key = cfn.event("Create", created_account_props("Retried", email, FOUR_REGIONS))

    first = cfn.send(event, key=key, timeout=REQUEST_TIMEOUT_S)
    first_body = assert_delivered(first, "SUCCESS")
    second = cfn.send(event, key=key, timeout=REQUEST_TIMEOUT_S)
    second_body = assert_delivered(second, "SUCCESS")

    assert first.lambda_request_id != second.lambda_request_id
    assert second_body["PhysicalResourceId"] == first_body["PhysicalResourceId"]
    assert second_body["Data"] == first_body["Data"]
    account = first.physical_id
    assert [a["Id"] for a in emulator.accounts_with_email(email)] == [account]
    assert len(successful(emulator, "CreateAccount")) == 1
    assert_enabled_everywhere(emulator, account, FOUR_REGIONS)
    for region in FOUR_REGIONS:
        assert list_members(emulator, ADMIN, region).count(account) == 1


def test_same_create_delivered_to_two_instances_at_once_makes_one_account(emulator, bootstrap_binary, tmp_path):
    """Lambda's event queue is at-least-once: a duplicate may reach a second instance while the first still runs.
    Both answers go to the same ResponseURL, so both must say the same thing."""
    emulator.create_organization()
    enable_admin_hubs(emulator, FOUR_REGIONS)
    emulator.configure(create_account_delay_s=1.5)
    pool = Pool(bootstrap_binary, emulator, 2, tmp_path)
    try:
        pool.cfn.ensure_bucket()
        emulator.client("s3").put_bucket_versioning(
            Bucket=pool.cfn.bucket, VersioningConfiguration={"Status": "Enabled"}
        )
        email = "duplicated@example.com"
        event, key = pool.cfn.event("Create", created_account_props("Duplicated", email, FOUR_REGIONS))
        tickets = [pool.submit(event, key), pool.submit(event, key)]
        results = [pool.api.wait_result(rid, REQUEST_TIMEOUT_S) for rid, _, _ in tickets]
        assert [r.kind for r in results] == ["response", "response"], results
        versions = emulator.client("s3").list_object_versions(Bucket=pool.cfn.bucket, Prefix=key).get("Versions", [])
        bodies = [
            json.loads(
                emulator.client("s3")
                .get_object(Bucket=pool.cfn.bucket, Key=key, VersionId=v["VersionId"])["Body"]
                .read()
            )
            for v in versions
        ]
        assert len(bodies) == 2, f"expected two answers at the ResponseURL, got {len(bodies)}"
        summary = [(b["Status"], b["PhysicalResourceId"], b.get("Reason")) for b in bodies]
        assert all(b["Status"] == "SUCCESS" for b in bodies), f"answers: {summary}"
        assert bodies[0]["PhysicalResourceId"] == bodies[1]["PhysicalResourceId"], f"answers: {summary}"
        account = bodies[0]["PhysicalResourceId"]
        assert [a["Id"] for a in emulator.accounts_with_email(email)] == [account]
        assert_enabled_everywhere(emulator, account, FOUR_REGIONS)
    finally:
        pool.close()


# -- a Delete while the Create still runs ----------------------------------------------------------------------


def test_delete_during_a_running_create_leaves_nothing_enrolled(emulator, provider_factory):
    """CloudFormation can give up on a slow Create (custom resource timeout, stack cancelled) and send the
    rollback's Delete while the Lambda still works on the Create. Once both have finished, nothing may be
    enrolled: the Delete's promise must hold even against the Create that was still running."""
    enable_admin_hubs(emulator, FOUR_REGIONS)
    creator = provider_factory({"MAX_CONCURRENT_REGIONS": "1"})  # one region after the other: a slow Create
    deleter = provider_factory()
    emulator.configure(latency_ms=120)
    props = {"AdministratorAccountId": ADMIN, "AccountId": MEMBER, "Regions": FOUR_REGIONS}

    create_event, create_key = creator.cfn.event("Create", props)
    creator.cfn.hold(create_event)
    create_rid = creator.runtime_api.invoke(create_event, deadline_s=900)
    wait_until(
        lambda: "Enabled" in member_statuses(emulator, ADMIN, MEMBER, FOUR_REGIONS).values(),
        60,
        message="the Create enrolled a first region",
    )
    # The same stack's Delete (the harness sets the stack DELETE_IN_PROGRESS, the resource's id the member's).
    delete = deleter.cfn.delete(props, physical_id=MEMBER, stack=create_event["StackId"], timeout=REQUEST_TIMEOUT_S)
    create_done = creator.runtime_api.wait_result(create_rid, REQUEST_TIMEOUT_S)
    create = CfnResponse(
        raw=creator.cfn.read_response(create_key),
        runtime_result=create_done,
        event=create_event,
        lambda_request_id=create_rid,
        response_key=create_key,
        deadline=0,
    )
    emulator.configure(latency_ms=0)

    assert_delivered(delete, "SUCCESS")
    assert_delivered(create)  # answered, whatever it says
    left = leftovers(emulator, ADMIN, MEMBER, FOUR_REGIONS)
    assert left == {}, (
        f"the Delete answered SUCCESS at {delete.runtime_result.received_at:.2f}, the Create "
        f"finished at {create_done.received_at:.2f} with {create.status}; still enrolled: {left}"
    )
