"""No secret reaches the logs (docs/design.md, "Protocol guarantees": "the ResponseURL and credentials are never
logged").

A full lifecycle — Create of a new account (so that AssumeRole into it happens), Update, Delete with
CloseAccountOnDelete — plus a response PUT that fails and one that cannot be delivered at all, with every
line the binary wrote captured. The logs, the answers to the Lambda runtime and the response bodies must not
contain any ResponseURL's X-Amz-Signature or X-Amz-Credential, the provider's secret key, any access key id
(AKIA…/ASIA…), or any secret key or session token the emulator's STS issued.
"""

from __future__ import annotations

import re
import socket
from urllib.parse import parse_qs, urlsplit

import pytest

from harness.assertions import assert_delivered
from harness.constants import ADMIN
from harness.provider import ACCESS_KEY_ID, SECRET_ACCESS_KEY
from harness.reliability import moto_assumed_roles, record_figure

REGIONS = ["eu-west-1", "us-east-1"]
ACCESS_KEY_PATTERN = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")
# moto's session tokens, and SigV4 material in general.
TOKEN_PATTERNS = [
    re.compile(r"FQoGZXIvYXdzE[A-Za-z0-9+/=]{20,}"),
    re.compile(r"X-Amz-Signature=[0-9a-f]{16,}", re.I),
    re.compile(r"X-Amz-Security-Token=", re.I),
    re.compile(r"Signature=[0-9a-f]{64}"),
]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def presign_secrets(url: str) -> list[str]:
    query = parse_qs(urlsplit(url).query)
    return [v for name in ("X-Amz-Signature", "X-Amz-Credential", "X-Amz-Security-Token") for v in query.get(name, [])]


def run_lifecycle(emulator, deployment) -> tuple[list[str], list[str]]:
    """Create → Update → Delete of a created account, plus delivery trouble. Returns (response URLs, extra text
    that reaches CloudWatch: runtime answers and response bodies)."""
    cfn = deployment.cfn
    emulator.create_organization()
    for region in REGIONS + ["eu-central-1"]:
        emulator.enable_hub(ADMIN, region)
    props = {
        "AdministratorAccountId": ADMIN,
        "AccountName": "Secret Keeper",
        "Email": "secret-keeper@example.com",
        "Regions": REGIONS,
        "CloseAccountOnDelete": "true",
        "OnDelete": "DisableSecurityHub",
    }
    emulator.configure(response_put_failures=2, assume_role_denied_for_s=1.0)  # retried PUTs, role not ready yet
    create = cfn.create(props, timeout=120)
    assert_delivered(create, "SUCCESS")
    account = create.physical_id
    updated = {**props, "Regions": REGIONS + ["eu-central-1"]}
    update = cfn.update(updated, old_props=props, physical_id=account, timeout=120)
    assert_delivered(update, "SUCCESS")
    delete = cfn.delete(updated, physical_id=account, timeout=120)
    assert_delivered(delete, "SUCCESS")
    # A response that cannot be delivered: connection refused until the deadline; errors are logged.
    signature = "f" * 64
    unreachable = (
        f"http://127.0.0.1:{closed_port()}/{cfn.bucket}/lost?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        f"&X-Amz-Credential=AKIAUNREACHABLE00001%2F20261123%2Fus-east-1%2Fs3%2Faws4_request"
        f"&X-Amz-Signature={signature}"
    )
    lost = cfn.delete(props, physical_id="not-an-account", response_url=unreachable, deadline_s=4, timeout=30)
    assert lost.runtime_result.kind == "error", lost.describe()
    responses = [create, update, delete, lost]
    urls = [r.event["ResponseURL"] for r in responses]
    extra = [r.runtime_result.body.decode("utf-8", "replace") for r in responses]
    extra += [r.raw.decode("utf-8", "replace") for r in responses if r.raw]
    return urls, extra


def find_leaks(text: str, secrets: dict[str, str]) -> list[str]:
    leaks = [f"{what} ({value[:6]}…)" for what, value in secrets.items() if value and value in text]
    leaks += [f"access key id {m}" for m in set(ACCESS_KEY_PATTERN.findall(text))]
    leaks += [f"pattern {p.pattern}: {m[:24]}…" for p in TOKEN_PATTERNS for m in set(p.findall(text))]
    return leaks


@pytest.mark.parametrize("log_level", ["info", "debug", "trace"])
def test_lifecycle_logs_hold_no_secrets(emulator, provider_factory, log_level):
    deployment = provider_factory({"RUST_LOG": log_level})
    urls, extra = run_lifecycle(emulator, deployment)
    logs = deployment.provider.logs()
    assert deployment.provider.non_json_lines() == [], deployment.provider.non_json_lines()[:3]

    issued = moto_assumed_roles(emulator.url)
    assert issued, "no AssumeRole happened: the lifecycle did not exercise assumed-role credentials"
    secrets = {"provider secret key": SECRET_ACCESS_KEY, "provider access key id": ACCESS_KEY_ID}
    for n, role in enumerate(issued):
        secrets[f"assumed-role access key id #{n}"] = role["access_key_id"]
        secrets[f"assumed-role secret key #{n}"] = role["secret_access_key"]
        secrets[f"assumed-role session token #{n}"] = role["session_token"]
    for n, url in enumerate(urls):
        for m, value in enumerate(presign_secrets(url)):
            secrets[f"ResponseURL #{n} query value #{m}"] = value
        secrets[f"ResponseURL #{n}"] = url
    assert any("ResponseURL #0 query" in k for k in secrets), "the response URLs carry no X-Amz-* to look for"

    leaks = find_leaks(logs, secrets)
    assert leaks == [], f"RUST_LOG={log_level}: secrets in the logs ({len(logs)} bytes): {sorted(set(leaks))[:12]}"
    leaks = find_leaks("\n".join(extra), secrets)
    assert leaks == [], f"secrets in runtime answers or response bodies: {sorted(set(leaks))}"
    record_figure(
        f"secrets_scan_{log_level}", 0, log_bytes=len(logs), assumed_roles=len(issued), secrets_checked=len(secrets)
    )
