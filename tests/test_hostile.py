"""Hostile input: a corpus of events, properties and ResponseURLs (tests/hostile/*.jsonl) thrown at the real
binary. The contract: bad input is answered FAILED with a Reason naming the field; a ResponseURL outside the
allowlist is refused — answered nowhere, nothing contacted, no AWS call; every body is at most 4,096 bytes; and
the process keeps serving (the same PID answers a harmless request after every case).

Each line of the corpus is one case:

    id, description       what it is
    provider              "loopback" (ALLOW_LOOPBACK_RESPONSE_URL=true, default) or "no-loopback" (unset)
    event / properties    overrides merged onto a valid Create (null removes a key); or
    raw / raw_hex / payload   the whole payload, sent as is; or sns: 1 (2) to wrap the valid event once (twice)
    expect                "FAILED naming <text>" | "SUCCESS" | "refused" | "redirect not followed",
                          or a list of acceptable alternatives
    at                    "listener": the answer goes to the local listener, not the response bucket
    verify                extra checks: account-created-verbatim, no-aws-calls, bounded-aws-calls,
                          no-injected-header, no-forged-log-line

Placeholders in strings: @@RESPONSE_URL@@ (a fresh response URL: presigned on the emulator for the loopback
provider, CloudFormation's response bucket on the stand-in S3 behind the proxy for the other), @@KEY@@ (that
URL's key, for URLs a case spells out), @@LISTENER@@ / @@LISTENER_PORT@@ (a local sink), @@REDIRECTOR@@ (a local
listener answering redirects), @@CASE@@ (the case id).

Every event case is for a real stack, held in progress on the emulator as CloudFormation holds one while it waits
(`Cfn.hold`, with the event's StackId, LogicalResourceId and ResourceType): the provider checks the request's
origin before any change. An event no stack could send (its StackId is not a stack ARN, its LogicalResourceId not
one CloudFormation allows) is refused by that check: such cases, once answered SUCCESS, now expect FAILED naming
the field (their descriptions say so). A ResponseURL is accepted only on CloudFormation's response buckets
(`cloudformation-custom-resource-response-*` on S3): the tricks in urls.jsonl are played on that host, so that
each is refused for its trick alone, and the `url-bucket-*` cases hold the bucket rule itself. Generated values:
{"$repeat": s, "times": n}, {"$list": x, "times": n}, {"$regions": n}, {"$nest": n},
{"$object": {"prefix": p, "times": n}}, and in properties {"$key": k, "$value": v}.

Every binary here runs behind a proxy standing in for the internet (harness.reliability.Internet), so that a URL
wrongly accepted could never leave the machine, and would be seen.
"""

from __future__ import annotations

import json
import pathlib
import string
import uuid

import pytest

from emulator.client import Emulator
from harness import events
from harness.assertions import MAX_BODY, has_control_chars
from harness.constants import ADMIN
from harness.fixtures import STACK_ARN, Cfn
from harness.listener import Listener
from harness.provider import Provider
from harness.reliability import AWS_RESPONSE_HOST, Internet, record_figure
from harness.runtime_api import RuntimeApi

CORPUS_DIR = pathlib.Path(__file__).resolve().parent / "hostile"
MEMBER = "222222222222"
REGION = "us-east-1"
CASE_TIMEOUT_S = 60
MAX_AWS_CALLS_PER_CASE = 50
KINDS = ("FAILED naming ", "SUCCESS", "refused", "redirect not followed")
# Response-bucket hosts the url-bucket-* controls answer at (the TLS stand-in must hold their names).
RESPONSE_HOSTS = (
    "cloudformation-custom-resource-response-euwest1.s3.eu-west-1.amazonaws.com",
    "cloudformation-custom-resource-response-euwest1.s3-eu-west-1.amazonaws.com",
    "s3.eu-west-1.amazonaws.com",
    "cloudformation-custom-resource-response-useast2.s3.dualstack.us-east-2.amazonaws.com",
)


def load_corpus() -> list[dict]:
    cases = []
    for path in sorted(CORPUS_DIR.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            case = json.loads(line)
            case["file"] = f"{path.name}:{number}"
            cases.append(case)
    return cases


CASES = load_corpus()


def expectations(case: dict) -> list[str]:
    expect = case["expect"]
    return expect if isinstance(expect, list) else [expect]


def test_corpus_is_well_formed():
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    assert len(CASES) >= 40
    for case in CASES:
        assert case.get("description"), case["file"]
        for expect in expectations(case):
            assert expect.startswith(KINDS), f"{case['file']}: unknown expectation {expect!r}"
    record_figure(
        "hostile_cases",
        len(CASES),
        refused=sum("refused" in expectations(c) for c in CASES),
        failed_naming=sum(any(e.startswith("FAILED") for e in expectations(c)) for c in CASES),
        success=sum("SUCCESS" in expectations(c) for c in CASES),
        redirects=sum("redirect not followed" in expectations(c) for c in CASES),
    )


# -- the world: an emulator, two binaries behind a fake internet, local listeners ------------------------------


class Side:
    """One binary on its own Runtime API stand-in."""

    def __init__(self, name: str, binary, emulator: Emulator, env: dict, log_dir: pathlib.Path):
        self.name = name
        self.api = RuntimeApi()
        self.provider = Provider(
            binary, self.api, emulator.url, env_overrides=env, log_path=log_dir / f"hostile-{name}.log"
        )
        self.api.wait_polling(1, timeout=20)
        self.pid = self.provider.pid
        self.cfn = Cfn(emulator, self.api, self.provider)

    def close(self):
        self.provider.stop()
        self.api.close()


class World:
    def __init__(self, emulator_url: str, binary, tmp: pathlib.Path):
        self.emulator = Emulator(emulator_url)
        self.emulator.reset()
        self.emulator.create_organization()
        self.emulator.enable_hub(ADMIN, REGION)
        self.internet = Internet(tmp / "internet", hostnames=RESPONSE_HOSTS)
        self.sink = Listener()
        self.sink2 = Listener()
        self.redirector = Listener(
            redirects={
                "sink2": self.sink2.url + "/stolen",
                "internet": "http://evil.example/stolen",
                "aws": f"https://{AWS_RESPONSE_HOST}/stolen",
            }
        )
        self.sides: dict[str, Side] = {}
        self.sides["loopback"] = Side("loopback", binary, self.emulator, self.internet.env(), tmp)
        self.sides["no-loopback"] = Side(
            "no-loopback", binary, self.emulator, {**self.internet.env(), "ALLOW_LOOPBACK_RESPONSE_URL": None}, tmp
        )
        self.sides["loopback"].cfn.ensure_bucket()

    def close(self):
        for side in self.sides.values():
            side.close()
        for server in (self.sink, self.sink2, self.redirector, self.internet):
            server.close()

    def contacts(self) -> dict[str, int]:
        return {
            "sink": self.sink.contacts(),
            "sink2": self.sink2.contacts(),
            "redirector": self.redirector.contacts(),
            "internet": self.internet.contacts(),
        }


@pytest.fixture(scope="module")
def world(emulator_server, bootstrap_binary, tmp_path_factory):
    w = World(emulator_server.url, bootstrap_binary, tmp_path_factory.mktemp("hostile"))
    try:
        yield w
    finally:
        w.close()


# -- building a case's payload ---------------------------------------------------------------------------------


def region_name(i: int) -> str:
    """A distinct region-shaped name nobody has enabled: zz-<letters>-1."""
    letters = ""
    i += 1
    while i:
        i, rest = divmod(i - 1, 26)
        letters = string.ascii_lowercase[rest] + letters
    return f"zz-{letters}-1"


def expand(value, subst):
    if isinstance(value, str):
        return subst(value)
    if isinstance(value, list):
        return [expand(v, subst) for v in value]
    if isinstance(value, dict):
        if "$repeat" in value:
            return value["$repeat"] * value["times"]
        if "$list" in value:
            return [expand(value["$list"], subst)] * value["times"]
        if "$regions" in value:
            return [region_name(i) for i in range(value["$regions"])]
        if "$nest" in value:
            nested: list = ["us-east-1"]
            for _ in range(value["$nest"]):
                nested = [nested]
            return nested
        if "$object" in value:
            spec = value["$object"]
            return {f"{spec['prefix']}{i}": "x" for i in range(spec["times"])}
        return {subst(k): expand(v, subst) for k, v in value.items()}
    return value


def merge(base: dict, overrides: dict, subst) -> dict:
    out = dict(base)
    overrides = dict(overrides)
    if "$key" in overrides:
        out[expand(overrides.pop("$key"), subst)] = expand(overrides.pop("$value"), subst)
    for key, value in overrides.items():
        key = subst(key)
        if value is None:
            out.pop(key, None)
        else:
            out[key] = expand(value, subst)
    return out


class Built:
    def __init__(self, payload, event: dict | None, key: str | None, target: str):
        self.payload = payload  # what is invoked (dict/list/str/bytes/None)
        self.event = event  # the request event, when the case is one
        self.key = key  # where the answer is expected: an S3 key, an Internet path, or None
        self.target = target  # "bucket" | "internet" | "listener"


def build(case: dict, world: World, side: Side) -> Built:
    response_key = f"hostile/{case['id']}-{uuid.uuid4().hex[:8]}"
    if side.name == "loopback":
        response_url, _ = side.cfn.response_url(response_key)
        target = "bucket"
    else:
        response_url = world.internet.aws_url(response_key)
        target = "internet"
    if case.get("at") == "listener":
        target = "listener"

    def subst(text: str) -> str:
        return (
            text.replace("@@RESPONSE_URL@@", response_url)
            .replace("@@KEY@@", response_key)
            .replace("@@LISTENER_PORT@@", str(world.sink.port))
            .replace("@@LISTENER@@", f"127.0.0.1:{world.sink.port}")
            .replace("@@REDIRECTOR@@", f"127.0.0.1:{world.redirector.port}")
            .replace("@@CASE@@", case["id"])
        )

    if "raw" in case:
        return Built(subst(case["raw"]).encode(), None, response_key, target)
    if "raw_hex" in case:
        return Built(bytes.fromhex(case["raw_hex"]), None, response_key, target)
    if "payload" in case:
        return Built(expand(case["payload"], subst), None, response_key, target)
    props = merge(
        events.properties({"AdministratorAccountId": ADMIN, "AccountId": MEMBER, "Regions": [REGION]}),
        case.get("properties", {}),
        subst,
    )
    # CloudFormation repeats ServiceToken and ServiceTimeout at the top level (harness.events).
    event = {
        "RequestType": "Create",
        "ServiceToken": events.SERVICE_TOKEN,
        "ServiceTimeout": events.SERVICE_TIMEOUT,
        "ResponseURL": response_url,
        "StackId": events.stack_id("hostile"),
        "RequestId": str(uuid.uuid4()),
        "LogicalResourceId": "Member",
        "ResourceType": events.RESOURCE_TYPE,
        "ResourceProperties": props,
    }
    event = merge(event, case.get("event", {}), subst)
    hold_stack(world, side, event)
    payload = event
    for _ in range(case.get("sns", 0)):
        payload = events.sns_wrap(payload)
    return Built(payload, event, response_key, target)


def hold_stack(world: World, side: Side, event: dict) -> None:
    """The event's stack, held in progress with the event's resource (`Cfn.hold`); for a LogicalResourceId no
    stack can hold, the stack all the same (with its usual Member), so that only the logical id is forged."""
    if side.cfn.hold(event) is not None:
        return
    stack_id = event.get("StackId")
    arn = STACK_ARN.fullmatch(stack_id) if isinstance(stack_id, str) else None
    if arn is not None:
        region, account = arn.groups()
        world.emulator.hold_stack(account, region, stack_id=stack_id)


# -- judging ---------------------------------------------------------------------------------------------------


class Outcome:
    def __init__(self, world: World, side: Side, built: Built, rid: str, before: dict, seq: int, errors_before: int):
        self.world, self.side, self.built = world, side, built
        self.result = side.api.wait_result(rid, CASE_TIMEOUT_S)
        self.contacts = {k: v - before[k] for k, v in world.contacts().items()}
        self.new_calls = world.emulator.calls(seq)
        self.aws_calls = world.emulator.aws_calls(seq)
        self.errors_logged = sum(r.get("level") == "ERROR" for r in side.provider.log_records()) - errors_before
        self.puts = self._answers()

    def _answers(self) -> list[bytes]:
        built, world = self.built, self.world
        if built.target == "bucket":
            raw = self.side.cfn.read_response(built.key)
            return [] if raw is None else [raw]
        if built.target == "internet":
            return [s.body for s in world.internet.received_key(built.key)]
        return [s.body for s in world.sink.requests[-max(self.contacts["sink"], 0) :]] if self.contacts["sink"] else []

    def describe(self) -> str:
        answers = [p[:600].decode("utf-8", "replace") for p in self.puts]
        return (
            f"runtime {self.result.kind} {self.result.body[:300]!r}; answers {answers}; contacts {self.contacts}; "
            f"AWS calls {[c['operation'] for c in self.aws_calls]}"
        )


def others_untouched(outcome: Outcome, allowed: tuple[str, ...] = ()) -> str | None:
    touched = {k: v for k, v in outcome.contacts.items() if v and k not in allowed}
    return f"contacted {touched}" if touched else None


def judge(expect: str, case: dict, outcome: Outcome) -> str | None:
    """None when the outcome meets `expect`, else why not."""
    built = outcome.built
    if expect == "refused":
        if outcome.result.kind != "error":
            return f"the runtime was told {outcome.result.kind}, not an error"
        if outcome.puts:
            return f"answered somewhere: {outcome.puts[0][:200]!r}"
        if others_untouched(outcome):
            return others_untouched(outcome)
        if outcome.new_calls:
            return f"AWS contacted: {[c['operation'] for c in outcome.new_calls]}"
        if outcome.errors_logged < 1:
            return "no error was logged"
        return None
    if expect == "redirect not followed":
        if outcome.result.kind != "error":
            return f"the runtime was told {outcome.result.kind}: a redirect is not a delivered response"
        if outcome.contacts["redirector"] < 1:
            return "the ResponseURL itself was not contacted"
        return others_untouched(outcome, allowed=("redirector",))
    # An answer is expected.
    if outcome.result.kind != "response":
        return f"the runtime was told {outcome.result.kind}, not Ok"
    if len(outcome.puts) != 1:
        return f"{len(outcome.puts)} answers at the ResponseURL"
    raw = outcome.puts[0]
    if len(raw) > MAX_BODY:
        return f"body of {len(raw)} bytes, over {MAX_BODY}"
    body = json.loads(raw)
    allowed = ("sink",) if built.target == "listener" else ("internet",) if built.target == "internet" else ()
    if others_untouched(outcome, allowed):
        return others_untouched(outcome, allowed)
    if built.event is not None:
        for field in ("StackId", "RequestId", "LogicalResourceId"):
            sent = built.event.get(field)
            if isinstance(sent, str) and body.get(field) != sent:
                return f"{field} not echoed exactly: {body.get(field)!r:.100}"
    if expect == "SUCCESS":
        return None if body.get("Status") == "SUCCESS" else f"status {body.get('Status')}: {body.get('Reason')}"
    name = expect[len("FAILED naming ") :]
    reason = body.get("Reason") or ""
    if body.get("Status") != "FAILED":
        return f"status {body.get('Status')}"
    if name not in reason:
        return f"Reason does not name {name!r}: {reason[:300]!r}"
    if has_control_chars(reason):
        return f"control characters in Reason: {reason[:300]!r}"
    return None


def verify(check: str, case: dict, outcome: Outcome) -> None:
    built = outcome.built
    if check == "account-created-verbatim":
        props = built.event["ResourceProperties"]
        accounts = outcome.world.emulator.accounts_with_email(props["Email"])
        assert [(a["Email"], a["Name"]) for a in accounts] == [(props["Email"], props["AccountName"])], accounts
        assert json.loads(outcome.puts[0])["PhysicalResourceId"] == accounts[0]["Id"]
    elif check == "no-aws-calls":
        assert outcome.aws_calls == [], [c["operation"] for c in outcome.aws_calls]
    elif check == "bounded-aws-calls":
        # A huge property must not turn into as many AWS calls (10,000 DescribeHub would outlast the Lambda).
        assert len(outcome.aws_calls) <= MAX_AWS_CALLS_PER_CASE, (
            f"{len(outcome.aws_calls)} AWS calls, e.g. {[c['operation'] for c in outcome.aws_calls[:5]]}"
        )
    elif check == "no-injected-header":
        seen = (
            outcome.world.internet.received_key(built.key)
            if built.target == "internet"
            else outcome.world.sink.requests[-1:]
        )
        assert seen, "nothing received"
        for request in seen:
            assert "x-injected" not in request.headers, request.headers
            assert "\r" not in request.request_line and "\n" not in request.request_line
    elif check == "no-forged-log-line":
        provider = outcome.side.provider
        assert provider.non_json_lines() == [], provider.non_json_lines()[:3]
        forged = [r for r in provider.log_records() if r.get("fields", {}).get("message") == "forged"]
        assert forged == [], forged
    else:  # pragma: no cover - corpus error
        raise AssertionError(f"unknown check {check!r}")


def still_serving(world: World, side: Side) -> None:
    """The same process answers a harmless request: a Delete whose physical id is not an account id."""
    assert side.provider.alive(), f"{side.name} provider exited ({side.provider.returncode}):\n{side.provider.tail()}"
    assert side.provider.pid == side.pid, "the provider process was replaced"
    if side.name == "loopback":
        side.cfn.assert_still_serving()
        return
    key = f"harmless/{uuid.uuid4().hex}"
    event = events.request(
        "Delete",
        {"AdministratorAccountId": ADMIN, "AccountId": MEMBER},
        world.internet.aws_url(key),
        physical_id=f"not-an-account-{uuid.uuid4().hex[:8]}",
    )
    result = side.api.wait_result(side.api.invoke(event), 30)
    answers = world.internet.received("/" + key)
    assert result.kind == "response" and len(answers) == 1, f"{result.kind} {result.body[:200]!r}; {answers}"
    assert json.loads(answers[0].body)["Status"] == "SUCCESS"
    assert side.provider.alive() and side.provider.pid == side.pid


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_hostile_input(world, case):
    side = world.sides[case.get("provider", "loopback")]
    built = build(case, world, side)
    before, seq = world.contacts(), world.emulator.last_seq()
    errors_before = sum(r.get("level") == "ERROR" for r in side.provider.log_records())
    rid = side.api.invoke(built.payload if built.payload is not None else b"null", deadline_s=120)
    outcome = Outcome(world, side, built, rid, before, seq, errors_before)

    verdicts = {expect: judge(expect, case, outcome) for expect in expectations(case)}
    assert any(v is None for v in verdicts.values()), (
        f"{case['id']} ({case['description']}): expected {' or '.join(verdicts)}; "
        + "; ".join(f"not {e}: {why}" for e, why in verdicts.items())
        + f"\n{outcome.describe()}"
    )
    for check in case.get("verify", []):
        verify(check, case, outcome)
    still_serving(world, side)
