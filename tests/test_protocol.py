"""The CloudFormation protocol guarantees, through the real `bootstrap` binary (docs/design.md,
"Protocol guarantees"): each test asserts what a CloudFormation user would notice — the response PUT to the
ResponseURL, what the Lambda runtime was told, and what the process logged."""

from __future__ import annotations

import json
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest

from harness.assertions import MAX_BODY, assert_delivered, has_control_chars
from harness.constants import ACCOUNT_ID, ADMIN
from harness.fixtures import RESPONSE_BUCKET, Cfn, CfnResponse
from harness.listener import Listener
from harness.provider import LOG_STREAM_NAME, SECRET_ACCESS_KEY
from harness.wait import wait_until

MEMBER = "111111111111"
VALID = {"AdministratorAccountId": ADMIN, "AccountId": MEMBER}


# -- helpers ---------------------------------------------------------------------------------------------------


def assert_failed_naming(resp: CfnResponse, *names: str) -> CfnResponse:
    assert_delivered(resp, "FAILED")
    for name in names:
        assert name in (resp.reason or ""), f"Reason does not name {name!r}: {resp.reason!r}"
    return resp


def response_puts(emulator, key: str | None = None) -> list[dict]:
    """The emulator's log entries for PUTs to the response bucket (to one key when given)."""
    return [
        c
        for c in emulator.calls()
        if c["service"] == "s3"
        and c["method"] == "PUT"
        and (c["path"] == f"/{RESPONSE_BUCKET}/{key}" if key else c["path"].startswith(f"/{RESPONSE_BUCKET}/"))
    ]


@pytest.fixture
def listener():
    lst = Listener()
    yield lst
    lst.close()


# -- validation: bad input is FAILED with a Reason naming the field ----------------------------------------------

BAD_INPUT = {
    "unknown property": ({**VALID, "Colour": "blue"}, ["Colour"]),
    "missing AdministratorAccountId": ({"AccountId": MEMBER}, ["AdministratorAccountId"]),
    "short AdministratorAccountId": (
        {"AdministratorAccountId": "12345", "AccountId": MEMBER},
        ["AdministratorAccountId"],
    ),
    "non-digit AdministratorAccountId": (
        {"AdministratorAccountId": "12345678901x", "AccountId": MEMBER},
        ["AdministratorAccountId"],
    ),
    "invalid AccountId": ({"AdministratorAccountId": ADMIN, "AccountId": "1111"}, ["AccountId"]),
    "invalid Email": ({"AdministratorAccountId": ADMIN, "AccountName": "Workload", "Email": "not-an-email"}, ["Email"]),
    "invalid OnDelete": ({**VALID, "OnDelete": "Sometimes"}, ["OnDelete"]),
    "unknown region": ({**VALID, "Regions": ["not-a-region"]}, ["Regions"]),
    "unknown region in a string": ({**VALID, "Regions": "us-east-1,not-a-region"}, ["Regions"]),
    "empty Regions": ({**VALID, "Regions": []}, ["Regions"]),
    "neither AccountId nor AccountName+Email": (
        {"AdministratorAccountId": ADMIN},
        ["AccountId", "AccountName", "Email"],
    ),
    "AccountName without Email": ({"AdministratorAccountId": ADMIN, "AccountName": "Workload"}, ["Email"]),
    "EnableDefaultStandards maybe": ({**VALID, "EnableDefaultStandards": "maybe"}, ["EnableDefaultStandards"]),
    "CloseAccountOnDelete maybe": ({**VALID, "CloseAccountOnDelete": "maybe"}, ["CloseAccountOnDelete"]),
}


@pytest.mark.parametrize("props,names", BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_input_is_failed_naming_the_field(cfn, emulator, props, names):
    resp = cfn.create(props)
    assert_failed_naming(resp, *names)
    assert not ACCOUNT_ID.match(resp.physical_id), resp.describe()
    cfn.assert_still_serving()


@pytest.mark.parametrize(
    "value", ["true", "false", True, False], ids=["str-true", "str-false", "json-true", "json-false"]
)
def test_booleans_as_strings_or_json_are_accepted(cfn, emulator, value):
    emulator.enable_hub(ADMIN, "us-east-1")
    props = {**VALID, "Regions": ["us-east-1"], "EnableDefaultStandards": value, "CloseAccountOnDelete": False}
    if not isinstance(value, bool):
        props["CloseAccountOnDelete"] = "false"
    resp = cfn.create(props, stringify=False)
    assert_delivered(resp)
    assert "EnableDefaultStandards" not in (resp.reason or ""), resp.describe()
    assert "CloseAccountOnDelete" not in (resp.reason or ""), resp.describe()
    assert resp.status == "SUCCESS", resp.describe()
    assert resp.physical_id == MEMBER
    cfn.assert_still_serving()


# -- physical ids and the rollback's Delete ----------------------------------------------------------------------


def test_delete_of_a_non_account_id_succeeds_without_aws_calls(cfn, emulator):
    cfn.ensure_bucket()
    since = emulator.last_seq()
    resp = cfn.delete({**VALID, "OnDelete": "DisableSecurityHub"}, physical_id="SecurityHubMember-d1c2a3f4")
    assert_delivered(resp, "SUCCESS")
    assert emulator.aws_calls(since) == []
    cfn.assert_still_serving()


def test_failed_create_rolls_back_cleanly(cfn, emulator):
    props = {"AdministratorAccountId": "12345", "AccountId": MEMBER}
    created = assert_failed_naming(cfn.create(props), "AdministratorAccountId")
    pid = created.physical_id
    assert not ACCOUNT_ID.match(pid), f"a failed Create that never knew an account answered {pid!r}"
    # Lambda retries asynchronous invocations: the same request gets the same physical id.
    again = cfn.send(created.event)
    assert_delivered(again, "FAILED")
    assert again.physical_id == pid
    # CloudFormation's rollback: Delete with that id and the same properties.
    since = emulator.last_seq()
    deleted = cfn.delete(props, physical_id=pid)
    assert_delivered(deleted, "SUCCESS")
    assert emulator.aws_calls(since) == []
    cfn.assert_still_serving()


# -- delivery of the response ------------------------------------------------------------------------------------


def test_response_put_is_retried_on_5xx(cfn, emulator):
    cfn.ensure_bucket()
    emulator.configure(response_put_failures=2)
    resp = cfn.delete(VALID, physical_id="not-an-account-1")
    assert_delivered(resp, "SUCCESS")
    puts = response_puts(emulator, resp.response_key)
    assert [p["status"] for p in puts] == [500, 500, 200], puts
    cfn.assert_still_serving()


CUT_CASES = {
    "one 10,000-character unknown property": ({**VALID, "Bogus" + "x" * 9995: "1"}, "Bogus"),
    "300 unknown properties": ({**VALID, **{f"UnknownProperty{i:03d}": "x" for i in range(300)}}, "UnknownProperty000"),
    # 64 is the most Regions the provider takes; each bad name is quoted back in the Reason.
    "64 long bad regions": (
        {**VALID, "Regions": [f"bad-region-{i:02d}-{'x' * 50}" for i in range(64)]},
        "bad-region-00",
    ),
    "three 3,000-character bad values": (
        {**VALID, "OnDelete": "x" * 3000, "EnableDefaultStandards": "y" * 3000, "CloseAccountOnDelete": "z" * 3000},
        "OnDelete",
    ),
}


@pytest.mark.parametrize("props,head", CUT_CASES.values(), ids=CUT_CASES.keys())
def test_long_reason_is_cut_to_fit(cfn, props, head):
    resp = cfn.create(props)
    assert_failed_naming(resp, head)  # valid JSON, at most 4,096 bytes, Reason keeps its head
    assert len(resp.raw) <= MAX_BODY
    assert LOG_STREAM_NAME in resp.reason, f"the shortened Reason lost the log stream: ...{resp.reason[-200:]!r}"
    assert not has_control_chars(resp.reason)
    cfn.assert_still_serving()


def test_control_characters_are_stripped_from_reason(cfn):
    name = "Bad\x01\x07\x1b[31mName\r\nInjected\x7f\ttail"
    resp = cfn.create({**VALID, name: "1"})
    assert_delivered(resp, "FAILED")
    assert "Bad" in resp.reason, resp.describe()
    assert not has_control_chars(resp.reason), f"control characters in Reason: {resp.reason!r}"
    # and also when the Reason had to be cut
    long = cfn.create({**VALID, ("Evil\x00\x1b\n" * 2000): "1"})
    assert_delivered(long, "FAILED")
    assert not has_control_chars(long.reason), f"control characters in Reason: {long.reason[:200]!r}"
    cfn.assert_still_serving()


def test_reason_names_the_log_stream(cfn):
    resp = cfn.create({"AdministratorAccountId": "12345", "AccountId": MEMBER})
    assert_failed_naming(resp, LOG_STREAM_NAME, "AdministratorAccountId")
    cfn.assert_still_serving()


def test_undeliverable_response_is_reported_to_the_runtime(cfn, emulator):
    """The response endpoint never accepts: the PUT is retried within the deadline, then the runtime is told
    (an error, so that Lambda retries the idempotent work)."""
    cfn.ensure_bucket()
    emulator.configure(response_put_failures=1_000_000)
    event, key = cfn.event("Delete", VALID, physical_id="not-an-account-6")
    resp = cfn.send(event, key=key, deadline_s=8, timeout=30)
    assert resp.raw is None
    assert resp.runtime_result.kind == "error", resp.describe()
    puts = response_puts(emulator, key)
    assert len(puts) >= 2, f"the PUT was not retried: {puts}"
    assert all(p["status"] == 500 for p in puts)
    assert max(p["start"] for p in puts) < resp.deadline, "a PUT was attempted after the deadline"
    assert resp.runtime_result.received_at < resp.deadline + 1, "the runtime was answered well after the deadline"
    emulator.configure(response_put_failures=0)
    cfn.assert_still_serving()


# -- failures inside the work ------------------------------------------------------------------------------------


def test_panic_in_the_work_is_answered_failed(provider_factory, emulator):
    dep = provider_factory({"SECURITYHUB_MEMBER_ACCOUNT_TEST_PANIC": "1"})
    emulator.enable_hub(ADMIN, "us-east-1")
    pid = dep.provider.pid
    resp = dep.cfn.create({**VALID, "Regions": ["us-east-1"]})
    assert resp.status != "SUCCESS", (
        "no panic: the SECURITYHUB_MEMBER_ACCOUNT_TEST_PANIC hook exists only in "
        "debug builds; run this test against target/debug/bootstrap"
    )
    assert_delivered(resp, "FAILED")
    assert LOG_STREAM_NAME in resp.reason, resp.describe()
    assert "panic" in dep.provider.logs(), "the panic left no trace in the logs"
    # the same process goes on serving (and answers the next panic too)
    again = dep.cfn.create({**VALID, "Regions": ["us-east-1"]})
    assert_delivered(again, "FAILED")
    assert dep.provider.alive() and dep.provider.pid == pid


def _slow_aws_call(cfn: Cfn, emulator, rid: str) -> None:
    """Make the binary's first AWS call take 8 s, and everything after it (the response PUT included) fast:
    the emulator's latency is read when a request arrives, and applies to S3 too."""

    def first_calls() -> list[dict]:
        calls = emulator.aws_calls()
        assert calls or cfn.runtime_api.result(rid) is None, "answered before any AWS call"
        return calls

    wait_until(first_calls, 10, 0.02, "an AWS call by the binary")
    time.sleep(0.2)  # let concurrent first calls arrive too
    emulator.configure(latency_ms=0)


@pytest.mark.parametrize("slow", ["aws-call", "account-creation"])
def test_deadline_is_answered_failed_before_it_comes(cfn, emulator, slow):
    cfn.ensure_bucket()
    emulator.enable_hub(ADMIN, "us-east-1")
    if slow == "aws-call":
        props = {**VALID, "Regions": ["us-east-1"]}
        emulator.configure(latency_ms=8000)
    else:
        emulator.create_organization()
        emulator.configure(create_account_delay_s=120)
        props = {
            "AdministratorAccountId": ADMIN,
            "AccountName": "Slow",
            "Email": "slow@example.com",
            "Regions": ["us-east-1"],
        }
    # CloudFormation stops waiting within the invocation: no hand-off to a fresh invocation can help.
    event, key = cfn.event("Create", props, service_timeout=5)
    cfn.hold(event)
    rid = cfn.runtime_api.invoke(event, deadline_s=6.0)
    deadline = cfn.runtime_api.invocation(rid).deadline
    if slow == "aws-call":
        _slow_aws_call(cfn, emulator, rid)
    # Watch the response bucket until the deadline: the answer must be there by then.
    wait_until(
        lambda: time.time() < deadline and cfn.read_response(key) is not None,
        deadline - time.time(),
        0.1,
        "a response PUT before the deadline",
    )
    result = cfn.runtime_api.wait_result(rid, timeout=15)
    resp = CfnResponse(
        raw=cfn.read_response(key),
        runtime_result=result,
        event=event,
        lambda_request_id=rid,
        response_key=key,
        deadline=deadline,
    )
    assert_delivered(resp, "FAILED")
    reason = resp.reason.lower()
    assert any(w in reason for w in ("time", "deadline")), f"Reason does not mention the time limit: {resp.reason!r}"
    assert result.received_at < deadline, f"runtime answered {result.received_at - deadline:.1f} s after the deadline"
    emulator.configure(create_account_delay_s=0)
    cfn.assert_still_serving()


# -- the ResponseURL allowlist -----------------------------------------------------------------------------------


def _refused(cfn: Cfn, url: str, timeout: float = 90) -> CfnResponse:
    event, _ = cfn.event("Delete", VALID, physical_id="not-an-account-2", response_url=url)
    resp = cfn.send(event, key=None, deadline_s=60, timeout=timeout)
    assert resp.runtime_result.kind == "error", (
        f"runtime got {resp.runtime_result.kind} for unanswerable {url!r}: {resp.runtime_result.body[:300]!r}"
    )
    return resp


def test_response_url_outside_aws_is_refused(cfn, provider):
    url = "https://evil.example.com/x?X-Amz-Signature=0123456789abcdef0123456789abcdef"
    resp = _refused(cfn, url)
    # an error log for the refusal, tied to the request, without the URL's secret part
    provider.wait_for_log(
        lambda r: str(r.get("level", "")).upper() == "ERROR" and resp.event["RequestId"] in json.dumps(r)
    )
    assert "0123456789abcdef0123456789abcdef" not in provider.logs()
    cfn.assert_still_serving()


@pytest.mark.parametrize(
    "template",
    [
        "http://127.0.0.1:{port}/responses/x?X-Amz-Signature=abc",
        "https://127.0.0.1:{port}/responses/x",
        "http://localhost:{port}/responses/x",
        "http://s3.amazonaws.com@127.0.0.1:{port}/responses/x",
        "http://127.0.0.1:{port}/responses/x?host=s3.amazonaws.com",
        "http://127.0.0.1:{port}/.amazonaws.com/x",
        "http://127.0.0.1:{port}#.amazonaws.com",
    ],
    ids=["http", "https", "localhost", "userinfo", "query", "path", "fragment"],
)
def test_loopback_response_url_is_refused_unless_allowed(provider_factory, listener, template):
    dep = provider_factory({"ALLOW_LOOPBACK_RESPONSE_URL": None})
    pid = dep.provider.pid
    _refused(dep.cfn, template.format(port=listener.port))
    # the process is still there and still answers (refusing again)
    _refused(dep.cfn, template.format(port=listener.port))
    assert listener.connections == 0, "the refused ResponseURL was contacted"
    assert dep.provider.alive() and dep.provider.pid == pid


def test_loopback_response_url_is_used_when_allowed(cfn, listener):
    """Control for the test above: with ALLOW_LOOPBACK_RESPONSE_URL=true the listener gets the PUT, shaped as
    CloudFormation expects it (JSON body, empty Content-Type)."""
    event, _ = cfn.event(
        "Delete",
        VALID,
        physical_id="not-an-account-3",
        response_url=f"http://127.0.0.1:{listener.port}/responses/x?X-Amz-Signature=abc",
    )
    resp = cfn.send(event, key=None, timeout=60)
    assert resp.runtime_result.kind == "response"
    assert len(listener.requests) == 1, listener.requests
    seen = listener.requests[0]
    line, headers, body = seen.request_line, seen.headers, seen.body
    assert line.startswith("PUT /responses/x?X-Amz-Signature=abc "), line
    assert headers.get("content-type", "") == "", f"Content-Type {headers.get('content-type')!r}"
    assert len(body) <= MAX_BODY
    answer = json.loads(body)
    assert answer["Status"] == "SUCCESS" and answer["RequestId"] == event["RequestId"], answer
    cfn.assert_still_serving()


# -- SNS -------------------------------------------------------------------------------------------------------


def test_sns_wrapped_events_are_answered(cfn):
    ok = cfn.delete(VALID, physical_id="not-an-account-4", sns=True)
    assert_delivered(ok, "SUCCESS")
    bad = cfn.create({"AdministratorAccountId": "12345", "AccountId": MEMBER}, sns=True)
    assert_failed_naming(bad, "AdministratorAccountId")
    cfn.assert_still_serving()


# -- logs --------------------------------------------------------------------------------------------------------


def test_logs_are_json_with_request_context_and_no_secrets(cfn, provider):
    logical = f"MemberLogs{uuid.uuid4().hex[:6]}"
    failed = assert_failed_naming(cfn.create({**VALID, "OnDelete": "Sometimes"}, logical_id=logical), "OnDelete")
    deleted = cfn.delete(VALID, physical_id="not-an-account-5", logical_id=logical)
    assert_delivered(deleted, "SUCCESS")
    for resp in (failed, deleted):
        ev = resp.event
        provider.wait_for_log(
            lambda r, ev=ev: all(v in json.dumps(r) for v in (ev["RequestId"], ev["StackId"], ev["LogicalResourceId"]))
        )
    assert provider.non_json_lines() == [], f"non-JSON log lines: {provider.non_json_lines()[:5]}"
    logs = provider.logs()
    for resp in (failed, deleted):
        url = resp.event["ResponseURL"]
        query = urlsplit(url).query
        signature = parse_qs(query)["X-Amz-Signature"][0]
        assert signature not in logs, "the ResponseURL's signature was logged"
        assert query not in logs, "the ResponseURL's query string was logged"
        assert url not in logs, "the ResponseURL was logged"
    assert SECRET_ACCESS_KEY not in logs, "the AWS secret key was logged"


# -- one process, many requests --------------------------------------------------------------------------------


def test_one_process_serves_a_sequence_of_requests(cfn, provider):
    pid = provider.pid
    for i in range(5):
        assert_failed_naming(cfn.create({**VALID, f"Unknown{i}": "x"}), f"Unknown{i}")
        assert_delivered(cfn.delete(VALID, physical_id=f"not-an-account-{i}"), "SUCCESS")
    assert provider.alive() and provider.pid == pid
    # one `next` at start and one after each answer: no restarts in between
    cfn.runtime_api.wait_next_requests(11, timeout=10)
    time.sleep(0.3)
    assert cfn.runtime_api.next_requests == 11
