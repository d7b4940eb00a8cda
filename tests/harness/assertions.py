"""What every delivered CloudFormation response must satisfy, shared by the end-to-end suites."""

from __future__ import annotations

import json
import unicodedata

from harness.fixtures import CfnResponse

MAX_BODY = 4096  # CloudFormation rejects larger response bodies


def has_control_chars(text: str) -> bool:
    return any(unicodedata.category(c) == "Cc" for c in text)


def assert_delivered(resp: CfnResponse, status: str | None = None) -> dict:
    """A response was PUT, is a well-formed CloudFormation response within 4,096 bytes, and the runtime was told
    Ok. Returns the parsed body."""
    assert resp.raw is not None, f"no response was PUT: {resp.describe()}"
    assert len(resp.raw) <= MAX_BODY, f"response body is {len(resp.raw)} bytes: {resp.describe()}"
    body = json.loads(resp.raw)
    assert body.get("Status") in ("SUCCESS", "FAILED"), resp.describe()
    if status:
        assert body["Status"] == status, resp.describe()
    ev = resp.event
    for field in ("StackId", "RequestId", "LogicalResourceId"):
        assert body.get(field) == ev.get(field), f"{field} not echoed: {resp.describe()}"
    assert isinstance(body.get("PhysicalResourceId"), str) and body["PhysicalResourceId"], resp.describe()
    if ev.get("RequestType") == "Delete":
        # CloudFormation rejects a Delete answer whose physical id differs from the request's.
        assert body["PhysicalResourceId"] == ev["PhysicalResourceId"], resp.describe()
    # After a delivered response the handler returns Ok, FAILED included: Lambda must not retry.
    assert resp.runtime_result.kind == "response", resp.describe()
    return body
