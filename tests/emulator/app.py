"""The emulator's WSGI application: the control API beside moto's server app behind the fault middleware.

moto is patched here (Security Hub membership, Organizations account creation, STS refusals, EC2 regions,
CloudFormation custom resources and Lambda invocations, stacks held in progress) before its server app
exists, since moto builds each service's routes on that service's first request.
Patching is process-wide: build one app per process.
"""

from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from . import cloudformation, lambda_invoke_config, organizations, regions, securityhub_api, stacks, sts
from .control import PREFIX, ControlApp
from .faults import FaultMiddleware
from .state import EmulatorState


def build_app(state: EmulatorState) -> Callable[[dict, Callable], Iterable[bytes]]:
    securityhub_api.install(state.hubs)
    organizations.install(state.creations, state.closures)
    sts.install(state.config, state.creations)
    regions.install(state.config)
    cloudformation.install(state.config)
    lambda_invoke_config.install()
    stacks.install(state.stacks)
    aws = FaultMiddleware(
        DomainDispatcherApplication(create_backend_app), state.config, state.calls, state.limiter, state.creations
    )
    control = ControlApp(state)

    def app(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        target = control if environ.get("PATH_INFO", "").startswith(PREFIX) else aws
        return target(environ, start_response)

    return app
