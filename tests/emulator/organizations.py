"""Organizations account creation as AWS does it: asynchronous, able to fail, and visible only when done.

moto creates an account at once and answers SUCCEEDED. Here CreateAccount answers IN_PROGRESS (as AWS
always does); DescribeCreateAccountStatus and ListCreateAccountStatus report IN_PROGRESS for
`create_account_delay_s`, then SUCCEEDED with the AccountId or FAILED with a FailureReason. The account
moto made is taken out of its organization's account list until then, so ListAccounts, DescribeAccount,
MoveAccount and the rest do not see it early. A second account with an email already in the organization
fails with EMAIL_ALREADY_EXISTS, a repeat of a creation still in progress (same email and name) fails with
CONCURRENT_ACCOUNT_MODIFICATION, and `create_account_failure` makes the next CreateAccount fail with that
reason. While `create_account_concurrency` CreateAccount requests of one management account are in progress, a
further CreateAccount is refused with TooManyRequestsException and creates nothing (see `TOO_MANY_CREATIONS`).

MoveAccount answers AWS's errors (DuplicateAccountException, Source/DestinationParentNotFoundException)
instead of moto's generic ones.

CloseAccount is asynchronous, as in AWS (`AccountClosures`): moto suspends the account at once and answers a
second call with its own wording; here the account is PENDING_CLOSURE for `close_account_delay_s`, then
SUSPENDED, a second call answers ConflictException or AccountAlreadyClosedException as the API reference
words them, and `close_account_quota` limits how many accounts an organization may close.
"""

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from moto.organizations import utils as org_utils
from moto.organizations.exceptions import AWSOrganizationsNotInUseException, OrganizationsClientError
from moto.organizations.models import FakeAccount, OrganizationsBackend, organizations_backends
from moto.organizations.responses import OrganizationsResponse

from .config import Config

PARTITION = "aws"

# Organizations runs only a few CreateAccount requests of one organization at once; one more, while they are
# IN_PROGRESS, is refused. AWS CloudFormation User Guide, AWS::Organizations::Account: "If you include multiple
# accounts in a single template, you must use the DependsOn attribute on each account resource type so that the
# accounts are created sequentially. If you create multiple accounts at the same time, Organizations returns an
# error and the stack operation fails." The error is CreateAccount's TooManyRequestsException (AWS Organizations
# API Reference, CreateAccount, Errors: "You have sent too many requests in too short a period of time. The quota
# helps protect against denial-of-service attacks. Try again later."), answered HTTP 400 as moto's
# OrganizationsClientError gives it, with the message below, as public reports show it: pulumi/pulumi-aws-native
# issue 1687 (several accounts created at once: this message, "Service: Organizations, Status Code: 400") and
# org-formation/org-formation-cli issue 280 (the code TooManyRequestsException with this message). How many may
# be in progress is not published by AWS in any page found (the Organizations quotas page lists no figure): the
# default of 5 (`create_account_concurrency`) is the figure the project's issue gives. A refused call creates
# nothing: no account, no CreateAccountStatus, and `create_account_failure` stays for the next one.
TOO_MANY_CREATIONS = (
    "TooManyRequestsException",
    "AWS Organizations can't complete your request because another request is already in progress. Try again later.",
)

# A CreateAccount repeating one still in progress (same email, compared case-insensitively, and same account name)
# ends FAILED with this reason and creates nothing new. AWS Organizations API Reference, CreateAccountStatus,
# FailureReason: "CONCURRENT_ACCOUNT_MODIFICATION: You already submitted a request with the same information."
CONCURRENT_ACCOUNT_MODIFICATION = "CONCURRENT_ACCOUNT_MODIFICATION"

# CloseAccount's answers (AWS Organizations API Reference, CloseAccount): the account's status is PENDING_CLOSURE
# until it is closed (SUSPENDED), "AccountStatus: ACTIVE | SUSPENDED | PENDING_CLOSURE". A call for an account
# that is closing conflicts with its state (ConflictException: "The request failed because it conflicts with the
# current state of the specified resource."); for one already closed: AccountAlreadyClosedException ("You
# attempted to close an account that is already closed."). Beyond the organization's quota of closures:
# ConstraintViolationException with Reason CLOSE_ACCOUNT_QUOTA_EXCEEDED ("You have exceeded close account quota
# for the past 30 days."); the reason is also put before the message, for clients that read only the message.
PENDING_CLOSURE, SUSPENDED, ACTIVE = "PENDING_CLOSURE", "SUSPENDED", "ACTIVE"
CLOSING_CONFLICT = (
    "ConflictException",
    "The request failed because it conflicts with the current state of the specified resource.",
)
ALREADY_CLOSED = ("AccountAlreadyClosedException", "You attempted to close an account that is already closed.")
CLOSE_QUOTA_REASON = "CLOSE_ACCOUNT_QUOTA_EXCEEDED"
CLOSE_QUOTA_MESSAGE = f"{CLOSE_QUOTA_REASON}: You have exceeded close account quota for the past 30 days."


@dataclass
class CreateRequest:
    """One CreateAccount call. `account` is moto's account, kept aside while the request is in progress."""

    id: str
    name: str
    email: str
    management_account: str
    requested_at: float
    ready_at: float
    account: FakeAccount | None
    failure: str | None
    revealed: bool = False

    def state(self, now: float) -> str:
        if now < self.ready_at:
            return "IN_PROGRESS"
        return "FAILED" if self.failure else "SUCCEEDED"

    def status(self, now: float) -> dict[str, Any]:
        """The API's CreateAccountStatus shape (timestamps in epoch seconds, as AWS JSON 1.1 sends them)."""
        state = self.state(now)
        status: dict[str, Any] = {
            "Id": self.id,
            "AccountName": self.name,
            "State": state,
            "RequestedTimestamp": self.requested_at,
        }
        if state != "IN_PROGRESS":
            status["CompletedTimestamp"] = self.ready_at
        if state == "SUCCEEDED":
            status["AccountId"] = self.account.id
        if state == "FAILED":
            status["FailureReason"] = self.failure
        return status


def _error(code: str, message: str, reason: str | None = None) -> OrganizationsClientError:
    """An Organizations error; `reason` is the ConstraintViolationException's `Reason` field, which moto's
    serializer takes from the exception's `reason` attribute (the API model's member, snake_cased)."""
    error = OrganizationsClientError(code, message)
    if reason is not None:
        error.reason = reason
    return error


def _backend(account_id: str) -> OrganizationsBackend:
    return organizations_backends[account_id][PARTITION]


def management_account_of(account_id: str) -> str | None:
    """The management account of the organization `account_id` belongs to, or None."""
    if account_id in organizations_backends.master_accounts:
        return organizations_backends.master_accounts[account_id][0]
    return account_id if _backend(account_id).org else None


class AccountCreations:
    """All CreateAccount requests of the emulator's lifetime (until reset). Thread-safe."""

    def __init__(self, config: Config):
        self._config = config
        self._lock = threading.RLock()
        self._requests: dict[str, CreateRequest] = {}

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()

    def create(self, backend: OrganizationsBackend, params: dict[str, Any]) -> dict[str, Any]:
        if backend.org is None:
            raise AWSOrganizationsNotInUseException()
        with self._lock:
            self.reveal_due()
            limit = self._config.get("create_account_concurrency")
            if limit is not None and self._in_progress(backend.account_id) >= limit:
                raise _error(*TOO_MANY_CREATIONS)
            failure = self._config.take_create_account_failure()
            if failure is None and self._repeats_one_in_progress(backend.account_id, params):
                failure = CONCURRENT_ACCOUNT_MODIFICATION
            if failure is None and self._email_taken(backend, params.get("Email", "")):
                failure = "EMAIL_ALREADY_EXISTS"
            account = None if failure else self._create_hidden(backend, params)
            now = time.time()
            request = CreateRequest(
                id=account.create_account_status_id if account else org_utils.make_random_create_account_status_id(),
                name=params.get("AccountName", ""),
                email=params.get("Email", ""),
                management_account=backend.account_id,
                requested_at=now,
                ready_at=now + self._config.get("create_account_delay_s"),
                account=account,
                failure=failure,
            )
            self._requests[request.id] = request
            # AWS answers CreateAccount itself with IN_PROGRESS, however fast the creation is.
            return {"CreateAccountStatus": request.status(now=float("-inf"))}

    def _in_progress(self, management_account: str) -> int:
        now = time.time()
        return sum(
            1
            for r in self._requests.values()
            if r.management_account == management_account and r.state(now) == "IN_PROGRESS"
        )

    def _repeats_one_in_progress(self, management_account: str, params: dict[str, Any]) -> bool:
        """A request of this organization with the same email (case-insensitively) and account name is still
        IN_PROGRESS (see `CONCURRENT_ACCOUNT_MODIFICATION`)."""
        now = time.time()
        email, name = params.get("Email", "").lower(), params.get("AccountName", "")
        return any(
            r.management_account == management_account
            and r.state(now) == "IN_PROGRESS"
            and r.email.lower() == email
            and r.name == name
            for r in self._requests.values()
        )

    @staticmethod
    def _create_hidden(backend: OrganizationsBackend, params: dict[str, Any]) -> FakeAccount:
        created = backend.create_account(**params)
        account = backend.get_account_by_id(created["CreateAccountStatus"]["AccountId"])
        backend.accounts.remove(account)
        return account

    def _email_taken(self, backend: OrganizationsBackend, email: str) -> bool:
        emails = {a.email.lower() for a in backend.accounts}
        emails |= {
            r.email.lower()
            for r in self._requests.values()
            if r.management_account == backend.account_id and r.account and not r.revealed
        }
        return email.lower() in emails

    def reveal_due(self) -> None:
        """Put every account whose creation has finished into its organization's account list."""
        now = time.time()
        with self._lock:
            for request in self._requests.values():
                if request.account and not request.revealed and now >= request.ready_at:
                    _backend(request.management_account).accounts.append(request.account)
                    request.revealed = True

    def describe(self, backend: OrganizationsBackend, request_id: str) -> dict[str, Any]:
        with self._lock:
            request = self._requests.get(request_id)
            if request is None or request.management_account != backend.account_id:
                raise _error(
                    "CreateAccountStatusNotFoundException",
                    "We can't find a create account request with the CreateAccountRequestId that you specified.",
                )
            return {"CreateAccountStatus": request.status(time.time())}

    def list_statuses(
        self, backend: OrganizationsBackend, states: list[str] | None, max_results: int | None, next_token: str | None
    ) -> dict[str, Any]:
        now = time.time()
        with self._lock:
            statuses = [r.status(now) for r in self._requests.values() if r.management_account == backend.account_id]
        statuses = [s for s in statuses if not states or s["State"] in states]
        start = int(next_token) if next_token else 0
        size = max_results or 20
        result: dict[str, Any] = {"CreateAccountStatuses": statuses[start : start + size]}
        if start + size < len(statuses):
            result["NextToken"] = str(start + size)
        return result

    def created_at(self, account_id: str) -> float | None:
        """When the CreateAccount that made `account_id` was called, or None for other accounts."""
        with self._lock:
            return next(
                (r.requested_at for r in self._requests.values() if r.account and r.account.id == account_id), None
            )

    def succeeded_at(self, account_id: str) -> float | None:
        """When the CreateAccount that made `account_id` finished (SUCCEEDED; in the future while it is in
        progress), or None for other accounts."""
        with self._lock:
            return next((r.ready_at for r in self._requests.values() if r.account and r.account.id == account_id), None)

    def same_organization(self, first: str, second: str) -> bool:
        """Both accounts are active, visible members of one organization."""
        self.reveal_due()
        management = management_account_of(first)
        if management is None or management_account_of(second) != management:
            return False
        visible = {a.id for a in _backend(management).accounts if a.status == "ACTIVE"}
        return first in visible and second in visible

    @staticmethod
    def is_closed(account_id: str) -> bool:
        management = management_account_of(account_id)
        if management is None:
            return False
        account = next((a for a in _backend(management).accounts if a.id == account_id), None)
        return account is not None and account.status != "ACTIVE"


@dataclass
class Closure:
    """One CloseAccount in progress: the account is PENDING_CLOSURE until `suspends_at`."""

    account: FakeAccount
    suspends_at: float


class AccountClosures:
    """CloseAccount requests of the emulator's lifetime (until reset): the closures in progress and how many
    accounts each organization (by management account) has closed. Thread-safe."""

    def __init__(self, config: Config):
        self._config = config
        self._lock = threading.Lock()
        self._pending: list[Closure] = []
        self._closed: dict[str, int] = {}

    def reset(self) -> None:
        with self._lock:
            self._pending.clear()
            self._closed.clear()

    def close(self, backend: OrganizationsBackend, account_id: str) -> None:
        if backend.org is None:
            raise AWSOrganizationsNotInUseException()
        with self._lock:
            self._suspend_due()
            account = backend.get_account_by_id(account_id)  # AccountNotFoundException, as moto answers it
            if account.status == PENDING_CLOSURE:
                raise _error(*CLOSING_CONFLICT)
            if account.status != ACTIVE:
                raise _error(*ALREADY_CLOSED)
            quota = self._config.get("close_account_quota")
            closed = self._closed.get(backend.account_id, 0)
            if quota is not None and closed >= quota:
                raise _error("ConstraintViolationException", CLOSE_QUOTA_MESSAGE, CLOSE_QUOTA_REASON)
            self._closed[backend.account_id] = closed + 1
            delay = self._config.get("close_account_delay_s")
            if delay > 0:
                account.status = account.state = PENDING_CLOSURE
                self._pending.append(Closure(account, time.time() + delay))
            else:
                account.status = account.state = SUSPENDED

    def suspend_due(self) -> None:
        """Suspend every account whose closure's delay has passed."""
        with self._lock:
            self._suspend_due()

    def _suspend_due(self) -> None:
        now = time.time()
        for closure in [c for c in self._pending if now >= c.suspends_at]:
            closure.account.status = closure.account.state = SUSPENDED
            self._pending.remove(closure)


def _find_parent(backend: OrganizationsBackend, parent_id: str, code: str, message: str) -> str:
    if not any(ou.id == parent_id for ou in backend.ou):
        raise _error(code, message)
    return parent_id


def _move_account(backend: OrganizationsBackend, params: dict[str, Any]) -> None:
    account = backend.get_account_by_id(params.get("AccountId", ""))
    source = _find_parent(
        backend,
        params.get("SourceParentId", ""),
        "SourceParentNotFoundException",
        "We can't find a source root or OU with the ParentId that you specified.",
    )
    destination = _find_parent(
        backend,
        params.get("DestinationParentId", ""),
        "DestinationParentNotFoundException",
        "We can't find the destination container (a root or OU) with the ParentId that you specified.",
    )
    if account.parent_id == destination:
        raise _error("DuplicateAccountException", "That account is already present in the specified destination.")
    if account.parent_id != source:
        raise _error("SourceParentNotFoundException", f"Account {account.id} is not in the source parent {source}.")
    account.parent_id = destination


def install(creations: AccountCreations, closures: AccountClosures) -> None:
    """Patch moto's Organizations responses (once per process, before the server app exists)."""
    original_call_action = OrganizationsResponse.call_action

    def call_action(self: OrganizationsResponse) -> Any:
        creations.reveal_due()
        closures.suspend_due()
        return original_call_action(self)

    def create_account(self: OrganizationsResponse) -> dict:
        return creations.create(self.organizations_backend, self.request_params)

    def describe_create_account_status(self: OrganizationsResponse) -> dict:
        return creations.describe(self.organizations_backend, self.request_params.get("CreateAccountRequestId", ""))

    def list_create_account_status(self: OrganizationsResponse) -> dict:
        params = self.request_params
        return creations.list_statuses(
            self.organizations_backend, params.get("States"), params.get("MaxResults"), params.get("NextToken")
        )

    def move_account(self: OrganizationsResponse) -> dict:
        _move_account(self.organizations_backend, self.request_params)
        return {}

    def close_account(self: OrganizationsResponse) -> dict:
        closures.close(self.organizations_backend, self.request_params.get("AccountId", ""))
        return {}

    OrganizationsResponse.call_action = call_action
    for method in (
        create_account,
        describe_create_account_status,
        list_create_account_status,
        move_account,
        close_account,
    ):
        setattr(OrganizationsResponse, method.__name__, _json_method(method))


def _json_method(method):
    """moto's Organizations methods answer a JSON string."""

    def wrapper(self: OrganizationsResponse) -> str:
        return json.dumps(method(self))

    wrapper.__name__ = method.__name__
    return wrapper
