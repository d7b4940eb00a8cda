"""The control API, plain JSON over HTTP under /_emulator/ on the emulator's own port.

POST /_emulator/reset          moto's state and the emulator's, faults off, call log, token buckets and call counts
                               cleared
GET  /_emulator/config         the configuration (see config.KEYS)
POST /_emulator/config         merge keys; an unknown key or bad value answers 400
GET  /_emulator/securityhub    all Security Hub state, per account per region
GET  /_emulator/calls          the call log
GET  /_emulator/call_counts    served and throttled calls per service, account, region and operation
                               (throttle.py: Security Hub, Organizations and STS)
POST /_emulator/seed/hub       {"account", "region", "enable_default_standards"?}: enable a hub directly
POST /_emulator/seed/member-status {"administrator", "member", "region", "status"}: the administrator's record of
                               the member shows that MemberStatus (securityhub.py: Deleted, AccountSuspended)
POST /_emulator/stacks/hold    {"account", "region", "logical_id"?, "resource_type"?, "stack_id"?,
                               "service_token"?}: a stack held CREATE_IN_PROGRESS (stacks.py); {"stack_id"}
POST /_emulator/stacks/set     {"stack_id", "status"?, "physical_ids"?: {logical id: id},
                               "resource_statuses"?: {logical id: status}, "deleting"?: {logical id: id},
                               "properties"?: {logical id: {...}}, "parameters"?: {name: value},
                               "template_body"?: text}: a held stack's status, custom resources' physical ids
                               and own statuses, events, template and parameters (stacks.py); answers
                               stacks/describe's answer
POST /_emulator/stacks/describe {"stack_id"}: {stack_id, status, resources: {logical id: {type, physical_id}},
                               requests: {logical id: the Create moto's engine sent and the emulator held}}
"""

import json
from collections.abc import Callable, Iterable
from typing import Any

from .config import ConfigError
from .faults import buffer_body
from .securityhub import SecurityHubError
from .stacks import DEFAULT_LOGICAL_ID, DEFAULT_RESOURCE_TYPE, DEFAULT_SERVICE_TOKEN, StackError
from .state import EmulatorState

PREFIX = "/_emulator/"


class ControlError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _json_body(raw: bytes) -> dict:
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise ControlError(400, "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ControlError(400, "the body must be a JSON object")
    return body


def _reset(state: EmulatorState, _: dict) -> Any:
    state.reset()
    return {"reset": True}


def _get_config(state: EmulatorState, _: dict) -> Any:
    return state.config.snapshot()


def _set_config(state: EmulatorState, body: dict) -> Any:
    try:
        return state.config.update(body)
    except ConfigError as error:
        raise ControlError(400, str(error)) from None


def _securityhub(state: EmulatorState, _: dict) -> Any:
    return state.hubs.snapshot()


def _calls(state: EmulatorState, _: dict) -> Any:
    return state.calls.snapshot()


def _call_counts(state: EmulatorState, _: dict) -> Any:
    return state.limiter.snapshot()


def _seed_hub(state: EmulatorState, body: dict) -> Any:
    account, region = body.get("account"), body.get("region")
    if not (isinstance(account, str) and len(account) == 12 and account.isdigit()):
        raise ControlError(400, "account must be a 12-digit string")
    if not isinstance(region, str) or not region:
        raise ControlError(400, "region must be a region name")
    standards = body.get("enable_default_standards", True)
    if not isinstance(standards, bool):
        raise ControlError(400, "enable_default_standards must be a boolean")
    state.hubs.seed_hub(account, region, standards)
    return {"account": account, "region": region, "enable_default_standards": standards}


def _seed_member_status(state: EmulatorState, body: dict) -> Any:
    values = [body.get(key) for key in ("administrator", "region", "member", "status")]
    if not all(isinstance(value, str) and value for value in values):
        raise ControlError(400, "administrator, member, region and status must be strings")
    try:
        state.hubs.set_member_status(*values)
    except SecurityHubError as error:
        raise ControlError(404 if error.code == "ResourceNotFoundException" else 400, str(error)) from None
    return dict(zip(("administrator", "region", "member", "status"), values, strict=True))


def _stack_call(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except StackError as error:
        raise ControlError(error.status, str(error)) from None


def _hold_stack(state: EmulatorState, body: dict) -> Any:
    unknown = sorted(set(body) - {"account", "region", "logical_id", "resource_type", "stack_id", "service_token"})
    if unknown:
        raise ControlError(400, f"unknown keys: {', '.join(unknown)}")
    stack_id = body.get("stack_id")
    if stack_id is not None and not isinstance(stack_id, str):
        raise ControlError(400, "stack_id must be a stack ARN or null")
    return {
        "stack_id": _stack_call(
            lambda: state.stacks.hold(
                body.get("account"),
                body.get("region"),
                body.get("logical_id", DEFAULT_LOGICAL_ID),
                body.get("resource_type", DEFAULT_RESOURCE_TYPE),
                stack_id,
                body.get("service_token", DEFAULT_SERVICE_TOKEN),
            )
        )
    }


def _set_stack(state: EmulatorState, body: dict) -> Any:
    shown = ("physical_ids", "resource_statuses", "deleting", "properties", "parameters", "template_body")
    unknown = sorted(set(body) - {"stack_id", "status", *shown})
    if unknown:
        raise ControlError(400, f"unknown keys: {', '.join(unknown)}")
    return _stack_call(
        lambda: state.stacks.set_status(
            body.get("stack_id"), body.get("status"), **{key: body.get(key) for key in shown}
        )
    )


def _describe_stack(state: EmulatorState, body: dict) -> Any:
    return _stack_call(lambda: state.stacks.describe(body.get("stack_id")))


ROUTES: dict[tuple[str, str], Callable[[EmulatorState, dict], Any]] = {
    ("POST", "reset"): _reset,
    ("GET", "config"): _get_config,
    ("POST", "config"): _set_config,
    ("GET", "securityhub"): _securityhub,
    ("GET", "calls"): _calls,
    ("GET", "call_counts"): _call_counts,
    ("POST", "seed/hub"): _seed_hub,
    ("POST", "seed/member-status"): _seed_member_status,
    ("POST", "stacks/hold"): _hold_stack,
    ("POST", "stacks/set"): _set_stack,
    ("POST", "stacks/describe"): _describe_stack,
}


class ControlApp:
    def __init__(self, state: EmulatorState):
        self._state = state

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        try:
            status, result = 200, self._dispatch(environ)
        except ControlError as error:
            status, result = error.status, {"error": str(error)}
        body = json.dumps(result).encode()
        start_response(
            f"{status} {'OK' if status == 200 else 'Error'}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]

    def _dispatch(self, environ: dict[str, Any]) -> Any:
        name = environ.get("PATH_INFO", "")[len(PREFIX) :].strip("/")
        method = environ.get("REQUEST_METHOD", "GET")
        handler = ROUTES.get((method, name))
        if handler is None:
            known = any(route == name for _, route in ROUTES)
            raise ControlError(405 if known else 404, f"no control endpoint {method} {PREFIX}{name}")
        return handler(self._state, _json_body(buffer_body(environ)))
