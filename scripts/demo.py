"""`make demo`: the real `bootstrap` binary answering CloudFormation on the local AWS emulator.

It starts the emulator (moto, with the Security Hub membership operations added by tests/emulator) and a
Lambda Runtime API stand-in served by the binary. moto's own CloudFormation engine deploys
cloudformation/provider.yaml, then cloudformation/examples/existing-account.yaml, and sends that stack's
custom-resource Create to the binary itself. moto's engine sends no Update or Delete: the demo sends them as
CloudFormation would, for the same resource, with the stack set as CloudFormation has it while it waits
(UPDATE_IN_PROGRESS, DELETE_IN_PROGRESS: the binary checks that with CloudFormation before it changes anything),
and reads each response back from the presigned S3 URL the binary PUT it to. After every step it prints the
member's status, region by region, as the administrator and the member see it.
"""

from __future__ import annotations

import json
import time

from emulator.client import DEFAULT_ACCOUNT, Emulator, start_emulator
from harness.fixtures import Cfn
from harness.provider import Provider, require_binary
from harness.runtime_api import RuntimeApi
from harness.stacks import EXISTING_ACCOUNT, Engine, Stack

ADMIN = DEFAULT_ACCOUNT  # the administrator (audit) account is the provider's own here
ADMIN_REGIONS = ["eu-west-1", "us-east-1", "us-west-2"]
MEMBER_REGIONS = ["eu-west-1", "us-east-1"]


def show_request(event: dict, sender: str = "CloudFormation (the demo) sends") -> None:
    shown = {k: v for k, v in event.items() if k != "ServiceToken"}
    shown["ResponseURL"] = event["ResponseURL"].split("?")[0] + "?..."  # the query: a signature, or moto's stack id
    print(f"\n=== {sender} {event['RequestType']}")
    print(json.dumps(shown, indent=2))


def show_stack(stack: Stack) -> None:
    described = stack.describe()
    print(f"--- stack {described['StackName']}: {described['StackStatus']}")
    for key, value in stack.outputs.items():
        print(f"    {key:<24} {value}")


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
    cfn.hold(event)  # the stack as CloudFormation has it while it waits for this request
    print(f"--- stack status while CloudFormation waits: {emulator.held_stack(event['StackId'])['status']}")
    started = time.monotonic()
    response = cfn.send(event, key=key, timeout=120, hold=False)
    show_response(response, time.monotonic() - started)
    show_regions(emulator, response.physical_id if response.physical_id and response.physical_id.isdigit() else None)
    if response.status != "SUCCESS":
        raise SystemExit(f"{request_type} did not succeed: {response.reason}")
    return response


def deploy_member(engine: Engine, emulator: Emulator, member: str) -> Stack:
    """existing-account.yaml on moto's engine, which sends the Create to the binary and waits for its answer."""
    started = time.monotonic()
    stack = engine.deploy(
        EXISTING_ACCOUNT,
        "workload-demo-member",
        {"AdministratorAccountId": ADMIN, "AccountId": member, "Regions": ",".join(MEMBER_REGIONS)},
    )
    show_request(stack.create_event(), "moto's CloudFormation engine sends")
    print(f"--- answered by the provider in {time.monotonic() - started:.1f} s")
    show_stack(stack)
    show_regions(emulator, member)
    if stack.status != "CREATE_COMPLETE":
        raise SystemExit(f"the member stack did not complete: {stack.describe().get('StackStatusReason')}")
    return stack


def main() -> None:
    binary = require_binary()
    server = start_emulator()
    try:
        emulator = Emulator(server.url)
        emulator.reset()
        organization = emulator.create_organization()
        for region in ADMIN_REGIONS:
            emulator.enable_hub(ADMIN, region)
        member = emulator.create_account("Workload Demo", "workload-demo@example.com")
        print(f"emulator at {server.url}; administrator {ADMIN} has Security Hub in {', '.join(ADMIN_REGIONS)};")
        print(f"account {member} of organization {organization['Id']} is to be enrolled.")
        with RuntimeApi() as api:
            provider = Provider(binary, api, server.url)
            try:
                engine = Engine(emulator, api)
                show_stack(engine.deploy_provider(organization["Id"]))
                stack = deploy_member(engine, emulator, member)
                cfn = Cfn(emulator, api, provider)
                created, resource = stack.properties(), stack.resource()
                updated = dict(created, Regions=ADMIN_REGIONS, OnDelete="DisableSecurityHub")
                step(cfn, emulator, "Update", updated, old_props=created, **resource)
                step(cfn, emulator, "Delete", updated, **resource)
                print(
                    "\nDone: moto's CloudFormation deployed the provider and the member stack, whose Create enrolled "
                    "the account in 2 regions; the Update extended it to 3, the Delete disassociated it and "
                    "disabled its hub everywhere."
                )
            finally:
                provider.stop()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
