"""What every delivered CloudFormation response must satisfy, shared by the end-to-end suites."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable

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


# --- Security Hub membership, as the emulator's state shows it -------------------------------------------------


def hub(state: dict, account: str, region: str) -> dict:
    """`account`'s hub in `region` in the emulator's state (`Emulator.state()`); empty when it has none."""
    return state.get(account, {}).get(region, {})


def member_statuses(emulator, admin: str, member: str, regions: Iterable[str]) -> dict[str, str | None]:
    """Region -> the member's status as the administrator sees it (None: not a member)."""
    state = emulator.state()
    return {region: hub(state, admin, region).get("members", {}).get(member) for region in regions}


def enabled_member_regions(emulator, admin: str, member: str) -> list[str]:
    """The regions where `admin` sees `member` as Enabled, sorted."""
    return sorted(
        region
        for region, view in emulator.state().get(admin, {}).items()
        if view.get("members", {}).get(member) == "Enabled"
    )


def assert_enrolled(emulator, admin: str, member: str, regions) -> None:
    """`member` is an Enabled member of `admin` in every region, seen from both sides, its hub enabled."""
    state = emulator.state()
    for region in regions:
        assert hub(state, admin, region).get("members", {}).get(member) == "Enabled", (region, state)
        assert hub(state, member, region).get("administrator") == admin, (region, state)
        assert hub(state, member, region).get("enabled"), (region, state)


def assert_associated(emulator, admin: str, member: str, regions) -> None:
    """`member` is an Enabled member of `admin` in every region, seen from both sides (its hub not looked at:
    `assert_enrolled` does)."""
    for region in regions:
        assert emulator.member_status(admin, member, region) == "Enabled", (region, emulator.state())
        assert emulator.administrator_of(member, region) == admin, (region, emulator.state())


def assert_not_member(emulator, admin: str, member: str, regions) -> None:
    """`admin` has no member record of `member`, and `member` is not associated with `admin` nor invited by it, in
    any region (another administrator may have it)."""
    state = emulator.state()
    for region in regions:
        assert member not in hub(state, admin, region).get("members", {}), (region, state)
        assert hub(state, member, region).get("administrator") != admin, (region, state)
        pending = [i["administrator"] for i in hub(state, member, region).get("invitations", [])]
        assert admin not in pending, (region, state)


def assert_without_administrator(emulator, admin: str, member: str, regions) -> None:
    """`admin` has no member record of `member`, and `member` has no administrator at all, in every region."""
    for region in regions:
        assert emulator.member_status(admin, member, region) is None, (region, emulator.state())
        assert emulator.administrator_of(member, region) is None, (region, emulator.state())


def ok(resp: CfnResponse, status: str = "SUCCESS") -> CfnResponse:
    """The response's status is `status`; answers the response."""
    assert resp.status == status, resp.describe()
    return resp
