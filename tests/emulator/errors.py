"""Error responses in each service's own wire format, so that SDKs parse the code as they would from AWS.

- Security Hub (REST-JSON): status per the API reference, header `x-amzn-ErrorType` (what the Rust SDK's
  `ProvideErrorMetadata::code()` reads first) and body {"Code", "Message"}.
- Organizations (AWS JSON 1.1): body {"__type", "Message"}.
- STS (AWS Query): XML `ErrorResponse/Error/{Type,Code,Message}`.
- EC2: XML `Response/Errors/Error/{Code,Message}`.
- Account Management (REST-JSON): header `x-amzn-ErrorType` and body {"message"} (Account Management API
  reference, "Common errors"; InternalServerException is 500, TooManyRequestsException 429).
- S3 (REST-XML): XML `Error/{Code,Message}`.
"""

import json
import uuid
from dataclasses import dataclass
from xml.sax.saxutils import escape

SECURITYHUB_STATUS = {
    "AccessDeniedException": 403,
    # Not in the Security Hub API model, but answered by AWS all the same: GetMembers naming no member of the
    # caller (hashicorp/terraform-provider-aws PR 34781, "BadRequestException: The request is rejected since no
    # such resource found.", status 400), and every call of an account whose services are not active yet
    # (awslabs/aws-deployment-framework issues 215, 283 and 519, "SubscriptionRequiredException ... The AWS
    # Access Key Id needs a subscription for the service"; a client error, 400).
    "BadRequestException": 400,
    "SubscriptionRequiredException": 400,
    "InternalException": 500,
    "InvalidAccessException": 401,
    "InvalidInputException": 400,
    "LimitExceededException": 429,
    "ResourceConflictException": 409,
    "ResourceNotFoundException": 404,
}


@dataclass(frozen=True)
class Reply:
    """A complete HTTP response: status, headers and body."""

    status: int
    headers: dict[str, str]
    body: bytes


def _request_id() -> str:
    return str(uuid.uuid4())


def securityhub_error(code: str, message: str) -> Reply:
    body = json.dumps({"Code": code, "Message": message}).encode()
    return Reply(
        SECURITYHUB_STATUS[code],
        {"Content-Type": "application/json", "x-amzn-ErrorType": code, "x-amzn-RequestId": _request_id()},
        body,
    )


def organizations_error(code: str, message: str, status: int) -> Reply:
    body = json.dumps({"__type": code, "Message": message}).encode()
    return Reply(status, {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": _request_id()}, body)


def sts_error(code: str, message: str, status: int) -> Reply:
    kind = "Receiver" if status >= 500 else "Sender"
    body = (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        f"<Error><Type>{kind}</Type><Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{_request_id()}</RequestId></ErrorResponse>"
    )
    return Reply(status, {"Content-Type": "text/xml"}, body.encode())


def ec2_error(code: str, message: str, status: int) -> Reply:
    body = (
        f"<Response><Errors><Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
        f"</Errors><RequestID>{_request_id()}</RequestID></Response>"
    )
    return Reply(status, {"Content-Type": "text/xml"}, body.encode())


def account_error(code: str, message: str, status: int) -> Reply:
    body = json.dumps({"message": message}).encode()
    return Reply(
        status, {"Content-Type": "application/json", "x-amzn-ErrorType": code, "x-amzn-RequestId": _request_id()}, body
    )


def s3_error(code: str, message: str, status: int) -> Reply:
    body = (
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        f"<RequestId>{_request_id()}</RequestId></Error>"
    )
    return Reply(status, {"Content-Type": "application/xml"}, body.encode())


def internal_error(service: str) -> Reply | None:
    """The 500 that each service answers on an internal failure; None for services without one here."""
    message = "We encountered an internal error. Please try again."
    match service:
        case "securityhub":
            return securityhub_error("InternalException", message)
        case "organizations":
            return organizations_error("ServiceException", message, 500)
        case "sts":
            return sts_error("InternalFailure", message, 500)
        case "ec2":
            return ec2_error("InternalError", message, 500)
        case "account":
            return account_error("InternalServerException", message, 500)
        case "s3":
            return s3_error("InternalError", message, 500)
    return None


def throttling_error(service: str) -> Reply | None:
    """The throttling answer of Security Hub (429) and Organizations (400); None for other services."""
    match service:
        case "securityhub":
            return securityhub_error("LimitExceededException", "Rate exceeded")
        case "organizations":
            return organizations_error(
                "TooManyRequestsException", "You have sent too many requests in too short a period of time.", 400
            )
    return None


def rate_exceeded(service: str) -> Reply | None:
    """A token bucket's answer (throttle.py): the random-fraction throttling error for Security Hub and
    Organizations, and STS's 400 `Throttling` "Rate exceeded" (AWS re:Post knowledge center, "How do I resolve
    API throttling or 'Rate exceeded' errors for IAM and AWS STS?"), which the random fraction never gives."""
    if service == "sts":
        return sts_error("Throttling", "Rate exceeded", 400)
    return throttling_error(service)
