"""A refused request, as the tests of authorization and forged requests check it: answered FAILED "refused: ...",
one `request refused` log line naming what the request claimed, and nothing changed in AWS (no write call, the
same Security Hub state, the same organization accounts)."""

from __future__ import annotations

from .assertions import assert_delivered
from .constants import READ_OPERATIONS, REFUSED


def refusal_lines(provider) -> list[dict]:
    return [r for r in provider.log_records() if r.get("fields", {}).get("message") == REFUSED]


class World:
    """What a refusal must leave as it was: Security Hub state, the organization's accounts, the call log."""

    def __init__(self, emulator, provider, organization: bool = False):
        self.emulator, self.provider = emulator, provider
        self.organization = organization
        self.hubs = emulator.state()
        self.accounts = self._accounts()
        self.since = emulator.last_seq()
        self.until: int | None = None
        self.lines = len(refusal_lines(provider))

    def _accounts(self) -> list[tuple[str, str]] | None:
        if not self.organization:
            return None
        return sorted((a["Id"], a["Status"]) for a in self.emulator.org_accounts())

    def calls(self, service: str | None = None, operation: str | None = None) -> list[dict]:
        """The calls since the World was taken, up to the first look afterwards (not this test's own reads)."""
        if self.until is None:
            self.until = self.emulator.last_seq()
        return [
            c
            for c in self.emulator.calls(self.since)
            if c["seq"] <= self.until and service in (None, c["service"]) and operation in (None, c["operation"])
        ]

    def writes(self) -> list[tuple[str, str]]:
        return [
            (c["service"], c["operation"])
            for c in self.calls()
            if c["service"] != "s3" and not READ_OPERATIONS.match(c["operation"] or "")
        ]

    def assert_unchanged(self) -> None:
        assert self.writes() == [], self.writes()
        assert self.emulator.state() == self.hubs, "Security Hub state changed"
        assert self._accounts() == self.accounts, "the organization's accounts changed"

    def refusal_line(self, event: dict) -> dict:
        """The one new `request refused` line, naming what `event` claimed."""
        lines = refusal_lines(self.provider)[self.lines :]
        assert len(lines) == 1, f"{len(lines)} refusal lines:\n{self.provider.tail()}"
        line = lines[0]
        assert line["level"] == "ERROR", line
        properties = event["ResourceProperties"]
        claimed = properties.get("AccountId") or (
            "" if event["RequestType"] == "Create" else event["PhysicalResourceId"]
        )
        fields = line["fields"]
        assert fields["StackId"] == event["StackId"], fields
        assert fields["RequestType"] == event["RequestType"], fields
        assert fields["AccountId"] == claimed, fields
        assert fields["AdministratorAccountId"] == properties.get("AdministratorAccountId", ""), fields
        assert fields.get("reason"), fields
        return line

    def assert_refused(self, resp, *names: str) -> str:
        """FAILED "refused: ..." naming `names`, nothing changed, one refusal line; answers the Reason."""
        assert_delivered(resp, "FAILED")
        reason = resp.reason or ""
        assert reason.startswith("refused: "), reason
        for name in names:
            assert name in reason, f"Reason does not name {name!r}: {reason!r}"
        self.assert_unchanged()
        line = self.refusal_line(resp.event)
        assert line["fields"]["reason"] in reason, (line, reason)
        return reason
