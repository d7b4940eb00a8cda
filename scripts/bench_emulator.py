"""The AWS emulator of tests/emulator, launched for the benchmark with every commercial region opted in.

The emulator's DescribeRegions answers the 20 regions moto enables by default; the other 14 commercial
regions are `not-opted-in` and cannot be enabled through its control API. The 34-region benchmark needs all
34 enabled in both accounts, as they are for an organization that opted in everywhere. This launcher patches
`emulator.regions.regions_for` so that opt-in regions count as opted in (the caller's `disabled_regions`
still apply), then runs the emulator's own server unchanged:

    python scripts/bench_emulator.py --host 127.0.0.1 --port 0 --port-file FILE

`start(log_dir)` starts it as a subprocess and answers the same `EmulatorProcess` as
`emulator.client.start_emulator()`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from emulator import client as emulator_client
from emulator import regions as emulator_regions

NOT_OPTED_IN = emulator_regions.NOT_OPTED_IN
OPTED_IN = "opted-in"


def opt_in_everywhere() -> None:
    """Make `regions_for` treat the opt-in regions as opted in; disabled regions stay disabled."""
    original = emulator_regions.regions_for
    Region = emulator_regions.Region

    def regions_for(known, disabled, all_regions):
        opted_in = [Region(r.name, r.endpoint, OPTED_IN) if r.opt_in_status == NOT_OPTED_IN else r for r in known]
        return original(opted_in, disabled, all_regions)

    emulator_regions.regions_for = regions_for


def start(
    log_dir: Path | None = None, timeout_s: float = emulator_client.START_TIMEOUT_S
) -> emulator_client.EmulatorProcess:
    """Start this launcher on a free loopback port and wait (bounded) for it to listen."""
    return emulator_client.start_emulator(
        log_dir, timeout_s, launcher=[str(Path(__file__).resolve())], temp_prefix="bench-emulator-"
    )


if __name__ == "__main__":
    opt_in_everywhere()
    from emulator import server  # noqa: E402  (after the patch; server.main installs it into moto)

    server.main(sys.argv[1:])
