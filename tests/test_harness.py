"""Tests of the harness itself: the Lambda Runtime API stand-in, the event builders, and the provider runner
(with a tiny stand-in runtime client instead of the real binary)."""

from __future__ import annotations

import json
import socket
import stat
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from harness import events
from harness.fixtures import Cfn
from harness.provider import LOG_STREAM_NAME, SECRET_ACCESS_KEY, Provider
from harness.runtime_api import RuntimeApi, RuntimeApiTimeout

BASE = "/2018-06-01/runtime"


def _get_next(api: RuntimeApi, timeout: float = 10):
    with urllib.request.urlopen(f"http://{api.address}{BASE}/invocation/next", timeout=timeout) as r:
        return r.status, dict(r.headers), r.read()


def _post(api: RuntimeApi, path: str, body: bytes, headers: dict | None = None):
    req = urllib.request.Request(f"http://{api.address}{BASE}{path}", data=body, method="POST", headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def _fake_client(api: RuntimeApi, answer, count: int = 1):
    """A runtime client in a thread: `count` times, take the next event and post `answer(headers, body)`."""
    seen = []

    def run():
        for _ in range(count):
            status, headers, body = _get_next(api)
            seen.append((headers, body))
            kind, out = answer(headers, body)
            _post(api, f"/invocation/{headers['Lambda-Runtime-Aws-Request-Id']}/{kind}", out)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, seen


def test_next_response_round_trip():
    with RuntimeApi() as api:
        t, seen = _fake_client(api, lambda h, b: ("response", b'{"echo":' + b + b"}"))
        before = time.time()
        rid = api.invoke({"hello": "world"}, deadline_s=42)
        res = api.wait_result(rid, timeout=10)
        t.join(5)
        assert res.kind == "response"
        assert res.json() == {"echo": {"hello": "world"}}
        headers, body = seen[0]
        assert json.loads(body) == {"hello": "world"}
        assert headers["Lambda-Runtime-Aws-Request-Id"] == rid
        deadline_ms = int(headers["Lambda-Runtime-Deadline-Ms"])
        assert before * 1000 + 41_000 <= deadline_ms <= time.time() * 1000 + 42_000
        assert headers["Lambda-Runtime-Invoked-Function-Arn"].startswith("arn:aws:lambda:us-east-1:")
        assert headers["Lambda-Runtime-Trace-Id"].startswith("Root=1-")
        assert api.next_requests == 1
        assert api.address.startswith("127.0.0.1:")


def test_default_deadline_is_fifteen_minutes():
    with RuntimeApi() as api:
        rid = api.invoke("{}")
        assert 899 <= api.invocation(rid).deadline - time.time() <= 900


def test_error_and_init_error_are_recorded():
    with RuntimeApi() as api:
        t, _ = _fake_client(api, lambda h, b: ("error", b'{"errorType":"Boom","errorMessage":"no"}'))
        rid = api.invoke(b"{}")
        res = api.wait_result(rid, timeout=10)
        t.join(5)
        assert res.kind == "error" and res.json()["errorType"] == "Boom"
        assert _post(api, "/init/error", b'{"errorType":"Init"}', {"Lambda-Runtime-Function-Error-Type": "X"}) == 202
        assert api.init_errors[0].body == b'{"errorType":"Init"}'


def test_second_answer_and_unknown_id_are_refused():
    with RuntimeApi() as api:
        t, _ = _fake_client(api, lambda h, b: ("response", b"1"))
        rid = api.invoke({})
        api.wait_result(rid, 10)
        t.join(5)
        assert _post(api, f"/invocation/{rid}/response", b"2") == 400
        assert _post(api, "/invocation/nope/response", b"3") == 400
        assert api.wait_result(rid, 1).body == b"1"
        assert [p.body for p in api.posts] == [b"1", b"2"]


def _invoke_api(api: RuntimeApi, function: str, payload: bytes, invocation_type: str | None = None):
    """Lambda's Invoke API on the stand-in: (status, headers, body)."""
    headers = {"X-Amz-Invocation-Type": invocation_type} if invocation_type else {}
    req = urllib.request.Request(
        f"{api.invoke_url}/2015-03-31/functions/{function}/invocations", data=payload, method="POST", headers=headers
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, dict(r.headers), r.read()


def test_invoke_api_event_queues_the_payload_for_the_named_function():
    arn = "arn:aws:lambda:us-east-1:123456789012:function:from-a-template"
    with RuntimeApi() as api:
        status, headers, body = _invoke_api(api, urllib.parse.quote(arn, safe=""), b'{"a":1}', "Event")
        assert (status, body) == (202, b"")
        [invocation] = api.invocations
        assert invocation.request_id == headers["X-Amzn-RequestId"]
        assert (invocation.payload, invocation.function_arn) == (b'{"a":1}', arn)
        _invoke_api(api, "by-name-only", b"{}", "Event")
        assert api.invocations[1].function_arn == api.function_arn  # a bare name: the stand-in's own function


def test_invoke_api_request_response_waits_for_the_answer():
    with RuntimeApi() as api:
        t, _ = _fake_client(api, lambda h, b: ("response", b'{"ok":' + b + b"}"), count=2)
        assert _invoke_api(api, "fn", b"1")[::2] == (200, b'{"ok":1}')
        status, headers, body = _invoke_api(api, "fn", b"2", "RequestResponse")
        assert (status, body) == (200, b'{"ok":2}') and "X-Amz-Function-Error" not in headers
        t.join(5)
        t, _ = _fake_client(api, lambda h, b: ("error", b'{"errorType":"Boom"}'))
        status, headers, body = _invoke_api(api, "fn", b"3")
        t.join(5)
        assert (status, headers["X-Amz-Function-Error"], body) == (200, "Unhandled", b'{"errorType":"Boom"}')
        assert _invoke_api(api, "fn", b"4", "DryRun")[0] == 204
        assert len(api.invocations) == 3  # a dry run invokes nothing


def test_wait_result_is_bounded():
    with RuntimeApi() as api:
        rid = api.invoke({})
        start = time.monotonic()
        with pytest.raises(RuntimeApiTimeout, match="still queued"):
            api.wait_result(rid, timeout=0.3)
        assert time.monotonic() - start < 2


def test_next_blocks_until_an_event_is_queued():
    with RuntimeApi() as api:
        got = []
        t = threading.Thread(target=lambda: got.append(_get_next(api)), daemon=True)
        t.start()
        api.wait_polling(1, timeout=5)
        time.sleep(0.8)  # longer than one internal wait slice: still parked
        assert not got
        api.invoke({"late": True})
        t.join(5)
        assert json.loads(got[0][2]) == {"late": True}


def test_close_releases_parked_pollers():
    api = RuntimeApi()
    done = threading.Event()

    def poll():
        try:
            _get_next(api, timeout=10)
        except Exception:
            pass
        done.set()

    threading.Thread(target=poll, daemon=True).start()
    api.wait_polling(1, timeout=5)
    api.close()
    assert done.wait(5)


def test_each_event_goes_to_one_poller():
    with RuntimeApi() as api:
        clients = [_fake_client(api, lambda h, b: ("response", b), count=5) for _ in range(4)]
        api.wait_polling(4, timeout=5)
        rids = [api.invoke({"n": n}) for n in range(20)]
        results = [api.wait_result(r, timeout=10) for r in rids]
        for t, _ in clients:
            t.join(5)
        assert [r.json() for r in results] == [{"n": n} for n in range(20)]
        bodies = sorted(json.loads(b)["n"] for _, seen in clients for _, b in seen)
        assert bodies == list(range(20))
        assert len(api.posts) == 20


def test_a_poller_that_hung_up_does_not_swallow_an_event():
    with RuntimeApi() as api:
        s = socket.create_connection(("127.0.0.1", api.port), timeout=5)
        s.sendall(f"GET {BASE}/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        api.wait_polling(1, timeout=5)
        s.close()
        time.sleep(0.7)  # the parked request notices within one slice
        t, _ = _fake_client(api, lambda h, b: ("response", b"ok"))
        rid = api.invoke({})
        assert api.wait_result(rid, timeout=10).body == b"ok"
        t.join(5)


def test_events_are_shaped_like_cloudformation():
    url = "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x?X-Amz-Signature=abc"
    ev = events.update(
        {"AccountId": "111111111111", "EnableDefaultStandards": False, "Regions": ["us-east-1"]},
        {"AccountId": "111111111111"},
        "111111111111",
        url,
    )
    assert ev["RequestType"] == "Update" and ev["ResponseURL"] == url
    assert ev["ResourceType"] == "Custom::SecurityHubMemberAccount"
    assert ev["StackId"].startswith("arn:aws:cloudformation:us-east-1:123456789012:stack/member-stack/")
    assert ev["ResourceProperties"]["ServiceToken"] == ev["ServiceToken"]
    assert ev["ResourceProperties"]["EnableDefaultStandards"] == "false"
    assert ev["OldResourceProperties"]["ServiceToken"] == ev["ServiceToken"]
    # ServiceTimeout as the project's templates set it, in every place CloudFormation puts it; or nowhere.
    assert ev["ServiceTimeout"] == ev["ResourceProperties"]["ServiceTimeout"] == "1200"
    assert ev["OldResourceProperties"]["ServiceTimeout"] == "1200"
    bare = events.create({}, url, service_timeout=None)
    assert "ServiceTimeout" not in bare and "ServiceTimeout" not in bare["ResourceProperties"]
    assert ev["PhysicalResourceId"] == "111111111111"
    assert events.create({"N": 3}, url)["ResourceProperties"]["N"] == "3"
    assert events.create({"B": True}, url, stringify=False)["ResourceProperties"]["B"] is True
    assert "PhysicalResourceId" not in events.create({}, url)
    wrapped = events.sns_wrap(ev)
    rec = wrapped["Records"][0]
    assert rec["EventSource"] == "aws:sns" and json.loads(rec["Sns"]["Message"]) == ev


FAKE_BOOTSTRAP = textwrap.dedent("""\
    #!{python}
    # A stand-in runtime client: answers every event SUCCESS, reporting its environment's AWS_* names.
    import json, os, sys, urllib.request
    api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
    print(json.dumps({{"level": "INFO", "message": "started"}}), flush=True)
    while True:
        with urllib.request.urlopen(api + "next", timeout=120) as r:
            rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
            event = json.loads(r.read())
        if "Records" in event:
            event = json.loads(event["Records"][0]["Sns"]["Message"])
        body = json.dumps({{
            "Status": "SUCCESS", "Reason": "see " + os.environ["AWS_LAMBDA_LOG_STREAM_NAME"],
            "PhysicalResourceId": "fake", "StackId": event["StackId"], "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": {{"Env": ",".join(sorted(k for k in os.environ if k.startswith("AWS")))}},
        }}).encode()
        req = urllib.request.Request(event["ResponseURL"], data=body, method="PUT", headers={{"Content-Type": ""}})
        urllib.request.urlopen(req, timeout=30).close()
        print(json.dumps({{"level": "INFO", "message": "answered", "RequestId": event["RequestId"]}}), flush=True)
        urllib.request.urlopen(urllib.request.Request(api + rid + "/response", data=b"{{}}", method="POST"),
                               timeout=30).close()
""")


def test_provider_and_cfn_driver_with_a_stand_in_client(emulator, tmp_path, monkeypatch):
    """The harness plumbing end to end, without the real binary: env, logs, presigned PUT, read-back."""
    fake = tmp_path / "bootstrap"
    fake.write_text(FAKE_BOOTSTRAP.format(python=sys.executable))
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("AWS_ROLE_SESSION_NAME", "host-session-must-not-leak")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "host-token-must-not-leak")
    with RuntimeApi() as api, Provider(fake, api, emulator.url, log_path=tmp_path / "log") as prov:
        cfn = Cfn(emulator, api, prov)
        resp = cfn.create({"AdministratorAccountId": "123456789012", "AccountId": "111111111111"})
        assert resp.runtime_result.kind == "response"
        assert resp.status == "SUCCESS" and resp.physical_id == "fake"
        assert LOG_STREAM_NAME in resp.reason
        env = resp.data["Env"].split(",")
        assert "AWS_ENDPOINT_URL" in env and "AWS_LAMBDA_RUNTIME_API" in env
        assert "AWS_ROLE_SESSION_NAME" not in env and "AWS_SESSION_TOKEN" not in env
        assert cfn.send(resp.event | {"RequestId": "again"}, key=resp.response_key, sns=True).status == "SUCCESS"
        cfn.assert_still_serving()
        assert prov.alive()
        assert prov.records_mentioning(resp.event["RequestId"])
        assert not prov.non_json_lines()
        assert SECRET_ACCESS_KEY not in prov.logs()
    assert not prov.alive()
    # nothing was PUT to a key nobody answered
    assert cfn.read_response("responses/never-used") is None


def test_the_cfn_driver_holds_each_requests_stack_as_cloudformation_has_it(emulator):
    """Every request is for a real stack: held in progress on first use, then in the status (and with the
    physical id) CloudFormation shows while it waits for that request; `hold=False` leaves the stack alone."""
    with RuntimeApi() as api:
        cfn = Cfn(emulator, api)
        create, _ = cfn.event("Create", {"AccountId": "111111111111"})
        assert cfn.hold(create) == cfn.stack_id
        held = emulator.held_stack(cfn.stack_id)
        assert held["status"] == "CREATE_IN_PROGRESS"
        assert held["resources"]["Member"] == {"type": "Custom::SecurityHubMemberAccount", "physical_id": None}
        for kind, status in (("Update", "UPDATE_IN_PROGRESS"), ("Delete", "DELETE_IN_PROGRESS")):
            extra = {"old_props": {}} if kind == "Update" else {}
            event, _ = cfn.event(kind, {}, physical_id="111111111111", **extra)
            cfn.hold(event)
            held = emulator.held_stack(cfn.stack_id)
            assert held["status"] == status and held["resources"]["Member"]["physical_id"] == "111111111111"
        # Another logical id joins the same stack; another account's stack is held in that account.
        cfn.hold(cfn.event("Create", {}, logical_id="Second")[0])
        assert sorted(emulator.held_stack(cfn.stack_id)["resources"]) == ["Member", "Second"]
        elsewhere = events.stack_id(account="232323232323", region="eu-west-1")
        cfn.hold(cfn.event("Create", {}, stack=elsewhere)[0])
        described = emulator.client("cloudformation", "232323232323", "eu-west-1").describe_stacks(StackName=elsewhere)[
            "Stacks"
        ][0]
        assert described["StackStatus"] == "CREATE_IN_PROGRESS"
        # After a reset of the emulator the stack is held again.
        emulator.reset()
        cfn.hold(cfn.event("Delete", {}, physical_id="111111111111")[0])
        assert emulator.held_stack(cfn.stack_id)["status"] == "DELETE_IN_PROGRESS"
        # Events no stack could send are sent as they are.
        for forged in (
            {"StackId": "not-an-arn"},
            {"LogicalResourceId": "no such id!"},
            {"ResourceType": "AWS::SNS::Topic"},
        ):
            assert cfn.hold(dict(create, **forged)) is None


def test_missing_binary_fails_clearly(tmp_path):
    from harness.provider import BinaryMissing

    with RuntimeApi() as api:
        with pytest.raises(BinaryMissing, match="not found"):
            Provider(tmp_path / "nope", api, "http://127.0.0.1:1")
