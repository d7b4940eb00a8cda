"""WSGI middleware in front of moto: injected latency and faults, and the call log.

It sees every AWS request (the control API is routed around it; unsigned requests pass untouched), and in
order:
1. sleeps `latency_ms` (any service, S3 included), so that concurrency shows in wall-clock time;
2. for Security Hub, Organizations, STS and EC2: with `reset_fraction` closes the connection without any
   HTTP response; with `throttle_fraction` answers the service's throttling error (Security Hub, Organizations);
   with `error_fraction` answers the service's own 500;
3. for Security Hub, Organizations and STS: takes a token from the calling account's bucket in the request's
   region (throttle.py) and, when it is empty, answers the service's throttling error; the call is counted
   either way (served or throttled), and a served call that the service itself then answers with its throttling
   error (Organizations' CreateAccount over `create_account_concurrency`, organizations.py) is counted throttled;
4. answers SubscriptionRequiredException to the Security Hub and Account requests of an account made by
   CreateAccount less than `new_account_not_ready_s` ago (see `NOT_READY`); the AccessDeniedException of a
   region-deny SCP to Security Hub requests of `denied_regions`, and IAM's own AccessDeniedException (no policy
   allows it) to every Security Hub request of `access_denied_accounts` (see `access_denied`); and 500
   InternalException to every Security Hub request of an account in a region of `fail_regions`;
5. answers 500 to the next `response_put_failures` S3 object PUTs (CloudFormation response uploads) before
   anything is stored;
6. otherwise forwards to moto.
Each request is logged with its outcome.
"""

import io
import socket
import time
from collections.abc import Callable, Iterable
from typing import Any

from .calls import CallLog, CallRecord
from .config import Config
from .errors import Reply, account_error, internal_error, rate_exceeded, securityhub_error, throttling_error
from .identify import AwsRequest, identify
from .organizations import AccountCreations
from .throttle import SERVICES as BUCKET_SERVICES
from .throttle import RateLimiter

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]
FAULTABLE_SERVICES = frozenset({"securityhub", "organizations", "sts", "ec2", "account"})
# The throttling error codes of the bucket services as moto's answers name them (x-amzn-ErrorType): a served call
# answered with one was throttled by the service itself. STS's `Throttling` comes only from its bucket here.
SERVICE_THROTTLING_CODES = {"securityhub": "LimitExceededException", "organizations": "TooManyRequestsException"}
# A new account's services are not all active when CreateAccount answers SUCCEEDED: for some minutes its calls
# are refused with "The AWS Access Key Id needs a subscription for the service", HTTP 400, as
# awslabs/aws-deployment-framework issues 519 (SSM GetParameter of a just-created account, "An error occurred
# (SubscriptionRequiredException) ..."), 215 and 283 show it. Modelled for the services the provider calls in
# the new account: Security Hub and Account (ListRegions).
NOT_READY = ("SubscriptionRequiredException", "The AWS Access Key Id needs a subscription for the service")
NOT_READY_SERVICES = frozenset({"securityhub", "account"})
# The principal the provider acts as in a member account: the role CreateAccount makes, assumed.
CALLER_ROLE = "OrganizationAccountAccessRole"
REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


def buffer_body(environ: dict[str, Any]) -> bytes:
    """Read the request body once and put it back, so both the middleware and moto can read it."""
    stream = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        body = stream.read(int(environ.get("CONTENT_LENGTH") or 0))
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def access_denied(request: AwsRequest, by_scp: bool) -> Reply:
    """Security Hub's AccessDeniedException (403) in IAM's wording for `request`'s operation on the caller's hub.

    IAM User Guide, "Troubleshooting access denied error messages": the message names the principal, the action
    and the resource, and why: "... because no identity-based policy allows the <action> action" when nothing
    allows it, "... with an explicit deny in a service control policy" when an SCP denies it."""
    account, action = request.account, f"securityhub:{request.operation}"
    why = (
        "with an explicit deny in a service control policy"
        if by_scp
        else f"because no identity-based policy allows the {action} action"
    )
    return securityhub_error(
        "AccessDeniedException",
        f"User: arn:aws:sts::{account}:assumed-role/{CALLER_ROLE}/session is not authorized to perform: {action} "
        f"on resource: arn:aws:securityhub:{request.region}:{account}:hub/default {why}",
    )


def drop_connection(environ: dict[str, Any]) -> None:
    """Shut the client's socket down: the client sees the connection closed with no response at all.

    werkzeug's development server exposes the connection as `werkzeug.socket`; its later attempt to write
    the (empty) response fails with a broken pipe, which it treats as a dropped connection, silently.
    """
    connection = environ.get("werkzeug.socket")
    if connection is not None:
        try:
            connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # the client is already gone: the outcome is the same


class FaultMiddleware:
    def __init__(self, app: WSGIApp, config: Config, calls: CallLog, limiter: RateLimiter, creations: AccountCreations):
        self._app = app
        self._config = config
        self._calls = calls
        self._limiter = limiter
        self._creations = creations

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        body = buffer_body(environ)
        request = identify(environ, body)
        if request is None:
            return self._app(environ, start_response)
        record = self._calls.start(request, time.time())
        time.sleep(self._config.get("latency_ms") / 1000)
        fault, reply = self._fault_for(request)
        record.fault = fault
        if fault == "reset":
            drop_connection(environ)
            record.end = time.time()
            start_response("500 Connection Dropped", [])
            return []
        if reply is not None:
            return self._reply(reply, start_response, record)
        return self._forward(environ, start_response, record, request)

    def _fault_for(self, request: AwsRequest) -> tuple[str | None, Reply | None]:
        service = request.service
        if service in FAULTABLE_SERVICES:
            if self._config.chance("reset_fraction"):
                return "reset", None
            throttle = throttling_error(service)
            if throttle is not None and self._config.chance("throttle_fraction"):
                return "throttle", throttle
            if self._config.chance("error_fraction"):
                return "error", internal_error(service)
        # A request that reached the service takes a token whatever the service then answers (an SCP's deny, an
        # internal error): AWS meters requests as they arrive, before it evaluates them.
        if service in BUCKET_SERVICES and not self._limiter.admit(
            service, request.account, request.region, request.operation, self._config.bucket_limit(service)
        ):
            return "rate_limited", rate_exceeded(service)
        if service in NOT_READY_SERVICES and self._not_ready(request.account):
            if service == "securityhub":
                return "not_ready", securityhub_error(*NOT_READY)
            return "not_ready", account_error(*NOT_READY, 400)
        # A region-deny SCP (Control Tower's region deny control, Organizations User Guide "SCP examples: Deny
        # access to AWS based on the requested AWS Region") refuses every call of the account in the region,
        # with the service's AccessDeniedException; the regions stay enabled, so ListRegions still lists them.
        # An SCP's explicit deny is decided before any allow is looked for, so it comes before the plain deny.
        if service == "securityhub" and request.region in self._config.get("denied_regions").get(request.account, []):
            return "denied_region", access_denied(request, by_scp=True)
        if service == "securityhub" and request.account in self._config.get("access_denied_accounts"):
            return "access_denied", access_denied(request, by_scp=False)
        if service == "securityhub" and request.account in self._config.get("fail_regions").get(request.region, []):
            return "fail_region", securityhub_error(
                "InternalException", f"Security Hub is failing in {request.region} for account {request.account}"
            )
        if request.is_object_put() and self._config.take_put_failure():
            return "put_failure", internal_error("s3")
        return None, None

    def _not_ready(self, account: str) -> bool:
        """`account` was made by a CreateAccount that finished less than `new_account_not_ready_s` ago (or is
        still in progress)."""
        window = self._config.get("new_account_not_ready_s")
        if window <= 0:
            return False
        succeeded_at = self._creations.succeeded_at(account)
        return succeeded_at is not None and time.time() < succeeded_at + window

    @staticmethod
    def _reply(reply: Reply, start_response: Callable, record: CallRecord) -> list[bytes]:
        headers = [*reply.headers.items(), ("Content-Length", str(len(reply.body)))]
        start_response(f"{reply.status} {REASONS.get(reply.status, 'Error')}", headers)
        record.status, record.end = reply.status, time.time()
        return [reply.body]

    def _forward(
        self, environ: dict[str, Any], start_response: Callable, record: CallRecord, request: AwsRequest
    ) -> list[bytes]:
        def capture_status(status: str, headers: list, exc_info: Any = None) -> Callable:
            record.status = int(status.split(" ", 1)[0])
            code = next((value for name, value in headers if name.lower() == "x-amzn-errortype"), None)
            if record.status >= 400 and code is not None and code == SERVICE_THROTTLING_CODES.get(request.service):
                record.fault = "service_throttled"
                self._limiter.throttled_after_all(request.service, request.account, request.region, request.operation)
            return start_response(status, headers, exc_info)

        result = self._app(environ, capture_status)
        try:
            chunks = list(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        record.end = time.time()
        return chunks
