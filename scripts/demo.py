"""`make demo`: the real `bootstrap` binary through Create -> Update -> Delete on the local AWS emulator.

It starts the emulator (moto with the Security Hub membership operations added by tests/emulator) and a
Lambda Runtime API stand-in, then plays CloudFormation: each request goes to the binary through the Runtime
API, and each response is read back from the presigned S3 URL the binary PUT it to. After every step it
prints the member's status, region by region, as the administrator and the member see it.
"""

from __future__ import annotations

import json
import pathlib
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from emulator.client import DEFAULT_ACCOUNT, Emulator, start_emulator  # noqa: E402
from harness.fixtures import Cfn  # noqa: E402
from harness.provider import Provider, require_binary  # noqa: E402
from harness.runtime_api import RuntimeApi  # noqa: E402

ADMIN = DEFAULT_ACCOUNT  # the administrator (audit) account is the provider's own here
ADMIN_REGIONS = ["eu-west-1", "us-east-1", "us-west-2"]
CREATION_SECONDS = 2


def show_request(event: dict) -> None:
    shown = {k: v for k, v in event.items() if k not in ("ResponseURL", "ServiceToken")}
    shown["ResponseURL"] = "<presigned S3 PUT URL on the emulator>"
    print(f"\n=== CloudFormation sends {event['RequestType']}")
    print(json.dumps(shown, indent=2))


def show_response(response, elapsed: float) -> None:
    print(f"--- response PUT by the provider ({elapsed:.1f} s):")
    print(json.dumps(response.body, indent=2) if response.raw else "<nothing was PUT>")


def show_regions(emulator: Emulator, member: str | None) -> None:
    if member is None:
        return
    print(f"--- member {member}, region by region:")
    print(f"    {'region':<12} {'administrator sees':<20} {'member administrator':<22} member hub")
    state = emulator.state()
    for region in ADMIN_REGIONS:
        status = emulator.member_status(ADMIN, member, region) or "-"
        own = state.get(member, {}).get(region, {})
        hub = "enabled" if own.get("enabled") else "disabled"
        print(f"    {region:<12} {status:<20} {own.get('administrator') or '-':<22} {hub}")


def step(cfn: Cfn, emulator: Emulator, request_type: str, props: dict, **kw):
    event, key = cfn.event(request_type, props, **kw)
    show_request(event)
    started = time.monotonic()
    response = cfn.send(event, key=key, timeout=120)
    show_response(response, time.monotonic() - started)
    show_regions(emulator, response.physical_id if response.physical_id and response.physical_id.isdigit() else None)
    if response.status != "SUCCESS":
        raise SystemExit(f"{request_type} did not succeed: {response.reason}")
    return response


def main() -> None:
    binary = require_binary()
    server = start_emulator()
    try:
        emulator = Emulator(server.url)
        emulator.reset()
        emulator.create_organization()
        for region in ADMIN_REGIONS:
            emulator.enable_hub(ADMIN, region)
        emulator.configure(create_account_delay_s=CREATION_SECONDS)
        print(f"emulator at {server.url}; administrator {ADMIN} has Security Hub in {', '.join(ADMIN_REGIONS)};")
        print(f"AWS Organizations takes {CREATION_SECONDS} s to create an account.")
        with RuntimeApi() as api:
            provider = Provider(binary, api, server.url)
            try:
                cfn = Cfn(emulator, api, provider)
                created = {"AdministratorAccountId": ADMIN, "AccountName": "Workload Demo",
                           "Email": "workload-demo@example.com", "Regions": ["eu-west-1", "us-east-1"]}
                member = step(cfn, emulator, "Create", created).physical_id
                updated = dict(created, Regions=ADMIN_REGIONS, OnDelete="DisableSecurityHub")
                step(cfn, emulator, "Update", updated, old_props=created, physical_id=member)
                step(cfn, emulator, "Delete", updated, physical_id=member)
                print("\nDone: the account was created, enrolled in 2 regions, extended to 3, then disassociated "
                      "and its hub disabled everywhere.")
            finally:
                provider.stop()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
