"""moto's own CloudFormation engine, sending custom-resource requests to the real binary.

moto's engine deploys real templates and, for a `Custom::*` resource, builds the Create event and calls
`LambdaFunction.invoke` on the ServiceToken's function (moto cloudformation/custom_model.py). moto runs a
function only in Docker; here every invocation of a moto Lambda function goes instead to the Lambda Invoke
API of `lambda_endpoint` (the harness's Runtime API stand-in, which hands it to the binary). With
`lambda_endpoint` unset, moto's own invoke runs.

Further, as CloudFormation does:
- the event's ResponseURL is on this server, on loopback (moto builds it from `settings.moto_server_host()`,
  which outside Docker is `http://host.docker.internal`);
- a ServiceToken that is an SNS topic gets the request published to the topic, so that its subscribed
  function receives it wrapped in an SNS notification (moto's engine only looks up Lambda functions);
- the provider's answer is taken in the stack's own account (moto takes it in the caller's, and the answer's
  PUT is unsigned, so a stack in another account never completed), its PhysicalResourceId becomes the
  resource's, and FAILED fails the stack's creation (moto ignores it: the stack stayed CREATE_IN_PROGRESS).
"""

import json
import urllib.request
from typing import Any
from urllib.parse import quote

from moto import settings
from moto.awslambda.models import LambdaFunction
from moto.cloudformation import custom_model
from moto.cloudformation.responses import CloudFormationResponse
from moto.sns.models import sns_backends

from .config import Config

LOOPBACK_HOST = "http://127.0.0.1"
INVOKE_PATH = "/2015-03-31/functions/{}/invocations"
# Subject of CloudFormation's SNS notifications, as real ones carry it (the harness's events.sns_wrap too).
SNS_SUBJECT = "AWS CloudFormation custom resource request"
# Seconds beyond the function's own timeout that a synchronous invocation may take to answer.
INVOKE_MARGIN_S = 30


def _arn_parts(arn: str) -> list[str]:
    """arn:partition:service:region:account:resource..., split on ':'."""
    return arn.split(":")


def _is_topic(service_token: str) -> bool:
    parts = _arn_parts(service_token)
    return len(parts) >= 6 and parts[0] == "arn" and parts[2] == "sns"


# --- Lambda invocations ---------------------------------------------------------------------------------------


def invocation_type(request_headers: Any) -> str:
    """The Lambda invocation type of one call of `LambdaFunction.invoke`.

    The Invoke API's `X-Amz-Invocation-Type` (default RequestResponse; AWS Lambda API Reference, Invoke)
    when moto's Lambda API passes the request's headers (moto awslambda/responses.py); moto's own service
    integrations (CloudFormation custom resources, SNS subscriptions, ...) pass `{}` (moto
    cloudformation/custom_model.py, awslambda/models.py send_sns_message), and those services invoke
    asynchronously (AWS Lambda Developer Guide, "Using AWS Lambda with CloudFormation": "CloudFormation
    invokes your Lambda function asynchronously"; "Invoking Lambda functions with Amazon SNS notifications").
    """
    if not request_headers:
        return "Event"
    return request_headers.get("X-Amz-Invocation-Type") or "RequestResponse"


def forward_invocation(endpoint: str, fn: LambdaFunction, body: str, kind: str) -> tuple[int, dict, bytes]:
    """POST the payload to the Invoke API at `endpoint`, for `fn` (by ARN); answers (status, headers, body)."""
    url = endpoint.rstrip("/") + INVOKE_PATH.format(quote(fn.function_arn, safe=""))
    request = urllib.request.Request(
        url,
        data=(body or "{}").encode(),
        method="POST",
        headers={"X-Amz-Invocation-Type": kind, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=int(fn.timeout) + INVOKE_MARGIN_S) as response:
        return response.status, dict(response.headers), response.read()


def _install_invoke(config: Config) -> None:
    original = LambdaFunction.invoke

    def invoke(self: LambdaFunction, body: str, request_headers: Any, response_headers: Any) -> str | bytes:
        endpoint = config.get("lambda_endpoint")
        if endpoint is None:
            return original(self, body, request_headers, response_headers)
        _, headers, payload = forward_invocation(endpoint, self, body, invocation_type(request_headers))
        error = {k.lower(): v for k, v in headers.items()}.get("x-amz-function-error")
        if error:
            response_headers["x-amz-function-error"] = error
        return payload

    LambdaFunction.invoke = invoke


# --- the ResponseURL ------------------------------------------------------------------------------------------


def _install_response_host() -> None:
    """moto builds the ResponseURL as `{moto_server_host()}:{MOTO_PORT}/cloudformation_{region}/cfnresponse`
    (moto cloudformation/custom_model.py); server.py sets MOTO_PORT, this puts it on loopback."""
    settings.moto_server_host = lambda: LOOPBACK_HOST


# --- SNS ServiceTokens ----------------------------------------------------------------------------------------


class _Topic:
    """An SNS ServiceToken where moto's engine expects a Lambda function: `invoke` publishes the request.

    CloudFormation publishes the request to the topic, whose subscribers get it as the notification's
    Message (AWS CloudFormation User Guide, "Amazon SNS-backed custom resources"). moto's SNS then invokes
    the subscribed function with the notification (moto sns/models.py, protocol "lambda").
    """

    def __init__(self, arn: str):
        self.arn = arn

    def invoke(self, body: str, request_headers: Any, response_headers: Any) -> None:
        _, _, _, region, account = _arn_parts(self.arn)[:5]
        sns_backends[account][region].publish(message=body, arn=self.arn, subject=SNS_SUBJECT)


class _ServiceTokens:
    """The Lambda backend as moto's engine uses it (`get_function(service_token)`), also knowing topics."""

    def __init__(self, backend: Any):
        self._backend = backend

    def get_function(self, service_token: str) -> Any:
        return _Topic(service_token) if _is_topic(service_token) else self._backend.get_function(service_token)


def _install_sns_tokens() -> None:
    lambda_backend = custom_model.get_lambda_backend
    custom_model.get_lambda_backend = lambda account, region: _ServiceTokens(lambda_backend(account, region))


# --- the provider's answer ------------------------------------------------------------------------------------


def _install_answers() -> None:
    """The answer is PUT, unsigned, to the ResponseURL; CloudFormation applies it to the stack it came from.

    moto (cloudformation/responses.py process_cfn_response) looks the stack up in the caller's account (the
    default one, for an unsigned request), acts only on SUCCESS and keeps its own name as the resource's
    physical id. Here the account is the StackId's, the resource's physical id is the answer's
    PhysicalResourceId, and a FAILED answer fails the stack with the answer's Reason (AWS CloudFormation User
    Guide, "Custom resource response objects": Status SUCCESS or FAILED; PhysicalResourceId, the identifier
    of the resource; Reason, "the reason for a failure response"). moto's engine has no rollback: the stack
    stays CREATE_FAILED, and no Delete is sent.

    moto parses a stack's outputs once and keeps them (cloudformation/parsing.py OutputMap): a DescribeStacks
    while the custom resource had no data yet would keep its `Fn::GetAtt` outputs empty for good. The outputs
    are parsed afresh once the answer is in, as moto itself does after an update (cloudformation/models.py).
    """
    original = CloudFormationResponse.process_cfn_response

    def process_cfn_response(self: CloudFormationResponse) -> tuple[int, dict[str, int], str]:
        answer = json.loads(self.body or b"{}")
        parts = _arn_parts(answer.get("StackId", ""))
        if len(parts) > 5:
            self.current_account, self.region = parts[4], parts[3]
        stack = self.cloudformation_backend.get_stack(answer.get("StackId", ""))
        if answer.get("Status") == "FAILED":
            stack.status = "CREATE_FAILED"
            stack.stack_status_reason = answer.get("Reason")
            stack._add_stack_event("CREATE_FAILED", resource_status_reason=answer.get("Reason"))
            return 200, {"status": 200}, json.dumps("{}")
        reply = original(self)
        resource = stack.get_custom_resource(answer.get("LogicalResourceId", ""))
        resource.resource_name = answer.get("PhysicalResourceId") or resource.resource_name
        stack.output_map = stack._create_output_map()
        return reply

    CloudFormationResponse.process_cfn_response = process_cfn_response


def install(config: Config) -> None:
    """Patch moto (once per process, before the server app exists)."""
    _install_invoke(config)
    _install_response_host()
    _install_sns_tokens()
    _install_answers()
