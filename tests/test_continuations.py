"""Work past one Lambda invocation (docs/design.md, "Long operations"), through the real binary.

An account creation that outlasts the (test-shortened) Lambda timeout goes on in fresh invocations of the same
function: the binary invokes itself asynchronously (Lambda Invoke API, `InvocationType` Event) through the
Runtime API stand-in's Invoke API, which queues the payload for the binary again, with the function's timeout
as its deadline, as Lambda does. Only CloudFormation's ServiceTimeout makes it answer FAILED, and then before
the ServiceTimeout passes, naming the creation that is still under way.

Each test checks the emulator afterwards: the accounts in the organization, the CreateAccount calls, the
response PUTs, and every invocation the stand-in saw.
"""

from __future__ import annotations

import json
import time

from harness.constants import ACCOUNT_ID, ADMIN, ENVELOPE_KEY, R1
from harness.wait import wait_until

FUNCTION_TIMEOUT_S = 8.0


def new_account(email: str) -> dict:
    return {"AdministratorAccountId": ADMIN, "AccountName": "Long Creation", "Email": email, "Regions": [R1]}


def response_puts(emulator, key: str) -> list[dict]:
    return [
        call
        for call in emulator.calls()
        if call["service"] == "s3" and call["method"] == "PUT" and call["path"].endswith(key)
    ]


def start(emulator, cfn, props: dict, creation_s: float, **event_options) -> tuple[dict, str, float]:
    """Sends a Create whose account takes `creation_s` to make, with the shortened Lambda timeout; answers the
    event, its response key and when it was sent."""
    emulator.create_organization()
    emulator.enable_hub(ADMIN, R1)
    emulator.configure(create_account_delay_s=creation_s)
    cfn.runtime_api.function_timeout_s = FUNCTION_TIMEOUT_S
    event, key = cfn.event("Create", props, **event_options)
    cfn.hold(event)
    sent = time.time()
    cfn.runtime_api.invoke(event, deadline_s=FUNCTION_TIMEOUT_S)
    return event, key, sent


def answer(cfn, key: str, timeout: float) -> dict:
    raw = wait_until(lambda: cfn.read_response(key), timeout, 0.2, "the response PUT")
    return json.loads(raw)


def continuations(cfn) -> list[dict]:
    """The payloads of the invocations that continued a request."""
    payloads = [json.loads(invocation.payload) for invocation in cfn.runtime_api.invocations]
    return [payload for payload in payloads if isinstance(payload, dict) and ENVELOPE_KEY in payload]


def test_a_creation_longer_than_the_lambda_timeout_succeeds_through_continuations(emulator, cfn):
    event, key, sent = start(emulator, cfn, new_account("long@example.com"), creation_s=18)
    response = answer(cfn, key, timeout=60)

    assert response["Status"] == "SUCCESS", response
    [account] = emulator.accounts_with_email("long@example.com")
    assert response["PhysicalResourceId"] == account["Id"]
    assert time.time() - sent >= 18, "answered before the creation could have finished"
    assert len(emulator.aws_calls(operation="CreateAccount")) == 1, "a continuation created the account again"
    assert len(response_puts(emulator, key)) == 1, "one answer"
    assert emulator.member_status(ADMIN, account["Id"], R1) == "Enabled"
    # 18 s of creation in 8 s invocations: at least two hand-offs, each carrying the request as it arrived and
    # the same first arrival.
    handed = continuations(cfn)
    assert len(handed) >= 2, handed
    assert [payload[ENVELOPE_KEY]["Hop"] for payload in handed] == list(range(1, len(handed) + 1))
    assert {payload[ENVELOPE_KEY]["FirstArrivalMs"] for payload in handed} == {
        handed[0][ENVELOPE_KEY]["FirstArrivalMs"]
    }
    assert abs(handed[0][ENVELOPE_KEY]["FirstArrivalMs"] / 1000 - sent) < 2
    assert all(payload["Request"] == event for payload in handed)
    # Every invocation ended well (a hand-off is no error, which Lambda would retry).
    results = [cfn.runtime_api.wait_result(inv.request_id, 10) for inv in cfn.runtime_api.invocations]
    assert [result.kind for result in results] == ["response"] * len(results)
    assert "handed to a fresh invocation" in cfn.provider.logs()


def test_a_service_timeout_shorter_than_the_creation_answers_failed_before_it(emulator, cfn):
    event, key, sent = start(emulator, cfn, new_account("slow@example.com"), creation_s=120, service_timeout=20)
    response = answer(cfn, key, timeout=40)
    answered = time.time()

    assert response["Status"] == "FAILED", response
    assert answered < sent + 20, f"answered {answered - sent:.1f} s after the request, past its ServiceTimeout"
    assert continuations(cfn), "the Lambda deadline came first: the request was to go on in a fresh invocation"
    [creation] = emulator.client("organizations").list_create_account_status()["CreateAccountStatuses"]
    reason = response["Reason"]
    assert creation["Id"] in reason and "ServiceTimeout, 20 s" in reason, reason
    assert "give AccountId instead of AccountName and Email" in reason, reason
    assert not ACCOUNT_ID.match(response["PhysicalResourceId"]), "no account is known yet"
    assert len(response_puts(emulator, key)) == 1

    # The rollback's Delete of that answer touches nothing in AWS.
    seq = emulator.last_seq()
    cfn.runtime_api.function_timeout_s = 900
    delete = cfn.delete(new_account("slow@example.com"), physical_id=response["PhysicalResourceId"])
    assert delete.status == "SUCCESS", delete.describe()
    assert emulator.aws_calls(since=seq) == []


def settle(apis, rounds: int = 20) -> None:
    """Waits until every invocation of `apis` has ended with a response, hand-offs made meanwhile included: an
    invocation's hand-off is registered before the invocation ends, so a round that finds no new invocation is the
    last. Bounded: at most `rounds` rounds (hand-offs are at most 12 per request)."""
    for _ in range(rounds):
        known = [(api, invocation.request_id) for api in apis for invocation in list(api.invocations)]
        for api, request_id in known:
            assert api.wait_result(request_id, 60).kind == "response"
        if len(known) == sum(len(api.invocations) for api in apis):
            return
    raise AssertionError(f"invocations still appearing after {rounds} rounds")


def test_duplicate_continuations_converge_on_one_account(emulator, cfn, provider_factory):
    """Lambda delivers an asynchronous event at least once: the same continuation may run twice, at once (in
    two processes) or after the request was answered."""
    twin = provider_factory()
    event, key, _ = start(emulator, cfn, new_account("twice@example.com"), creation_s=12)
    first = wait_until(lambda: continuations(cfn), 20, 0.1, "a hand-off")[0]
    # The same continuation again, at once, to another process.
    twin.runtime_api.function_timeout_s = FUNCTION_TIMEOUT_S
    twin.runtime_api.invoke(first, deadline_s=FUNCTION_TIMEOUT_S)
    response = answer(cfn, key, timeout=60)

    assert response["Status"] == "SUCCESS", response
    [account] = emulator.accounts_with_email("twice@example.com")
    assert response["PhysicalResourceId"] == account["Id"]
    assert len(emulator.aws_calls(operation="CreateAccount")) == 1
    # Both runs end with the same answer (CloudFormation takes the first; the provider's answers for one
    # resource always carry the same physical id and data).
    settle((cfn.runtime_api, twin.runtime_api))
    assert len(response_puts(emulator, key)) <= 2
    last = json.loads(cfn.read_response(key))
    assert (last["Status"], last["PhysicalResourceId"], last["Data"]) == ("SUCCESS", account["Id"], response["Data"])

    # After the answer CloudFormation completes the resource; a continuation delivered again then finds no
    # operation waiting for it, and stops without a second answer.
    puts = len(response_puts(emulator, key))
    emulator.set_stack(event["StackId"], status="CREATE_COMPLETE", physical_ids={"Member": account["Id"]})
    late = cfn.runtime_api.invoke(first, deadline_s=FUNCTION_TIMEOUT_S)
    assert cfn.runtime_api.wait_result(late, 30).kind == "response"
    assert len(response_puts(emulator, key)) == puts, "a late duplicate answered again"
    assert "no longer waits" in cfn.provider.logs()
    assert len(emulator.accounts_with_email("twice@example.com")) == 1
