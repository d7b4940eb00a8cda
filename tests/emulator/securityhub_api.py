"""Wires the Security Hub membership model into moto's Security Hub endpoint.

moto routes a REST request to a `SecurityHubResponse` method named after the operation (found from the
botocore model by method and path), once the path is in `moto.securityhub.urls.url_paths`. So this module
adds the missing paths and replaces the membership methods before the server app is created; moto's other
Security Hub operations (findings, organization configuration, ...) keep working unchanged.

The caller's account is moto's `current_account` (AssumeRole credentials act as the role's account), the
region is that of the request's SigV4 scope.

Tagging (`/tags/{ResourceArn}`): SDKs percent-encode the ARN as one path label, its `/` as %2F. The werkzeug
server decodes PATH_INFO, so moto's Flask route sees `/tags/arn:aws:securityhub:<region>:<account>:hub/default`
with a real `/` and must match across slashes (`.+`); moto's operation router matches the raw, still-encoded
path and hands the decoded ARN over as the `ResourceArn` URI parameter.
"""

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import moto.securityhub.urls as securityhub_urls
from moto.securityhub.responses import SecurityHubResponse

from .errors import securityhub_error
from .securityhub import SecurityHubError, SecurityHubModel

MISSING_PATHS = (
    "{0}/invitations$",
    "{0}/invitations/count$",
    "{0}/invitations/decline$",
    "{0}/invitations/delete$",
    "{0}/members/invite$",
    "{0}/members/disassociate$",
    "{0}/members/delete$",
    "{0}/administrator/disassociate$",
    "{0}/master/disassociate$",
    "{0}/tags/(?P<resource_arn>.+)$",
)
TAGS_PATH_PREFIX = "/tags/"

Operation = Callable[[SecurityHubModel, "Call"], dict]


class Call:
    """The parts of one request an operation needs: caller, region, JSON body and query string."""

    def __init__(self, response: SecurityHubResponse):
        self.account: str = response.current_account
        self.region: str = response.region
        self._query = response.querystring
        self._uri_params: dict[str, Any] = response.uri_match
        self._raw_path: str = response.raw_path
        self.body = self._parse_body(response.body)

    @staticmethod
    def _parse_body(raw: Any) -> dict:
        if not raw:
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise SecurityHubError("InvalidInputException", "The request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise SecurityHubError("InvalidInputException", "The request body must be a JSON object")
        return body

    def required(self, name: str) -> Any:
        value = self.body.get(name)
        if value in (None, "", []):
            raise SecurityHubError("InvalidInputException", f"{name} is required")
        return value

    def account_ids(self) -> list[str]:
        ids = self.required("AccountIds")
        if not isinstance(ids, list):
            raise SecurityHubError("InvalidInputException", "AccountIds must be a list")
        return [str(i) for i in ids]

    def query(self, name: str) -> str | None:
        values = self._query.get(name)
        return values[0] if values else None

    def query_all(self, name: str) -> list[str]:
        """Every value of a repeated query parameter (`?tagKeys=a&tagKeys=b`)."""
        return list(self._query.get(name) or [])

    def resource_arn(self) -> str:
        """The `{ResourceArn}` label of `/tags/{ResourceArn}`, percent-decoded (moto's router decodes it; the
        raw path is the fallback)."""
        arn = self._uri_params.get("ResourceArn")
        if not arn and self._raw_path.startswith(TAGS_PATH_PREFIX):
            arn = unquote(self._raw_path[len(TAGS_PATH_PREFIX) :])
        if not arn:
            raise SecurityHubError("InvalidInputException", "ResourceArn is required")
        return arn

    def max_results(self) -> int | None:
        value = self.query("MaxResults")
        try:
            return int(value) if value is not None else None
        except ValueError:
            raise SecurityHubError("InvalidInputException", "MaxResults must be a number") from None


def _enable(model: SecurityHubModel, call: Call) -> dict:
    model.enable_hub(
        call.account, call.region, bool(call.body.get("EnableDefaultStandards", True)), call.body.get("Tags")
    )
    return {}


def _disable(model: SecurityHubModel, call: Call) -> dict:
    model.disable_hub(call.account, call.region)
    return {}


def _describe_hub(model: SecurityHubModel, call: Call) -> dict:
    return model.describe_hub(call.account, call.region, call.query("HubArn"))


def _create_members(model: SecurityHubModel, call: Call) -> dict:
    details = call.required("AccountDetails")
    if not isinstance(details, list) or not all(isinstance(d, dict) for d in details):
        raise SecurityHubError("InvalidInputException", "AccountDetails must be a list of objects")
    return {"UnprocessedAccounts": model.create_members(call.account, call.region, details)}


def _invite_members(model: SecurityHubModel, call: Call) -> dict:
    return {"UnprocessedAccounts": model.invite_members(call.account, call.region, call.account_ids())}


def _get_members(model: SecurityHubModel, call: Call) -> dict:
    members, unprocessed = model.get_members(call.account, call.region, call.account_ids())
    return {"Members": members, "UnprocessedAccounts": unprocessed}


def _list_members(model: SecurityHubModel, call: Call) -> dict:
    only_associated = (call.query("OnlyAssociated") or "true").lower() != "false"
    members, token = model.list_members(
        call.account, call.region, only_associated, call.max_results(), call.query("NextToken")
    )
    return _with_token({"Members": members}, token)


def _disassociate_members(model: SecurityHubModel, call: Call) -> dict:
    model.disassociate_members(call.account, call.region, call.account_ids())
    return {}


def _delete_members(model: SecurityHubModel, call: Call) -> dict:
    return {"UnprocessedAccounts": model.delete_members(call.account, call.region, call.account_ids())}


def _list_invitations(model: SecurityHubModel, call: Call) -> dict:
    invitations, token = model.list_invitations(call.account, call.region, call.max_results(), call.query("NextToken"))
    return _with_token({"Invitations": invitations}, token)


def _invitations_count(model: SecurityHubModel, call: Call) -> dict:
    return {"InvitationsCount": model.invitations_count(call.account, call.region)}


def _accept(administrator_field: str) -> Operation:
    """AcceptAdministratorInvitation names the sender AdministratorId; the deprecated AcceptInvitation, MasterId."""

    def accept(model: SecurityHubModel, call: Call) -> dict:
        model.accept_invitation(
            call.account, call.region, str(call.required(administrator_field)), str(call.required("InvitationId"))
        )
        return {}

    return accept


def _administrator(result_field: str) -> Operation:
    """GetAdministratorAccount answers {"Administrator": ...}; the deprecated GetMasterAccount, {"Master": ...}."""

    def get(model: SecurityHubModel, call: Call) -> dict:
        invitation = model.administrator_of(call.account, call.region)
        return {result_field: invitation} if invitation else {}

    return get


def _disassociate_from_administrator(model: SecurityHubModel, call: Call) -> dict:
    model.disassociate_from_administrator(call.account, call.region)
    return {}


def _decline_invitations(model: SecurityHubModel, call: Call) -> dict:
    return {"UnprocessedAccounts": model.decline_invitations(call.account, call.region, call.account_ids())}


def _tag_resource(model: SecurityHubModel, call: Call) -> dict:
    if "Tags" not in call.body:
        raise SecurityHubError("InvalidInputException", "Tags is required")
    model.tag_resource(call.account, call.region, call.resource_arn(), call.body["Tags"])
    return {}


def _untag_resource(model: SecurityHubModel, call: Call) -> dict:
    model.untag_resource(call.account, call.region, call.resource_arn(), call.query_all("tagKeys"))
    return {}


def _list_tags(model: SecurityHubModel, call: Call) -> dict:
    return {"Tags": model.list_tags(call.account, call.region, call.resource_arn())}


def _with_token(result: dict, token: str | None) -> dict:
    return {**result, "NextToken": token} if token else result


OPERATIONS: dict[str, Operation] = {
    "enable_security_hub": _enable,
    "disable_security_hub": _disable,
    "describe_hub": _describe_hub,
    "create_members": _create_members,
    "invite_members": _invite_members,
    "get_members": _get_members,
    "list_members": _list_members,
    "disassociate_members": _disassociate_members,
    "delete_members": _delete_members,
    "list_invitations": _list_invitations,
    "get_invitations_count": _invitations_count,
    "accept_administrator_invitation": _accept("AdministratorId"),
    "accept_invitation": _accept("MasterId"),
    "get_administrator_account": _administrator("Administrator"),
    "get_master_account": _administrator("Master"),
    "disassociate_from_administrator_account": _disassociate_from_administrator,
    "disassociate_from_master_account": _disassociate_from_administrator,
    "decline_invitations": _decline_invitations,
    "delete_invitations": _decline_invitations,
    "tag_resource": _tag_resource,
    "untag_resource": _untag_resource,
    "list_tags_for_resource": _list_tags,
}


def _as_method(model: SecurityHubModel, operation: Operation) -> Callable[[SecurityHubResponse], Any]:
    """A `SecurityHubResponse` method: moto takes a (body, headers-with-status) pair as the response."""

    def method(response: SecurityHubResponse) -> tuple[str, dict]:
        try:
            result = operation(model, Call(response))
        except SecurityHubError as error:
            reply = securityhub_error(error.code, error.message)
            return reply.body.decode(), {"status": reply.status, **reply.headers}
        return json.dumps(result), {"status": 200, "Content-Type": "application/json"}

    return method


def install(model: SecurityHubModel) -> None:
    """Patch moto (once per process, before the server app exists) to serve membership from `model`."""
    for path in MISSING_PATHS:
        securityhub_urls.url_paths[path] = SecurityHubResponse.dispatch
    for name, operation in OPERATIONS.items():
        setattr(SecurityHubResponse, name, _as_method(model, operation))
