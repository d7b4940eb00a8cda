"""Real CloudFormation requests through the real `bootstrap` binary.

Part 1 — the corpus (tests/requests/*.json, described with its sources in tests/requests/README.md): every file
is one request as CloudFormation delivers it (directly or in an SNS notification), with its real ResponseURL
form. The binary runs as in production (no ALLOW_LOOPBACK_RESPONSE_URL) in the ServiceToken's region, behind a
local HTTPS proxy (`harness.reliability.Internet`) that terminates TLS for the corpus's response hosts, so the
response is PUT to the ResponseURL as given and recorded locally; AWS calls go to the emulator. The request's
stack is real: held on the emulator under the fixture's own StackId, in the StackId's account and region, with the
fixture's LogicalResourceId, in the status CloudFormation shows while it waits for that request (`stack_status`).
Each fixture's `expect` is checked: the answer, and the emulator's state and call log afterwards.

Part 2 — CloudFormation's own properties (docs/design.md, "Properties", "Update", "Delete"), with the harness's event
builder (`harness.events`, which puts ServiceTimeout "1200" where CloudFormation puts it): Create, Update and
Delete succeed with it; an Update changing only ServiceTimeout makes no mutating AWS call; a Delete whose
properties carry an unknown property still leaves every region and answers SUCCESS.
"""

from __future__ import annotations

import json
import pathlib
import re
from urllib.parse import quote, urlsplit

import pytest

from harness import events
from harness.assertions import assert_delivered, hub
from harness.constants import ACCOUNT_ID, ADMIN, MEMBER, R1, R2, R3, READ_OPERATIONS
from harness.fixtures import CfnResponse
from harness.reliability import Internet
from harness.scenario import props_builder

CORPUS_DIR = pathlib.Path(__file__).resolve().parent / "requests"
CASE_TIMEOUT_S = 90
RESPONSE_BUCKET_PREFIX = "cloudformation-custom-resource-response-"
SIGV4_QUERY = (
    "X-Amz-Algorithm",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Expires",
    "X-Amz-Credential",
    "X-Amz-Signature",
)
# aws-lambda-go events/sns.go SNSEventRecord / SNSEntity (tests/requests/README.md).
SNS_RECORD_FIELDS = ("EventSource", "EventVersion", "EventSubscriptionArn", "Sns")
SNS_FIELDS = (
    "Type",
    "MessageId",
    "TopicArn",
    "Subject",
    "Message",
    "Timestamp",
    "SignatureVersion",
    "Signature",
    "SigningCertUrl",
    "UnsubscribeUrl",
    "MessageAttributes",
)
EXPECT_KEYS = {
    "Status",
    "PhysicalResourceId",
    "Reason",
    "Data",
    "enrolled",
    "not_member",
    "hub_enabled",
    "hub_disabled",
    "aws_calls",
    "log_warns",
}


def load_corpus() -> list[dict]:
    fixtures = []
    for path in sorted(CORPUS_DIR.glob("*.json")):
        fixture = json.loads(path.read_text(encoding="utf-8"))
        fixture["id"] = path.stem
        fixtures.append(fixture)
    return fixtures


CORPUS = load_corpus()


def request_of(fixture: dict) -> dict:
    """The CloudFormation request: the event itself, or the SNS notification's Message."""
    if fixture["delivery"] == "sns":
        return json.loads(fixture["event"]["Records"][0]["Sns"]["Message"])
    return fixture["event"]


def region_of(arn: str) -> str:
    return arn.split(":")[3]


RESPONSE_HOSTS = sorted({urlsplit(request_of(f)["ResponseURL"]).hostname for f in CORPUS})


# -- the corpus itself ---------------------------------------------------------------------------------------------


def url_form(url: str) -> str:
    host = urlsplit(url).hostname
    if host.startswith(RESPONSE_BUCKET_PREFIX):
        rest = host.split(".", 1)[1]
        return {"s3.amazonaws.com": "virtual-hosted global"}.get(
            rest, "virtual-hosted dash" if rest.startswith("s3-") else "virtual-hosted regional"
        )
    return "path-style"


def all_strings(value) -> bool:
    if isinstance(value, dict):
        return all(all_strings(v) for v in value.values())
    if isinstance(value, list):
        return all(all_strings(v) for v in value)
    return isinstance(value, str)


def check_request_shape(fixture: dict) -> None:
    """The request is shaped as CloudFormation shapes it (sources: tests/requests/README.md)."""
    req = request_of(fixture)
    kind = req["RequestType"]
    assert kind in ("Create", "Update", "Delete")
    for field in (
        "RequestType",
        "ServiceToken",
        "ResponseURL",
        "StackId",
        "RequestId",
        "LogicalResourceId",
        "ResourceType",
    ):
        assert isinstance(req.get(field), str) and req[field], field
    assert req["ResourceType"] == "Custom::SecurityHubMemberAccount"
    assert ("PhysicalResourceId" in req) == (kind != "Create")
    assert ("OldResourceProperties" in req) == (kind == "Update")
    maps = [req["ResourceProperties"]] + ([req["OldResourceProperties"]] if kind == "Update" else [])
    for props in maps:
        assert props["ServiceToken"] == req["ServiceToken"], "ServiceToken is repeated in the property maps"
        assert all_strings(props), "CloudFormation sends every scalar as a string"
        assert ("ServiceTimeout" in props) == ("ServiceTimeout" in req), "ServiceTimeout is in both or neither"
    if "ServiceTimeout" in req:
        assert req["ServiceTimeout"] == req["ResourceProperties"]["ServiceTimeout"]
        assert 1 <= int(req["ServiceTimeout"]) <= 3600
    # The stack, its ServiceToken and its response bucket are in one region.
    region = region_of(req["StackId"])
    assert region_of(req["ServiceToken"]) == region
    assert req["StackId"].startswith(f"arn:aws:cloudformation:{region}:")
    token_service = req["ServiceToken"].split(":")[2]
    assert token_service == ("sns" if fixture["delivery"] == "sns" else "lambda")
    # ResponseURL: CloudFormation's bucket for the region, the key <StackId>|<LogicalId>|<RequestId>, SigV4.
    parts = urlsplit(req["ResponseURL"])
    assert parts.scheme == "https" and parts.port is None
    bucket = RESPONSE_BUCKET_PREFIX + region.replace("-", "")
    key = quote(f"{req['StackId']}|{req['LogicalResourceId']}|{req['RequestId']}", safe="/")
    if url_form(req["ResponseURL"]) == "path-style":
        assert parts.hostname == f"s3.{region}.amazonaws.com" and parts.path == f"/{bucket}/{key}"
    else:
        assert parts.hostname.split(".", 1)[0] == bucket and parts.path == f"/{key}"
    query = dict(pair.split("=", 1) for pair in parts.query.split("&"))
    assert tuple(sorted(query)) == tuple(sorted(SIGV4_QUERY)), query
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256" and query["X-Amz-SignedHeaders"] == "host"
    assert query["X-Amz-Credential"].endswith(f"%2F{region}%2Fs3%2Faws4_request")
    assert re.fullmatch(r"[0-9a-f]{64}", query["X-Amz-Signature"])


def check_sns_shape(fixture: dict) -> None:
    envelope = fixture["event"]
    assert list(envelope) == ["Records"] and len(envelope["Records"]) == 1
    record = envelope["Records"][0]
    assert set(record) == set(SNS_RECORD_FIELDS)
    assert record["EventSource"] == "aws:sns" and record["EventVersion"] == "1.0"
    sns = record["Sns"]
    assert set(sns) == set(SNS_FIELDS)
    assert sns["Type"] == "Notification" and sns["SignatureVersion"] == "1" and sns["MessageAttributes"] == {}
    assert sns["Subject"] in (None, "AWS CloudFormation custom resource request")
    assert isinstance(sns["Message"], str)
    assert sns["TopicArn"] == request_of(fixture)["ServiceToken"]
    assert record["EventSubscriptionArn"].startswith(sns["TopicArn"] + ":")


def test_corpus_is_well_formed():
    assert len(CORPUS) >= 15
    for fixture in CORPUS:
        assert fixture.get("description"), fixture["id"]
        assert fixture["delivery"] in ("lambda", "sns"), fixture["id"]
        expect = fixture["expect"]
        assert set(expect) <= EXPECT_KEYS, (fixture["id"], set(expect) - EXPECT_KEYS)
        assert expect["Status"] in ("SUCCESS", "FAILED"), fixture["id"]
        assert expect["PhysicalResourceId"] in ("request", "AccountId", "not-an-account-id"), fixture["id"]
        assert (expect["Status"] == "FAILED") == bool(expect.get("Reason")), f"{fixture['id']}: FAILED names why"
        assert expect.get("aws_calls") in (None, "none", "no-writes"), fixture["id"]
        if fixture["delivery"] == "sns":
            check_sns_shape(fixture)
        check_request_shape(fixture)
        if request_of(fixture)["RequestType"] == "Delete":
            assert expect["PhysicalResourceId"] == "request", f"{fixture['id']}: a Delete answers its own id"

    # What the corpus must cover.
    requests = [request_of(f) for f in CORPUS]
    kinds = {r["RequestType"] for r in requests}
    assert kinds == {"Create", "Update", "Delete"}
    rollbacks = [r for r in requests if r["RequestType"] == "Delete" and not ACCOUNT_ID.match(r["PhysicalResourceId"])]
    assert len(rollbacks) >= 2
    assert {f["delivery"] for f in CORPUS} == {"lambda", "sns"}
    assert any(f["delivery"] == "sns" and f["event"]["Records"][0]["Sns"]["Subject"] is None for f in CORPUS)
    assert {url_form(r["ResponseURL"]) for r in requests} == {
        "virtual-hosted global",
        "virtual-hosted regional",
        "virtual-hosted dash",
        "path-style",
    }
    with_timeout = [r for r in requests if r.get("ServiceTimeout") == "1200"]
    assert any(r["RequestType"] == "Create" for r in with_timeout)
    assert any(r["RequestType"] == "Delete" for r in with_timeout)
    assert any(
        r["RequestType"] == "Update" and r["OldResourceProperties"].get("ServiceTimeout") == "1200" for r in requests
    )
    assert any("ServiceTimeout" not in r for r in requests)
    assert any(f["expect"]["Status"] == "FAILED" for f in CORPUS)


# -- running a fixture -----------------------------------------------------------------------------------------------


def stack_status(req: dict) -> str:
    """The stack's status while CloudFormation waits for `req` (docs/origin-statuses.md): a Delete whose
    physical id is not an account is the rollback of a failed Create."""
    if req["RequestType"] == "Delete" and not ACCOUNT_ID.match(req["PhysicalResourceId"]):
        return "ROLLBACK_IN_PROGRESS"
    return {"Create": "CREATE_IN_PROGRESS", "Update": "UPDATE_IN_PROGRESS", "Delete": "DELETE_IN_PROGRESS"}[
        req["RequestType"]
    ]


def hold_stack(emulator, req: dict) -> None:
    """The request's stack, held in progress under its own StackId, the resource's physical id the request's."""
    stack_id, logical_id = req["StackId"], req["LogicalResourceId"]
    region, account = stack_id.split(":")[3], stack_id.split(":")[4]
    emulator.hold_stack(
        account, region, logical_id, req["ResourceType"], stack_id=stack_id, service_token=req["ServiceToken"]
    )
    physical_ids = {logical_id: req["PhysicalResourceId"]} if "PhysicalResourceId" in req else {}
    # The resource's Properties in the stack's template are the request's: what CloudFormation sends is its
    # template's (the provider checks harmful properties of untrusted requests against them).
    emulator.stage_stack(
        stack_id,
        stack_status(req),
        physical_ids=physical_ids,
        properties={logical_id: req.get("ResourceProperties") or {}},
    )


def set_up(emulator, setup: dict) -> None:
    for account, regions in setup.get("hubs", {}).items():
        for region in regions:
            emulator.enable_hub(account, region)
    for membership in setup.get("members", []):
        for region in membership["regions"]:
            emulator.join_by_invitation(membership["administrator"], membership["member"], region)


def check_state(emulator, expect: dict) -> None:
    state = emulator.state()
    for m in expect.get("enrolled", []):
        admin, member = m["administrator"], m["member"]
        for region in m["regions"]:
            assert hub(state, admin, region).get("members", {}).get(member) == "Enabled", (m, region, state)
            assert hub(state, member, region).get("administrator") == admin, (m, region, state)
            assert hub(state, member, region).get("enabled"), (m, region, state)
    for m in expect.get("not_member", []):
        admin, member = m["administrator"], m["member"]
        for region in m["regions"]:
            assert member not in hub(state, admin, region).get("members", {}), (m, region, state)
            assert hub(state, member, region).get("administrator") != admin, (m, region, state)
            pending = [i["administrator"] for i in hub(state, member, region).get("invitations", [])]
            assert admin not in pending, (m, region, state)
    for account, region in expect.get("hub_enabled", []):
        assert hub(state, account, region).get("enabled"), (account, region, state)
    for account, region in expect.get("hub_disabled", []):
        assert not hub(state, account, region).get("enabled"), (account, region, state)


def check_calls(calls: list[dict], rule: str | None) -> None:
    if rule == "none":
        assert calls == [], [(c["service"], c["operation"]) for c in calls]
    elif rule == "no-writes":
        writes = [(c["service"], c["operation"]) for c in calls if not READ_OPERATIONS.match(c["operation"] or "")]
        assert writes == [], writes


def expected_physical_id(rule: str, req: dict, actual: str) -> None:
    if rule == "request":
        assert actual == req["PhysicalResourceId"], actual
    elif rule == "AccountId":
        assert actual == req["ResourceProperties"]["AccountId"], actual
    else:
        assert actual and not ACCOUNT_ID.match(actual), actual


@pytest.fixture
def internet(tmp_path):
    net = Internet(tmp_path / "internet", hostnames=RESPONSE_HOSTS)
    try:
        yield net
    finally:
        net.close()


@pytest.mark.parametrize("fixture", CORPUS, ids=[f["id"] for f in CORPUS])
def test_real_request(fixture, emulator, internet, provider_factory):
    req, expect = request_of(fixture), fixture["expect"]
    set_up(emulator, fixture["setup"])
    hold_stack(emulator, req)
    region = region_of(req["ServiceToken"])
    deployment = provider_factory(
        {**internet.env(), "ALLOW_LOOPBACK_RESPONSE_URL": None, "AWS_REGION": region, "AWS_DEFAULT_REGION": region}
    )
    since = emulator.last_seq()

    api = deployment.runtime_api
    rid = api.invoke(fixture["event"], deadline_s=900)
    result = api.wait_result(rid, CASE_TIMEOUT_S)

    # Exactly one PUT, to the ResponseURL as CloudFormation gave it, and no other contact beyond 127.0.0.1.
    url = urlsplit(req["ResponseURL"])
    with internet.lock:
        seen = list(internet.seen)
    assert {s.host for s in seen if s.via == "connect"} == {url.hostname}, [(s.via, s.host) for s in seen]
    assert not [s for s in seen if s.via == "proxy"], "plain-HTTP contact beyond 127.0.0.1"
    puts = [s for s in seen if s.via == "tls"]
    assert len(puts) == 1, f"{len(puts)} requests to the response host; runtime {result.kind} {result.body[:300]!r}"
    put = puts[0]
    assert put.method == "PUT", put.request_line
    assert put.target == f"{url.path}?{url.query}", "the presigned path and query must be used verbatim"
    assert put.headers.get("host") == url.hostname, put.headers
    assert put.headers.get("content-type", "") == "", "CloudFormation's presigned PUT signs no Content-Type"

    resp = CfnResponse(
        raw=put.body,
        runtime_result=result,
        event=req,
        lambda_request_id=rid,
        response_key=None,
        deadline=api.invocation(rid).deadline,
    )
    body = assert_delivered(resp, expect["Status"])
    expected_physical_id(expect["PhysicalResourceId"], req, body["PhysicalResourceId"])
    for name in expect.get("Reason", []):
        assert name in (body.get("Reason") or ""), f"Reason does not name {name!r}: {body.get('Reason')!r}"
    if "Data" in expect:
        assert body.get("Data") == expect["Data"], body

    check_state(emulator, expect)
    check_calls(emulator.calls(since), expect.get("aws_calls"))
    for name in expect.get("log_warns", []):
        warned = [r for r in deployment.provider.records_mentioning(name) if r.get("level") == "WARN"]
        assert warned, f"no WARN log line names {name!r}:\n{deployment.provider.tail()}"


# -- Part 2: ServiceTimeout and Delete with the harness's event builder ---------------------------------------------

# MEMBER enrolled with ADMIN in R1 and R2.
member_props = props_builder()


def enabled_everywhere(emulator, admin: str, member: str, regions) -> None:
    check_state(emulator, {"enrolled": [{"administrator": admin, "member": member, "regions": list(regions)}]})


def gone_everywhere(emulator, admin: str, member: str, regions) -> None:
    check_state(emulator, {"not_member": [{"administrator": admin, "member": member, "regions": list(regions)}]})


def test_builder_puts_service_timeout_where_cloudformation_does():
    url = "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/k?X-Amz-Signature=0"
    update = events.update(member_props(), member_props(Regions=R1), MEMBER, url)
    assert update["ServiceTimeout"] == "1200"
    assert update["ResourceProperties"]["ServiceTimeout"] == "1200"
    assert update["OldResourceProperties"]["ServiceTimeout"] == "1200"
    changed = events.update(member_props(ServiceTimeout=600), member_props(), MEMBER, url)
    assert changed["ServiceTimeout"] == changed["ResourceProperties"]["ServiceTimeout"] == "600"
    assert changed["OldResourceProperties"]["ServiceTimeout"] == "1200"
    without = events.update(member_props(), member_props(), MEMBER, url, service_timeout=None)
    assert "ServiceTimeout" not in without
    assert "ServiceTimeout" not in without["ResourceProperties"]
    assert "ServiceTimeout" not in without["OldResourceProperties"]


def test_create_update_delete_with_service_timeout_everywhere(emulator, cfn):
    for region in (R1, R2):
        emulator.enable_hub(ADMIN, region)
    old = member_props(Regions=R1)
    created = cfn.create(old)
    assert "ServiceTimeout" in created.event and "ServiceTimeout" in created.event["ResourceProperties"]
    assert_delivered(created, "SUCCESS")
    assert created.physical_id == MEMBER
    enabled_everywhere(emulator, ADMIN, MEMBER, [R1])

    new = member_props()
    updated = cfn.update(new, old, MEMBER)
    assert updated.event["OldResourceProperties"]["ServiceTimeout"] == "1200"
    assert_delivered(updated, "SUCCESS")
    assert updated.physical_id == MEMBER and updated.data["Regions"] == f"{R2},{R1}"
    enabled_everywhere(emulator, ADMIN, MEMBER, [R1, R2])

    deleted = cfn.delete(new, MEMBER)
    assert deleted.event["ResourceProperties"]["ServiceTimeout"] == "1200"
    assert_delivered(deleted, "SUCCESS")
    gone_everywhere(emulator, ADMIN, MEMBER, [R1, R2])


def test_create_and_delete_without_service_timeout(emulator, cfn):
    """A template that does not set ServiceTimeout: CloudFormation leaves it out everywhere."""
    emulator.enable_hub(ADMIN, R1)
    p = member_props(Regions=R1)
    created = cfn.create(p, service_timeout=None)
    assert "ServiceTimeout" not in created.event
    assert_delivered(created, "SUCCESS")
    enabled_everywhere(emulator, ADMIN, MEMBER, [R1])
    assert_delivered(cfn.delete(p, MEMBER, service_timeout=None), "SUCCESS")
    gone_everywhere(emulator, ADMIN, MEMBER, [R1])


@pytest.mark.parametrize("regions", [f"{R1},{R2}", None], ids=["explicit-regions", "discovered-regions"])
def test_update_changing_only_service_timeout_makes_no_mutating_call(emulator, cfn, regions):
    for region in (R1, R2):
        emulator.enable_hub(ADMIN, region)
    old = member_props(Regions=regions, ServiceTimeout="1200")
    created = cfn.create(old)
    assert_delivered(created, "SUCCESS")
    before = emulator.state()
    since = emulator.last_seq()
    updated = cfn.update(member_props(Regions=regions, ServiceTimeout="3600"), old, MEMBER)
    assert updated.event["ServiceTimeout"] == "3600"
    assert updated.event["OldResourceProperties"]["ServiceTimeout"] == "1200"
    assert_delivered(updated, "SUCCESS")
    assert updated.physical_id == MEMBER and updated.data == created.data
    check_calls(emulator.aws_calls(since), "none" if regions else "no-writes")
    assert emulator.state() == before
    enabled_everywhere(emulator, ADMIN, MEMBER, [R1, R2])


def test_delete_with_an_unknown_property_still_leaves_every_region(emulator, cfn):
    """A property this provider does not know (a newer template's) is ignored, with a warning, by Delete."""
    for region in (R1, R2, R3):
        emulator.enable_hub(ADMIN, region)
    p = member_props(Regions=[R1, R2, R3])
    assert_delivered(cfn.create(p), "SUCCESS")
    enabled_everywhere(emulator, ADMIN, MEMBER, [R1, R2, R3])

    deleted = cfn.delete(dict(p, FindingAggregationRegion=R2), MEMBER)
    assert_delivered(deleted, "SUCCESS")
    gone_everywhere(emulator, ADMIN, MEMBER, [R1, R2, R3])
    leaving = [c["region"] for c in emulator.aws_calls(operation="DisassociateMembers")]
    assert sorted(set(leaving)) == sorted([R1, R2, R3]), leaving
    warned = [r for r in cfn.provider.records_mentioning("FindingAggregationRegion") if r.get("level") == "WARN"]
    assert warned, cfn.provider.tail()


@pytest.mark.parametrize("value", ["0", "3601", "ten"])
def test_service_timeout_out_of_range_is_failed_naming_it(emulator, cfn, value):
    """ServiceTimeout is 1 to 3600 seconds (User Guide, "Custom resource request objects"); nothing is done."""
    emulator.enable_hub(ADMIN, R1)
    since = emulator.last_seq()
    resp = cfn.create(member_props(Regions=R1, ServiceTimeout=value))
    assert_delivered(resp, "FAILED")
    assert "ServiceTimeout" in (resp.reason or ""), resp.reason
    assert not ACCOUNT_ID.match(resp.physical_id), resp.describe()
    assert emulator.aws_calls(since) == []
    gone_everywhere(emulator, ADMIN, MEMBER, [R1])
