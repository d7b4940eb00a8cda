"""CloudFormation custom-resource request events, shaped as CloudFormation sends them to a Lambda.

CloudFormation sends every scalar property as a string ("true", "3"), lists as lists of strings, and includes
its own `ServiceToken` and `ServiceTimeout` in `ResourceProperties` (and `OldResourceProperties`) and repeats
them at the top level of the event (AWS CloudFormation User Guide, "Custom resource request objects",
crpg-ref-requests; a captured event is quoted in tests/requests/README.md). `ServiceTimeout` is "1200" by
default, as in the project's templates (cloudformation/stackset-member.yaml, examples/existing-account.yaml);
`service_timeout=None` leaves it out everywhere, as for a template that does not set it. A `ServiceTimeout` in
the given properties wins, and the top level repeats the one in `ResourceProperties`.
`stringify=False` keeps the given JSON types (to test that the provider also accepts real booleans and numbers).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

REGION = "us-east-1"
ACCOUNT = "123456789012"
RESOURCE_TYPE = "Custom::SecurityHubMemberAccount"
SERVICE_TOKEN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:securityhub-member-account"
SNS_TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:securityhub-member-account"
SERVICE_TIMEOUT = "1200"  # the project's templates' value; CloudFormation's type for it is String


def stack_id(
    name: str = "member-stack", guid: str | None = None, *, account: str = ACCOUNT, region: str = REGION
) -> str:
    """A stack ARN: by default of a stack in the provider's own account and region."""
    return f"arn:aws:cloudformation:{region}:{account}:stack/{name}/{guid or uuid.uuid4()}"


def cfn_value(value: Any) -> Any:
    """A property value as CloudFormation passes it: scalars become strings, recursively."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, dict):
        return {k: cfn_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [cfn_value(v) for v in value]
    return value


def properties(
    props: dict[str, Any] | None,
    service_token: str = SERVICE_TOKEN,
    stringify: bool = True,
    service_timeout: str | None = SERVICE_TIMEOUT,
) -> dict:
    """`ResourceProperties`: ServiceToken and ServiceTimeout (unless None) first, then the given properties (a
    `ServiceTimeout` among them replaces the default)."""
    out: dict[str, Any] = {"ServiceToken": service_token}
    if service_timeout is not None:
        out["ServiceTimeout"] = cfn_value(service_timeout)
    for k, v in (props or {}).items():
        out[k] = cfn_value(v) if stringify else v
    return out


def request(
    request_type: str,
    props: dict[str, Any] | None,
    response_url: str,
    *,
    old_props: dict[str, Any] | None = None,
    physical_id: str | None = None,
    logical_id: str = "Member",
    stack: str | None = None,
    request_id: str | None = None,
    service_token: str = SERVICE_TOKEN,
    stringify: bool = True,
    service_timeout: str | None = SERVICE_TIMEOUT,
) -> dict:
    """One custom-resource request event. Update needs `old_props` and `physical_id`; Delete `physical_id`.

    `service_timeout`: the template's ServiceTimeout, put where CloudFormation puts it (both property maps and
    the top level); None leaves it out."""
    if request_type not in ("Create", "Update", "Delete"):
        raise ValueError(f"bad RequestType {request_type!r}")
    resource_properties = properties(props, service_token, stringify, service_timeout)
    # Field order as in a captured event (tests/requests/README.md); JSON objects are unordered anyway.
    event: dict[str, Any] = {"RequestType": request_type, "ServiceToken": service_token}
    if "ServiceTimeout" in resource_properties:
        event["ServiceTimeout"] = resource_properties["ServiceTimeout"]
    event.update(
        {
            "ResponseURL": response_url,
            "StackId": stack or stack_id(),
            "RequestId": request_id or str(uuid.uuid4()),
            "LogicalResourceId": logical_id,
            "ResourceType": RESOURCE_TYPE,
            "ResourceProperties": resource_properties,
        }
    )
    if request_type == "Update":
        if old_props is None or physical_id is None:
            raise ValueError("Update needs old_props and physical_id")
        event["OldResourceProperties"] = properties(old_props, service_token, stringify, service_timeout)
    if request_type in ("Update", "Delete"):
        if physical_id is None:
            raise ValueError(f"{request_type} needs physical_id")
        event["PhysicalResourceId"] = physical_id
    return event


def create(props: dict[str, Any] | None, response_url: str, **kw) -> dict:
    return request("Create", props, response_url, **kw)


def update(props: dict[str, Any] | None, old_props: dict[str, Any], physical_id: str, response_url: str, **kw) -> dict:
    return request("Update", props, response_url, old_props=old_props, physical_id=physical_id, **kw)


def delete(props: dict[str, Any] | None, physical_id: str, response_url: str, **kw) -> dict:
    return request("Delete", props, response_url, physical_id=physical_id, **kw)


def sns_wrap(event: dict, topic_arn: str = SNS_TOPIC_ARN) -> dict:
    """The event as an SNS-backed ServiceToken delivers it to a Lambda subscriber."""
    message_id = str(uuid.uuid4())
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic_arn}:{uuid.uuid4()}",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message_id,
                    "TopicArn": topic_arn,
                    "Subject": "AWS CloudFormation custom resource request",
                    "Message": json.dumps(event),
                    "Timestamp": "2026-11-23T16:00:00.000Z",
                    "SignatureVersion": "1",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000.pem",
                    "UnsubscribeUrl": f"https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={topic_arn}",
                    "MessageAttributes": {},
                },
            }
        ]
    }
