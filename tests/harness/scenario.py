"""What the end-to-end suites send and set up: the resource's properties (a builder with each suite's defaults),
and hubs enabled in the emulator."""

from __future__ import annotations

from collections.abc import Callable

from harness.constants import ADMIN, MEMBER, R1, R2

DEFAULTS = {"AdministratorAccountId": ADMIN, "AccountId": MEMBER, "Regions": f"{R1},{R2}"}


def props_builder(**defaults) -> Callable[..., dict]:
    """A `props(**overrides)` whose base is DEFAULTS (MEMBER enrolled with ADMIN in R1 and R2) with `defaults`;
    in either, a value of None drops the key."""
    base = {**DEFAULTS, **defaults}

    def props(**overrides) -> dict:
        merged = {**base, **overrides}
        return {key: value for key, value in merged.items() if value is not None}

    return props


# Properties enrolling MEMBER with ADMIN in R1 and R2, with `overrides` (a value of None drops the key).
props = props_builder()


def enable_hubs(emulator, account: str, regions) -> None:
    """`account`'s hub enabled in each of `regions`, without an AWS call (test setup)."""
    for region in regions:
        emulator.enable_hub(account, region)
