"""What an incoming request is: service, region, caller account and operation, from the request alone.

Service and region come from the SigV4 credential scope (`Credential=AK/date/region/service/aws4_request`),
in the Authorization header or, for presigned URLs (CloudFormation's ResponseURL), in the X-Amz-Credential
query parameter. The account is the one moto maps the access key to (AssumeRole keys act as the role's
account). The operation comes from X-Amz-Target (JSON protocols), the Action parameter (Query, EC2) or the
method and path matched against the botocore model (REST protocols).
"""

import io
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from moto.core.request import Request
from moto.core.routing import get_service_router
from moto.iam.models import get_account_id_from

CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class AwsRequest:
    service: str
    region: str
    account: str
    operation: str
    method: str
    path: str

    def is_object_put(self) -> bool:
        """An S3 PutObject: a PUT on /bucket/key (path style)."""
        return self.service == "s3" and self.method == "PUT" and "/" in self.path.strip("/")


def credential_scope(environ: dict[str, Any]) -> tuple[str, str, str] | None:
    """(access key, region, service) of a SigV4-signed or presigned request, or None."""
    match = CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    if match is None:
        presigned = parse_qs(environ.get("QUERY_STRING", "")).get("X-Amz-Credential")
        match = CREDENTIAL.search(f"Credential={presigned[0]}") if presigned else None
    return match.groups() if match else None


def identify(environ: dict[str, Any], body: bytes) -> AwsRequest | None:
    """The AWS request in `environ` (whose body is `body`), or None for a request that is not SigV4-signed."""
    scope = credential_scope(environ)
    if scope is None:
        return None
    access_key, region, service = scope
    return AwsRequest(
        service=service.lower(),
        region=region,
        account=get_account_id_from(access_key),
        operation=operation_name(service.lower(), environ, body),
        method=environ.get("REQUEST_METHOD", ""),
        path=environ.get("PATH_INFO", ""),
    )


def operation_name(service: str, environ: dict[str, Any], body: bytes) -> str:
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.split(".")[-1]
    action = _action(environ, body)
    return action or _rest_operation(service, environ, body)


def _action(environ: dict[str, Any], body: bytes) -> str | None:
    actions = parse_qs(environ.get("QUERY_STRING", "")).get("Action")
    if not actions and environ.get("CONTENT_TYPE", "").startswith(FORM_CONTENT_TYPE):
        actions = parse_qs(body.decode("utf-8", "replace")).get("Action")
    return actions[0] if actions else None


def _rest_operation(service: str, environ: dict[str, Any], body: bytes) -> str:
    """Match against the botocore model; unknown requests are named by method and path."""
    request = Request({**environ, "wsgi.input": io.BytesIO(body)})
    try:
        operation, _ = get_service_router(service).match(request)
        return operation.name
    except Exception:  # any service or path moto's router cannot place: name it by method and path
        return f"{request.method} {request.path}"
