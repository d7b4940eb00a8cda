"""Stacks held in progress, as CloudFormation holds a stack while it waits for a custom resource's answer.

CloudFormation sends a custom resource's request and then waits: until the answer comes, the stack stays in
its `*_IN_PROGRESS` status (CREATE_IN_PROGRESS for a stack creation, UPDATE_IN_PROGRESS for an update,
DELETE_IN_PROGRESS for a deletion, UPDATE_COMPLETE_CLEANUP_IN_PROGRESS while it deletes the resource a
replacement left behind, ...; AWS CloudFormation User Guide, "Stack status codes"), and the resource is listed
with its type and, once it has one, its physical id (AWS CloudFormation API Reference, DescribeStackResource:
StackResourceDetail ResourceType, PhysicalResourceId, "The name or unique identifier that corresponds to a
physical instance ID of a resource supported by CloudFormation"). The provider checks exactly that before it
changes anything (docs/design.md, "Authorization", Origin).

`hold(...)` makes such a stack with moto's own CloudFormation backend and engine: a real moto stack, from a
tiny template holding the resource, created as CreateStack creates one (the stack registered, its
CREATE_IN_PROGRESS event, `create_resources`). moto's engine then builds the custom resource's Create and
invokes its ServiceToken (moto cloudformation/custom_model.py); while a stack is being held, that invocation is
taken here instead: the request is kept (`requests`), never forwarded and never answered, so the stack stays
CREATE_IN_PROGRESS — a test then sends its own request for that stack, with its own ResponseURL, as if it
were the one CloudFormation is waiting for. DescribeStacks and DescribeStackResource are moto's own, over this
stack (moto cloudformation/responses.py StackResourceDTO: ResourceType from the resource's
`cf_resource_type`, PhysicalResourceId from its `physical_resource_id`, for a custom resource its
`resource_name`).

- `stack_id`: the stack gets that id (the corpus in tests/requests/ has fixed StackIds) instead of a fresh one;
  a stack that already has that id (held before) gets the resource added, as a stack holds several.
- `resource_type`: a custom type (`Custom::...`, or `AWS::CloudFormation::CustomResource`, which moto's engine
  does not know and is taught here: AWS CloudFormation User Guide, "AWS::CloudFormation::CustomResource") is
  the held resource itself; any other type (e.g. `AWS::SNS::Topic`) is created by moto's engine under
  `logical_id`, beside a held custom resource (`HELD_LOGICAL_ID`) that keeps the stack in progress.
- `set_status(stack_id, status, physical_ids)`: the stack's status (one of the API Reference's StackStatus
  values) and the physical ids of custom resources, as CloudFormation has them while it sends an Update
  (UPDATE_IN_PROGRESS, the resource's current id), a Delete (DELETE_IN_PROGRESS), a Delete during cleanup
  (`*_CLEANUP_IN_PROGRESS`, the resource's id being the new one), or when no operation is in progress
  (`*_COMPLETE`). DELETE_COMPLETE moves the stack to moto's deleted stacks, which DescribeStacks still answers
  by stack id, as CloudFormation does for 90 days.

A held custom resource has no physical id until one is set: CloudFormation knows none before the provider has
answered the Create (User Guide, "Custom resource response objects": PhysicalResourceId).

What CloudFormation shows besides the stack's status, as the provider's origin check reads it (the table of
statuses and its sources: docs/origin-statuses.md):

- the resource's own status (DescribeStackResource ResourceStatus): moto answers the stack's status for every
  resource (moto cloudformation/responses.py StackResourceDTO). A held custom resource has its own:
  CREATE_IN_PROGRESS while it is held; with `set_status`, the one CloudFormation shows for its resources in that
  stack status (`RESOURCE_STATUS_OF`: UPDATE_IN_PROGRESS while the stack updates or rolls an update back,
  DELETE_IN_PROGRESS while it is deleted or a creation rolls back, UPDATE_COMPLETE during a cleanup, where only
  the replaced physical id is deleted, ...), or the one given (`resource_statuses`).
- the stack's events (DescribeStackEvents, newest first): the stack's own event for each status it enters
  (moto's), and for a custom resource each status it enters, with its physical id (empty while it is created:
  real events show the first CREATE_IN_PROGRESS with PhysicalResourceId ""), and `deleting`: the
  DELETE_IN_PROGRESS of a physical id a replacement left behind, during a cleanup, with the resource type that a
  rollback cleanup's real events show for a `Custom::` resource, `AWS::CloudFormation::CustomResource`.
- the template (GetTemplate) and parameters (DescribeStacks Parameters): `properties` sets a resource's
  Properties in the stack's template (the harness sets the request's own: the stack's template holds what
  CloudFormation sends), `parameters` the stack's parameter values, `template_body` the whole body as text
  (e.g. YAML, which GetTemplate returns as it was given).
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from typing import Any

from moto.cloudformation import custom_model, parsing
from moto.cloudformation import responses as cloudformation_responses
from moto.cloudformation.custom_model import CustomModel
from moto.cloudformation.models import Event, Stack, cloudformation_backends

CUSTOM_RESOURCE_TYPE = "AWS::CloudFormation::CustomResource"
DEFAULT_LOGICAL_ID = "Member"
DEFAULT_RESOURCE_TYPE = "Custom::SecurityHubMemberAccount"
# The held custom resource beside a resource of another type (see `hold`).
HELD_LOGICAL_ID = "HeldCustomResource"
DEFAULT_SERVICE_TOKEN = "arn:aws:lambda:us-east-1:123456789012:function:securityhub-member-account"

# API Reference, "Stack": StackStatus.
STACK_STATUSES = (
    "CREATE_IN_PROGRESS",
    "CREATE_FAILED",
    "CREATE_COMPLETE",
    "ROLLBACK_IN_PROGRESS",
    "ROLLBACK_FAILED",
    "ROLLBACK_COMPLETE",
    "DELETE_IN_PROGRESS",
    "DELETE_FAILED",
    "DELETE_COMPLETE",
    "UPDATE_IN_PROGRESS",
    "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
    "UPDATE_COMPLETE",
    "UPDATE_FAILED",
    "UPDATE_ROLLBACK_IN_PROGRESS",
    "UPDATE_ROLLBACK_FAILED",
    "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
    "UPDATE_ROLLBACK_COMPLETE",
    "REVIEW_IN_PROGRESS",
    "IMPORT_IN_PROGRESS",
    "IMPORT_COMPLETE",
    "IMPORT_ROLLBACK_IN_PROGRESS",
    "IMPORT_ROLLBACK_FAILED",
    "IMPORT_ROLLBACK_COMPLETE",
)
# API Reference, "StackResourceDetail": ResourceStatus.
RESOURCE_STATUSES = (
    "CREATE_IN_PROGRESS",
    "CREATE_FAILED",
    "CREATE_COMPLETE",
    "DELETE_IN_PROGRESS",
    "DELETE_FAILED",
    "DELETE_COMPLETE",
    "DELETE_SKIPPED",
    "UPDATE_IN_PROGRESS",
    "UPDATE_FAILED",
    "UPDATE_COMPLETE",
    "UPDATE_ROLLBACK_IN_PROGRESS",
    "UPDATE_ROLLBACK_FAILED",
    "UPDATE_ROLLBACK_COMPLETE",
    "ROLLBACK_IN_PROGRESS",
    "ROLLBACK_FAILED",
    "ROLLBACK_COMPLETE",
    "IMPORT_IN_PROGRESS",
    "IMPORT_FAILED",
    "IMPORT_COMPLETE",
)
# The status of a stack's custom resources in each stack status, when the operation is on them (User Guide,
# "Stack status codes"; docs/origin-statuses.md): an update and its rollback update them (the rollback sends an
# Update: aws-cloudformation/custom-resource-helper issue 71), a deletion and a creation's rollback delete them,
# and a cleanup deletes only what a replacement or a failed update left behind, the resource itself staying as
# its update left it. Graded "assumed" for the exact resource status shown mid-operation (no real
# DescribeStackResource output of it was found); "documented" for the statuses' meanings.
RESOURCE_STATUS_OF = {
    "CREATE_IN_PROGRESS": "CREATE_IN_PROGRESS",
    "CREATE_COMPLETE": "CREATE_COMPLETE",
    "CREATE_FAILED": "CREATE_FAILED",
    "UPDATE_IN_PROGRESS": "UPDATE_IN_PROGRESS",
    "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS": "UPDATE_COMPLETE",
    "UPDATE_COMPLETE": "UPDATE_COMPLETE",
    "UPDATE_FAILED": "UPDATE_FAILED",
    "UPDATE_ROLLBACK_IN_PROGRESS": "UPDATE_IN_PROGRESS",
    "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS": "UPDATE_COMPLETE",
    "UPDATE_ROLLBACK_COMPLETE": "UPDATE_COMPLETE",
    "UPDATE_ROLLBACK_FAILED": "UPDATE_FAILED",
    "DELETE_IN_PROGRESS": "DELETE_IN_PROGRESS",
    "DELETE_COMPLETE": "DELETE_COMPLETE",
    "DELETE_FAILED": "DELETE_FAILED",
    "ROLLBACK_IN_PROGRESS": "DELETE_IN_PROGRESS",
    "ROLLBACK_COMPLETE": "DELETE_COMPLETE",
    "ROLLBACK_FAILED": "DELETE_FAILED",
}
# The attribute of a held custom resource (a moto CustomModel) that holds its own status.
HELD_STATUS = "held_resource_status"
# arn:aws:cloudformation:REGION:ACCOUNT:stack/NAME/ID (a stack name: letters, digits, hyphens, 1-128, a letter
# first; API Reference, CreateStack StackName).
STACK_ARN = re.compile(r"arn:aws:cloudformation:([a-z0-9-]+):(\d{12}):stack/([A-Za-z][A-Za-z0-9-]{0,127})/([^/]+)")
LOGICAL_ID = re.compile(r"[A-Za-z0-9]{1,255}")  # User Guide, "Resources": alphanumeric
RESOURCE_TYPE = re.compile(r"(Custom::[A-Za-z0-9_@-]{1,60}|AWS::[A-Za-z0-9]+::[A-Za-z0-9]+)")


class StackError(ValueError):
    """A held-stack request that is refused (the control API answers 400), or names no stack (404)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def is_custom(resource_type: str) -> bool:
    return resource_type == CUSTOM_RESOURCE_TYPE or resource_type.startswith("Custom::")


def parse_stack_id(stack_id: str) -> tuple[str, str, str]:
    """(region, account, name) of a stack ARN."""
    match = STACK_ARN.fullmatch(stack_id) if isinstance(stack_id, str) else None
    if match is None:
        raise StackError(f"not a stack ARN: {stack_id!r}")
    return match.group(1), match.group(2), match.group(3)


class _HeldRequest:
    """What moto's engine takes for the ServiceToken's function while a stack is being held: `invoke` (which
    the engine calls in a thread of its own) keeps the request, and nothing answers it."""

    def __init__(self, held: HeldStacks):
        self._held = held

    def invoke(self, body: str, request_headers: Any, response_headers: Any) -> None:
        self._held.keep(json.loads(body))


class _HoldingBackend:
    def __init__(self, held: HeldStacks):
        self._request = _HeldRequest(held)

    def get_function(self, service_token: str) -> _HeldRequest:
        return self._request


class HeldStacks:
    """The held stacks' requests (as moto's engine sent them), and the holding itself."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holding = threading.local()  # set while this thread creates a held stack's resources
        self._requests: dict[str, dict[str, dict]] = {}  # stack id -> logical id -> the Create

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()

    def holding(self) -> bool:
        return getattr(self._holding, "active", False)

    def keep(self, event: dict) -> None:
        with self._lock:
            self._requests.setdefault(event.get("StackId", ""), {})[event.get("LogicalResourceId", "")] = event

    def requests(self, stack_id: str) -> dict[str, dict]:
        with self._lock:
            return dict(self._requests.get(stack_id, {}))

    # --- holding -------------------------------------------------------------------------------------------

    def hold(
        self,
        account: str,
        region: str,
        logical_id: str = DEFAULT_LOGICAL_ID,
        resource_type: str = DEFAULT_RESOURCE_TYPE,
        stack_id: str | None = None,
        service_token: str = DEFAULT_SERVICE_TOKEN,
    ) -> str:
        """A stack in `account` and `region`, CREATE_IN_PROGRESS, holding `logical_id` of `resource_type`;
        answers its StackId."""
        if not (isinstance(account, str) and re.fullmatch(r"\d{12}", account)):
            raise StackError("account must be a 12-digit string")
        if not (isinstance(region, str) and re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", region)):
            raise StackError("region must be a region name")
        if not (isinstance(logical_id, str) and LOGICAL_ID.fullmatch(logical_id)):
            raise StackError("logical_id must be alphanumeric")
        if not (
            isinstance(resource_type, str)
            and (resource_type == CUSTOM_RESOURCE_TYPE or RESOURCE_TYPE.fullmatch(resource_type))
        ):
            raise StackError("resource_type must be a resource type (Custom::Name or AWS::Service::Resource)")
        if logical_id == HELD_LOGICAL_ID and not is_custom(resource_type):
            raise StackError(f"{HELD_LOGICAL_ID} is the held custom resource's own logical id")
        if not isinstance(service_token, str) or not service_token:
            raise StackError("service_token must be a string")
        if stack_id is None:
            stack_id = f"arn:aws:cloudformation:{region}:{account}:stack/held-stack/{uuid.uuid4()}"
        stack_region, stack_account, name = parse_stack_id(stack_id)
        if (stack_region, stack_account) != (region, account):
            raise StackError(f"stack_id {stack_id} is not in account {account} and region {region}")

        resources = {logical_id: self._resource(resource_type, service_token)}
        if not is_custom(resource_type):
            resources[HELD_LOGICAL_ID] = self._resource(DEFAULT_RESOURCE_TYPE, service_token)
        backend = cloudformation_backends[account][region]
        self._holding.active = True
        try:
            stack = backend.stacks.get(stack_id)
            if stack is None:
                self._create(backend, stack_id, name, account, region, resources)
            else:
                self._add(stack, resources)
        finally:
            self._holding.active = False
        return stack_id

    @staticmethod
    def _resource(resource_type: str, service_token: str) -> dict:
        if is_custom(resource_type):
            return {"Type": resource_type, "Properties": {"ServiceToken": service_token}}
        return {"Type": resource_type}

    @staticmethod
    def _create(backend: Any, stack_id: str, name: str, account: str, region: str, resources: dict) -> None:
        """As moto's CreateStack (cloudformation/models.py create_stack), with the given stack id."""
        template = {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Description": "held in progress by the emulator (tests/emulator/stacks.py)",
            "Resources": resources,
        }
        stack = Stack(
            stack_id=stack_id,
            name=name,
            template=json.dumps(template),
            parameters={},
            account_id=account,
            region_name=region,
            cross_stack_resources=backend.exports,
        )
        backend.stacks[stack_id] = stack
        stack._add_stack_event("CREATE_IN_PROGRESS", resource_status_reason="User Initiated")
        stack.create_resources()
        _clear_physical_ids(stack, resources)
        _being_created(stack, resources)
        if stack.status != "CREATE_IN_PROGRESS":
            raise StackError(f"the stack did not stay in progress ({stack.status})", 500)

    @staticmethod
    def _add(stack: Stack, resources: dict) -> None:
        """Another resource of a stack held before: into its template, then created by moto's lazy resource
        map (cloudformation/parsing.py ResourceMap.__getitem__), as its engine creates each one."""
        held = stack.template_dict["Resources"]
        for logical_id, resource in resources.items():
            if logical_id in held and held[logical_id]["Type"] != resource["Type"]:
                raise StackError(f"the stack's {logical_id} is a {held[logical_id]['Type']}, not a {resource['Type']}")
        new = {k: v for k, v in resources.items() if k not in held}
        for logical_id, resource in new.items():
            held[logical_id] = resource
            stack.resource_map[logical_id]
        stack.template = json.dumps(stack.template_dict)
        _clear_physical_ids(stack, new)
        _being_created(stack, new)

    # --- statuses ------------------------------------------------------------------------------------------

    def set_status(
        self,
        stack_id: str,
        status: str | None = None,
        physical_ids: dict[str, str | None] | None = None,
        resource_statuses: dict[str, str] | None = None,
        deleting: dict[str, str] | None = None,
        properties: dict[str, dict] | None = None,
        parameters: dict[str, str] | None = None,
        template_body: str | None = None,
    ) -> dict:
        """Set the stack's status and custom resources' physical ids, and what CloudFormation shows with them
        (see the module's docstring); answers `describe(stack_id)`."""
        _check_set(status, physical_ids, resource_statuses, deleting, properties, parameters, template_body)
        stack, backend = self._stack(stack_id)
        customs = {
            logical_id: _custom_of(stack, logical_id)
            for logical_id in {*(physical_ids or {}), *(resource_statuses or {}), *(deleting or {})}
        }
        for logical_id, physical_id in (physical_ids or {}).items():
            customs[logical_id].resource_name = physical_id
        if properties:
            _set_properties(stack, properties)
        if parameters:
            _set_parameters(stack, parameters)
        if template_body is not None:
            stack.template = template_body
        if status is not None:
            stack.status = status
            stack._add_stack_event(status)
            _move_deleted(backend, stack_id, status)
        statuses = dict.fromkeys(_custom_ids(stack), RESOURCE_STATUS_OF.get(status)) if status else {}
        statuses.update(resource_statuses or {})
        for logical_id, resource_status in statuses.items():
            if resource_status is not None:
                _resource_enters(stack, logical_id, resource_status)
        for logical_id, physical_id in (deleting or {}).items():
            _add_resource_event(stack, logical_id, physical_id, CUSTOM_RESOURCE_TYPE, "DELETE_IN_PROGRESS")
        return self.describe(stack_id)

    @staticmethod
    def _stack(stack_id: str) -> tuple[Stack, Any]:
        region, account, _ = parse_stack_id(stack_id)
        backend = cloudformation_backends[account][region]
        stack = backend.stacks.get(stack_id) or backend.deleted_stacks.get(stack_id)
        if stack is None:
            raise StackError(f"no stack {stack_id}", 404)
        return stack, backend

    def describe(self, stack_id: str) -> dict:
        """{stack_id, status, resources: {logical id: {type, physical_id}}, requests: {logical id: Create}}."""
        region, account, _ = parse_stack_id(stack_id)
        backend = cloudformation_backends[account][region]
        stack = backend.stacks.get(stack_id) or backend.deleted_stacks.get(stack_id)
        if stack is None:
            raise StackError(f"no stack {stack_id}", 404)
        resources, statuses = {}, {}
        for logical_id in stack.template_dict.get("Resources", {}):
            resource = _resource_of(stack, logical_id)
            resources[logical_id] = {
                "type": getattr(resource, "cf_resource_type", None),
                "physical_id": getattr(resource, "physical_resource_id", None),
            }
            statuses[logical_id] = getattr(resource, HELD_STATUS, None) or stack.status
        return {
            "stack_id": stack_id,
            "status": stack.status,
            "resources": resources,
            "resource_statuses": statuses,
            "requests": self.requests(stack_id),
        }


def _resource_of(stack: Stack, logical_id: str) -> Any:
    try:
        return stack.resource_map[logical_id]
    except KeyError:
        raise StackError(f"the stack has no resource {logical_id}") from None


def _clear_physical_ids(stack: Stack, resources: dict) -> None:
    """A custom resource waiting for its Create's answer has no physical id yet (moto names it at once)."""
    for logical_id in resources:
        resource = stack.resource_map[logical_id]
        if isinstance(resource, CustomModel):
            resource.resource_name = None


def _custom_ids(stack: Stack) -> list[str]:
    return [
        logical_id
        for logical_id in stack.template_dict.get("Resources", {})
        if isinstance(_resource_of(stack, logical_id), CustomModel)
    ]


def _custom_of(stack: Stack, logical_id: str) -> CustomModel:
    resource = _resource_of(stack, logical_id)
    if not isinstance(resource, CustomModel):
        raise StackError(f"{logical_id} is not a custom resource of {stack.stack_id}")
    return resource


def _being_created(stack: Stack, resources: dict) -> None:
    """A custom resource just added waits for its Create: CREATE_IN_PROGRESS, its first event with no physical
    id yet (as real events show it: aws/aws-cdk-cli issue 203, PhysicalResourceId '')."""
    for logical_id in resources:
        if isinstance(stack.resource_map[logical_id], CustomModel):
            _resource_enters(stack, logical_id, "CREATE_IN_PROGRESS")


def _resource_enters(stack: Stack, logical_id: str, status: str) -> None:
    """The resource's own status, and its event (only when the status changes, as CloudFormation writes one
    event per status a resource enters)."""
    resource = _custom_of(stack, logical_id)
    if getattr(resource, HELD_STATUS, None) == status:
        return
    setattr(resource, HELD_STATUS, status)
    _add_resource_event(stack, logical_id, resource.resource_name or "", resource.cf_resource_type, status)


def _add_resource_event(stack: Stack, logical_id: str, physical_id: str, resource_type: str, status: str) -> None:
    """A resource's event as DescribeStackEvents answers it: LogicalResourceId, PhysicalResourceId,
    ResourceType, ResourceStatus (API Reference, StackEvent)."""
    stack.events.append(
        Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=logical_id,
            physical_resource_id=physical_id,
            resource_type=resource_type,
            resource_status=status,
            resource_status_reason=None,
            resource_properties=None,
        )
    )


def _set_properties(stack: Stack, properties: dict[str, dict]) -> None:
    """The resources' Properties in the stack's template, which GetTemplate answers."""
    for logical_id, values in properties.items():
        _resource_of(stack, logical_id)
        stack.template_dict["Resources"][logical_id]["Properties"] = values
    stack.template = json.dumps(stack.template_dict)


def _set_parameters(stack: Stack, parameters: dict[str, str]) -> None:
    """The stack's parameters: declared in its template, their values as DescribeStacks answers them (moto's
    parameter list comes from the resource map's resolved parameters; "****" is a NoEcho value as shown)."""
    declared = stack.template_dict.setdefault("Parameters", {})
    for name, value in parameters.items():
        declared.setdefault(name, {"Type": "String"})
        stack.resource_map.resolved_parameters[name] = value
    stack.template = json.dumps(stack.template_dict)


def _move_deleted(backend: Any, stack_id: str, status: str) -> None:
    """DELETE_COMPLETE moves the stack to the deleted stacks, which DescribeStacks answers by id only."""
    if status == "DELETE_COMPLETE" and stack_id in backend.stacks:
        backend.deleted_stacks[stack_id] = backend.stacks.pop(stack_id)
    elif status != "DELETE_COMPLETE" and stack_id in backend.deleted_stacks:
        backend.stacks[stack_id] = backend.deleted_stacks.pop(stack_id)


def _check_set(
    status: Any,
    physical_ids: Any,
    resource_statuses: Any,
    deleting: Any,
    properties: Any,
    parameters: Any,
    template_body: Any,
) -> None:
    if status is not None and status not in STACK_STATUSES:
        raise StackError(f"status must be a stack status ({', '.join(STACK_STATUSES)})")

    def mapping(name: str, value: Any, valid: Any) -> None:
        if value is not None and not (
            isinstance(value, dict) and all(isinstance(k, str) and valid(v) for k, v in value.items())
        ):
            raise StackError(f"{name} must map logical ids (or names) to valid values")

    mapping("physical_ids", physical_ids, lambda v: v is None or isinstance(v, str))
    mapping("resource_statuses", resource_statuses, lambda v: v in RESOURCE_STATUSES)
    mapping("deleting", deleting, lambda v: isinstance(v, str) and bool(v))
    mapping("properties", properties, lambda v: isinstance(v, dict))
    mapping("parameters", parameters, lambda v: isinstance(v, str))
    if template_body is not None and not isinstance(template_body, str):
        raise StackError("template_body must be a string")


def _install_resource_status() -> None:
    """DescribeStackResource(s) answer a held custom resource's own status (moto answers the stack's)."""
    original = cloudformation_responses.StackResourceDTO.__init__

    def __init__(self: Any, stack: Stack, resource: Any) -> None:
        original(self, stack, resource)
        self.resource_status = getattr(resource, HELD_STATUS, None) or self.resource_status

    cloudformation_responses.StackResourceDTO.__init__ = __init__


def _install_custom_resource_type() -> None:
    """moto's engine knows `Custom::*` types only; `AWS::CloudFormation::CustomResource` is the same resource
    (User Guide, "AWS::CloudFormation::CustomResource")."""
    original = parsing.resource_class_from_type

    def resource_class_from_type(resource_type: str) -> Any:
        return CustomModel if resource_type == CUSTOM_RESOURCE_TYPE else original(resource_type)

    parsing.resource_class_from_type = resource_class_from_type


def _install_holding(held: HeldStacks) -> None:
    """While a stack is being held, the engine's ServiceToken lookup answers the held request (after the
    emulator's own lookup, cloudformation.py, so that every other stack keeps reaching the binary)."""
    lambda_backend = custom_model.get_lambda_backend

    def get_lambda_backend(account: str, region: str) -> Any:
        return _HoldingBackend(held) if held.holding() else lambda_backend(account, region)

    custom_model.get_lambda_backend = get_lambda_backend


def install(held: HeldStacks) -> None:
    """Patch moto (once per process, before the server app exists; after cloudformation.install)."""
    _install_custom_resource_type()
    _install_holding(held)
    _install_resource_status()
