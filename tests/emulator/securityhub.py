"""Security Hub hubs and administrator–member relationships, per account and region.

moto enables members at once and lacks invitations, so the emulator keeps its own model, written after
the Security Hub API reference. One `Membership` record is the relationship between an administrator and a
member in one region; both sides read it: the administrator's GetMembers, the member's
GetAdministratorAccount and ListInvitations (a pending invitation is a flag on it). Hence the two views
cannot disagree.

Statuses are those of the API (Security Hub API Reference, Member: MemberStatus). Created, Invited, Enabled,
Removed (the administrator's DisassociateMembers) and Resigned (the member's DisassociateFromAdministratorAccount, or
its DisableSecurityHub) follow from the calls. DeleteMembers takes the member off the list altogether: GetMembers then
answers "no such resource found" (hashicorp/terraform-provider-aws pull request 34781), and ListMembers no longer
lists it. The reference also lists Deleted ("the administrator account deleted the member account") and
AccountSuspended ("an organization account was suspended from AWS") without saying which call or event shows them
(a closed organization account was seen still listed Enabled: aws-samples/aws-security-hub-cross-account-controls-
disabler pull request 9, and so it stays here); `set_member_status` (the control API) gives a member record either.
Every operation except
EnableSecurityHub needs the caller's hub to be enabled in that region, as in AWS (InvalidAccessException;
DisableSecurityHub answers ResourceNotFoundException instead, as AWS does). Errors are raised as
`SecurityHubError`, whose code is the API's exception name.

Tags (TagResource, UntagResource, ListTagsForResource, and EnableSecurityHub's `Tags`) belong to the hub,
the only taggable resource modelled: `arn:aws:securityhub:<region>:<account>:hub/default` of the caller's own
account and region. They go when the hub is disabled. The tagging operations' documented errors are only
InternalException, InvalidInputException and ResourceNotFoundException, so an ARN that is not a Security Hub
ARN or tags breaking the documented constraints answer InvalidInputException, and any other ARN (another
account's or region's hub, a hub that is not enabled, a resource that is not a hub) ResourceNotFoundException.
"""

import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

CREATED, INVITED, ENABLED, REMOVED, RESIGNED = "Created", "Invited", "Enabled", "Removed", "Resigned"
DELETED, ACCOUNT_SUSPENDED = "Deleted", "AccountSuspended"
# Every MemberStatus the API reference lists (Member).
MEMBER_STATUSES = (CREATED, INVITED, ENABLED, REMOVED, RESIGNED, DELETED, ACCOUNT_SUSPENDED)
# A relationship in one of these states still binds the member to the administrator.
ACTIVE_STATUSES = (CREATED, INVITED, ENABLED)
MAX_RESULTS_LIMIT = 50
# TagResource, UntagResource: the API reference's constraints on a tag map and a tag key list.
ARN_PATTERN = re.compile(r"^arn:aws:securityhub:.*")
TAG_KEY_PATTERN = re.compile(r"^(?!aws:)[a-zA-Z+-=._:/]+$")
MAX_TAG_KEY_LENGTH, MAX_TAG_VALUE_LENGTH, MAX_TAGS = 128, 256, 50
# CreateMembers' ProcessingResult for an account that already is this administrator's member (Created, Invited or
# Enabled), as `aws securityhub create-members` prints it (aws-samples/aws-secure-environment-accelerator issue
# 814); the member record is left as it is.
ALREADY_MEMBER = (
    "The request is rejected because the given account ID is already a member or associated member "
    "of the current account."
)
# GetMembers naming no member of the caller at all: HTTP 400 BadRequestException, a code outside the API model
# (hashicorp/terraform-provider-aws PR 34781: "GetMembers, https response error StatusCode: 400, ..., api error
# BadRequestException: The request is rejected since no such resource found.").
NO_SUCH_MEMBER = ("BadRequestException", "The request is rejected since no such resource found.")


class SecurityHubError(Exception):
    """An API error: `code` is the exception name (InvalidAccessException, ...)."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def now_iso() -> str:
    """The API's timestamp format (ISO 8601, UTC, `Z`), which the Rust SDK's date-time parser accepts."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def hub_arn(account: str, region: str) -> str:
    return f"arn:aws:securityhub:{region}:{account}:hub/default"


@dataclass
class Hub:
    enable_default_standards: bool
    subscribed_at: str = field(default_factory=now_iso)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class Membership:
    administrator: str
    member: str
    region: str
    email: str = ""
    status: str = CREATED
    invited_at: str | None = None
    updated_at: str = field(default_factory=now_iso)
    invitation_id: str | None = None
    invitation_pending: bool = False
    via_organization: bool = False

    def set_status(self, status: str) -> None:
        self.status = status
        self.updated_at = now_iso()

    def as_member(self) -> dict:
        """The API's `Member` shape, as the administrator sees it."""
        return _without_none(
            {
                "AccountId": self.member,
                "Email": self.email or None,
                "AdministratorId": self.administrator,
                "MasterId": self.administrator,
                "MemberStatus": self.status,
                "InvitedAt": self.invited_at,
                "UpdatedAt": self.updated_at,
            }
        )

    def as_invitation(self) -> dict:
        """The API's `Invitation` shape, as the member sees it (ListInvitations, GetAdministratorAccount)."""
        return _without_none(
            {
                "AccountId": self.administrator,
                "InvitationId": self.invitation_id,
                "InvitedAt": self.invited_at,
                "MemberStatus": self.status,
            }
        )


def _without_none(shape: dict) -> dict:
    return {key: value for key, value in shape.items() if value is not None}


def _unprocessed(account_id: str, reason: str) -> dict:
    return {"AccountId": account_id, "ProcessingResult": reason}


def _check_tag_key(key: object) -> str:
    if not (isinstance(key, str) and 1 <= len(key) <= MAX_TAG_KEY_LENGTH and TAG_KEY_PATTERN.match(key)):
        raise SecurityHubError(
            "InvalidInputException",
            f"Tag key {key!r} is not valid: 1 to {MAX_TAG_KEY_LENGTH} characters matching {TAG_KEY_PATTERN.pattern}",
        )
    return key


def check_tags(tags: object) -> dict[str, str]:
    """A tag map as the API constrains it: up to 50 entries, keys 1..128 characters of the key pattern (not
    starting `aws:`), string values up to 256 characters."""
    if not isinstance(tags, dict):
        raise SecurityHubError("InvalidInputException", "Tags must be a map of strings to strings")
    if len(tags) > MAX_TAGS:
        raise SecurityHubError("InvalidInputException", f"At most {MAX_TAGS} tags can be added at a time")
    for key, value in tags.items():
        _check_tag_key(key)
        if not isinstance(value, str) or len(value) > MAX_TAG_VALUE_LENGTH:
            raise SecurityHubError(
                "InvalidInputException",
                f"The value of tag {key!r} must be a string of at most {MAX_TAG_VALUE_LENGTH} characters",
            )
    return dict(tags)


def check_tag_keys(keys: object) -> list[str]:
    """A tag key list as the API constrains it: 1 to 50 keys, each a valid tag key."""
    if not isinstance(keys, list) or not 1 <= len(keys) <= MAX_TAGS:
        raise SecurityHubError("InvalidInputException", f"TagKeys must list 1 to {MAX_TAGS} tag keys")
    return [_check_tag_key(key) for key in keys]


def paginate(items: list, max_results: int | None, next_token: str | None) -> tuple[list, str | None]:
    """Offset pagination with the API's limits: MaxResults 1..50, an opaque NextToken."""
    if max_results is not None and not 1 <= max_results <= MAX_RESULTS_LIMIT:
        raise SecurityHubError("InvalidInputException", f"MaxResults must be between 1 and {MAX_RESULTS_LIMIT}.")
    try:
        start = int(next_token) if next_token else 0
    except ValueError:
        raise SecurityHubError("InvalidInputException", "The NextToken is not valid.") from None
    size = max_results or MAX_RESULTS_LIMIT
    page = items[start : start + size]
    more = start + size < len(items)
    return page, (str(start + size) if more else None)


class SecurityHubModel:
    """All hubs and memberships. Thread-safe: the server is threaded, so every operation holds one lock.

    `org_peers(administrator, member)` answers whether both accounts are in the same organization and the
    administrator is configured to auto-enable organization members (AWS's delegated-administrator mode).
    `centrally_configured(account)` answers whether the account's organization uses central configuration
    (see `_refuse_if_centrally_configured`).
    """

    def __init__(
        self, org_peers: Callable[[str, str], bool], centrally_configured: Callable[[str], bool] = lambda account: False
    ):
        self._org_peers = org_peers
        self._centrally_configured = centrally_configured
        self._lock = threading.RLock()
        self._hubs: dict[tuple[str, str], Hub] = {}
        self._memberships: dict[tuple[str, str, str], Membership] = {}

    def reset(self) -> None:
        with self._lock:
            self._hubs.clear()
            self._memberships.clear()

    # --- hubs -------------------------------------------------------------------------------------

    def enable_hub(
        self, account: str, region: str, enable_default_standards: bool = True, tags: dict[str, str] | None = None
    ) -> None:
        """`tags` (EnableSecurityHub's `Tags`) are the new hub's tags, as if added by TagResource."""
        tags = check_tags(tags) if tags is not None else {}
        with self._lock:
            self._refuse_if_centrally_configured(account)
            if (account, region) in self._hubs:
                # As AWS words it, without the account id: "ResourceConflictException: Account is already
                # subscribed to Security Hub", StatusCode 409 (nozaq/terraform-aws-secure-baseline issue 135).
                raise SecurityHubError("ResourceConflictException", "Account is already subscribed to Security Hub")
            self._hubs[(account, region)] = Hub(enable_default_standards, tags=tags)

    def seed_hub(self, account: str, region: str, enable_default_standards: bool = True) -> None:
        """Test setup: the hub is enabled afterwards, whether it was or not."""
        with self._lock:
            self._hubs[(account, region)] = Hub(enable_default_standards)

    def disable_hub(self, account: str, region: str) -> None:
        """AWS refuses while the account administers members ("You can't disable Security Hub in an account that
        is currently the Security Hub administrator", Security Hub API Reference, DisableSecurityHub), and here
        also while it is an organization member still associated with its administrator: such an account cannot
        leave by itself ("Member accounts that are managed using AWS Organizations can't disassociate their
        accounts from the administrator account. Only the administrator account can disassociate a member
        account", Security Hub User Guide, "Disassociating Security Hub CSPM member accounts from your
        organization"). The API reference lists no error for that case; InvalidInputException, the code of the
        administrator case, is this model's choice. An invited member's association ends (Resigned). The hub's
        tags go with it.

        The administrator's refusal is worded as AWS was seen to word it: "InvalidInputException: Cannot disable
        Security Hub on the Security Hub administrator" (hashicorp/terraform-provider-aws PR 17501 matches it).
        Without a hub, DisableSecurityHub answers unlike the other operations: "An error occurred
        (ResourceNotFoundException) when calling the DisableSecurityHub operation: Account is not subscribed to
        Security Hub" (bluemountaincyber/building-detections-aws issue 1)."""
        with self._lock:
            if (account, region) not in self._hubs:
                raise SecurityHubError("ResourceNotFoundException", "Account is not subscribed to Security Hub")
            self._refuse_if_centrally_configured(account)
            administered = [m for m in self._memberships_of_admin(account, region) if m.status == ENABLED]
            if administered:
                raise SecurityHubError(
                    "InvalidInputException", "Cannot disable Security Hub on the Security Hub administrator"
                )
            association = self._association_of(account, region)
            if association and association.via_organization:
                raise SecurityHubError(
                    "InvalidInputException",
                    f"Account {account} is an organization member of administrator {association.administrator}; "
                    "only the administrator can disassociate it",
                )
            if association:
                association.set_status(RESIGNED)
            del self._hubs[(account, region)]

    def _refuse_if_centrally_configured(self, account: str) -> None:
        """Under central configuration the delegated administrator's configuration policies decide whether Security
        Hub CSPM is enabled in each account and region of the organization; the accounts cannot change it
        themselves (Security Hub User Guide, "Understanding central configuration in Security Hub CSPM": policies
        set "whether Security Hub CSPM is enabled or disabled"; a centrally managed account's settings "can only
        be changed by the delegated administrator"). The API reference lists no error for it. The code and message
        are those AWS answers a centrally managed account's own settings call, as a public report quotes them
        (hashicorp/terraform-provider-aws issue 39687, UpdateSecurityHubConfiguration); this model gives them to
        EnableSecurityHub and DisableSecurityHub, which change what a policy decides."""
        if self._centrally_configured(account):
            raise SecurityHubError(
                "AccessDeniedException",
                "This account is currently associated with a central configuration policy, "
                "so only the administrator can access this operation.",
            )

    def describe_hub(self, account: str, region: str, requested_arn: str | None) -> dict:
        with self._lock:
            hub = self._require_hub(account, region)
            arn = hub_arn(account, region)
            if requested_arn and requested_arn != arn:
                raise SecurityHubError("ResourceNotFoundException", f"Hub {requested_arn} not found")
            return {
                "HubArn": arn,
                "SubscribedAt": hub.subscribed_at,
                "AutoEnableControls": True,
                "ControlFindingGenerator": "SECURITY_CONTROL",
            }

    # --- tags ---------------------------------------------------------------------------------------

    def tag_resource(self, account: str, region: str, resource_arn: str, tags: object) -> None:
        """Adds the tags, replacing the values of keys already present."""
        tags = check_tags(tags)
        with self._lock:
            hub = self._tagged_hub(account, region, resource_arn)
            merged = {**hub.tags, **tags}
            if len(merged) > MAX_TAGS:
                raise SecurityHubError(
                    "InvalidInputException",
                    f"A resource can have at most {MAX_TAGS} tags; {resource_arn} would have {len(merged)}",
                )
            hub.tags = merged

    def untag_resource(self, account: str, region: str, resource_arn: str, tag_keys: object) -> None:
        """Removes the tags with these keys; keys the resource does not have are ignored."""
        keys = check_tag_keys(tag_keys)
        with self._lock:
            hub = self._tagged_hub(account, region, resource_arn)
            hub.tags = {key: value for key, value in hub.tags.items() if key not in keys}

    def list_tags(self, account: str, region: str, resource_arn: str) -> dict[str, str]:
        with self._lock:
            return dict(self._tagged_hub(account, region, resource_arn).tags)

    def _tagged_hub(self, account: str, region: str, resource_arn: str) -> Hub:
        """The hub `resource_arn` names: only the caller's own, enabled hub in the request's region."""
        if not isinstance(resource_arn, str) or not ARN_PATTERN.match(resource_arn):
            raise SecurityHubError(
                "InvalidInputException",
                f"ResourceArn {resource_arn!r} is not a Security Hub ARN (arn:aws:securityhub:...)",
            )
        hub = self._hubs.get((account, region))
        if hub is None or resource_arn != hub_arn(account, region):
            raise SecurityHubError("ResourceNotFoundException", f"Resource {resource_arn} not found")
        return hub

    # --- administrator side -----------------------------------------------------------------------

    def create_members(self, admin: str, region: str, details: list[dict]) -> list[dict]:
        """Members start Created; organization members of an auto-enabling administrator are Enabled at once
        (their hub is enabled with the default standards if it was not), as AWS does, unless they are already
        members of another administrator. An invited account's single administrator is enforced when it
        accepts. An account that already is this administrator's member (Created, Invited or Enabled) is refused
        in UnprocessedAccounts with `ALREADY_MEMBER` and its record left unchanged; one that was a member before
        (Removed, Resigned) is made a member afresh (assumed: no public answer for it was found)."""
        with self._lock:
            self._require_hub(admin, region)
            return [result for detail in details if (result := self._create_member(admin, region, detail)) is not None]

    def _create_member(self, admin: str, region: str, detail: dict) -> dict | None:
        member = str(detail.get("AccountId") or "")
        if not (len(member) == 12 and member.isdigit()):
            return _unprocessed(member, "Invalid input: AccountId must be a 12-digit account id")
        if member == admin:
            return _unprocessed(member, "An account cannot be its own Security Hub member")
        existing = self._memberships.get((region, admin, member))
        if existing and existing.status in ACTIVE_STATUSES:
            return _unprocessed(member, ALREADY_MEMBER)
        auto_enable = self._org_peers(admin, member)
        other = self._association_of(member, region)
        if auto_enable and other:
            return _unprocessed(member, f"Account {member} is already a member of administrator {other.administrator}")
        record = Membership(admin, member, region, email=detail.get("Email") or (existing.email if existing else ""))
        if auto_enable:
            self._auto_enable(record)
        self._memberships[(region, admin, member)] = record
        return None

    def _auto_enable(self, record: Membership) -> None:
        """An organization account is a member by CreateMembers alone, with no invitation ("Organization accounts
        don't receive invitations", Security Hub API Reference, DeleteInvitations; Security Hub User Guide,
        "Managing Security Hub CSPM for multiple accounts with AWS Organizations")."""
        record.invitation_pending = False
        record.status = ENABLED
        record.via_organization = True
        self._hubs.setdefault((record.member, record.region), Hub(True))

    def invite_members(self, admin: str, region: str, account_ids: list[str]) -> list[dict]:
        with self._lock:
            self._require_hub(admin, region)
            unprocessed = []
            for member in account_ids:
                record = self._memberships.get((region, admin, member))
                if record is None:
                    unprocessed.append(
                        _unprocessed(member, f"Account {member} is not a member; add it with CreateMembers first")
                    )
                elif record.via_organization:
                    # InviteMembers "is only used to invite accounts that don't belong to an AWS organization.
                    # Organization accounts don't receive invitations" (Security Hub API Reference, InviteMembers).
                    unprocessed.append(
                        _unprocessed(
                            member,
                            f"Account {member} is an organization member; "
                            "organization accounts don't receive invitations",
                        )
                    )
                elif record.status == ENABLED:
                    unprocessed.append(_unprocessed(member, f"Account {member} is already an enabled member"))
                else:
                    self._invite(record)
            return unprocessed

    @staticmethod
    def _invite(record: Membership) -> None:
        record.invitation_id = uuid.uuid4().hex
        record.invited_at = now_iso()
        record.invitation_pending = True
        record.set_status(INVITED)

    def get_members(self, admin: str, region: str, account_ids: list[str]) -> tuple[list[dict], list[dict]]:
        """The member records of these accounts (any status), the others in UnprocessedAccounts; when not one of
        them is a member, AWS answers HTTP 400 BadRequestException instead (`NO_SUCH_MEMBER`)."""
        with self._lock:
            self._require_hub(admin, region)
            members, unprocessed = [], []
            for member in account_ids:
                record = self._memberships.get((region, admin, member))
                if record:
                    members.append(record.as_member())
                else:
                    unprocessed.append(_unprocessed(member, f"Account {member} is not a member"))
            if not members:
                raise SecurityHubError(*NO_SUCH_MEMBER)
            return members, unprocessed

    def list_members(
        self, admin: str, region: str, only_associated: bool, max_results: int | None, next_token: str | None
    ) -> tuple[list[dict], str | None]:
        with self._lock:
            self._require_hub(admin, region)
            records = [
                m for m in self._memberships_of_admin(admin, region) if not only_associated or m.status == ENABLED
            ]
            page, token = paginate(sorted(records, key=lambda m: m.member), max_results, next_token)
            return [m.as_member() for m in page], token

    def disassociate_members(self, admin: str, region: str, account_ids: list[str]) -> None:
        """The whole request fails when one account is not a member (the response has no per-account
        results); members already Removed or Resigned stay so.

        It works for organization members too ("Can be used to disassociate both accounts that are managed
        using Organizations and accounts that were invited manually", Security Hub API Reference,
        DisassociateMembers), and frees them: "The disassociated member account becomes a standalone AWS
        account that is no longer managed by the Security Hub CSPM integration with AWS Organizations"
        (Security Hub User Guide, "Disassociating Security Hub CSPM member accounts from your organization").
        So afterwards the account may disable its hub, and DeleteMembers may take it off the list."""
        with self._lock:
            self._require_hub(admin, region)
            records = [self._require_member(admin, region, member) for member in account_ids]
            for record in records:
                record.invitation_pending = False
                record.via_organization = False
                if record.status in ACTIVE_STATUSES:
                    record.set_status(REMOVED)

    def delete_members(self, admin: str, region: str, account_ids: list[str]) -> list[dict]:
        """Deleting ends the association and withdraws a pending invitation.

        Not for an organization member still managed through the integration: "You can invoke this API only to
        delete accounts that became members through invitation. You can't invoke this API to delete accounts
        that belong to an Organizations organization" (Security Hub API Reference, DeleteMembers). The API
        reference names no error for it; this model answers the account in UnprocessedAccounts, the response's
        per-account refusal. Once DisassociateMembers has made it a standalone account, it can be deleted."""
        with self._lock:
            self._require_hub(admin, region)
            unprocessed = []
            for member in account_ids:
                record = self._memberships.get((region, admin, member))
                if record is None:
                    unprocessed.append(_unprocessed(member, f"Account {member} is not a member"))
                elif record.via_organization:
                    unprocessed.append(
                        _unprocessed(
                            member,
                            f"Account {member} is an organization member managed with AWS Organizations; "
                            "only members added by invitation can be deleted (disassociate it first)",
                        )
                    )
                else:
                    del self._memberships[(region, admin, member)]
            return unprocessed

    # --- member side ------------------------------------------------------------------------------

    def list_invitations(
        self, member: str, region: str, max_results: int | None, next_token: str | None
    ) -> tuple[list[dict], str | None]:
        with self._lock:
            self._require_hub(member, region)
            page, token = paginate(self._pending_invitations(member, region), max_results, next_token)
            return [m.as_invitation() for m in page], token

    def invitations_count(self, member: str, region: str) -> int:
        with self._lock:
            self._require_hub(member, region)
            return len(self._pending_invitations(member, region))

    def accept_invitation(self, member: str, region: str, admin: str, invitation_id: str) -> None:
        with self._lock:
            self._require_hub(member, region)
            record = self._memberships.get((region, admin, member))
            if record is None or not record.invitation_pending:
                raise SecurityHubError(
                    "ResourceNotFoundException", f"Account {member} has no invitation from administrator {admin}"
                )
            if record.invitation_id != invitation_id:
                raise SecurityHubError(
                    "InvalidInputException", f"Invitation {invitation_id} from administrator {admin} is not valid"
                )
            other = self._association_of(member, region)
            if other and other.administrator != admin:
                raise SecurityHubError(
                    "InvalidInputException",
                    f"Account {member} is already a member of administrator {other.administrator}",
                )
            record.invitation_pending = False
            record.set_status(ENABLED)

    def administrator_of(self, member: str, region: str) -> dict | None:
        """The `Invitation` shape of the member's enabled association, or None."""
        with self._lock:
            self._require_hub(member, region)
            association = self._association_of(member, region)
            return association.as_invitation() if association else None

    def disassociate_from_administrator(self, member: str, region: str) -> None:
        with self._lock:
            self._require_hub(member, region)
            association = self._association_of(member, region)
            if association is None:
                raise SecurityHubError(
                    "ResourceNotFoundException", f"Account {member} is not associated with an administrator account"
                )
            # "This operation is only used by accounts that are not part of an organization. For organization
            # accounts, only the administrator account can disassociate a member account" (Security Hub API
            # Reference, DisassociateFromAdministratorAccount). InvalidInputException is among its documented
            # errors; which one AWS answers here is not documented.
            if association.via_organization:
                raise SecurityHubError(
                    "InvalidInputException",
                    f"Account {member} is an organization member: only its administrator "
                    f"{association.administrator} can disassociate it",
                )
            association.set_status(RESIGNED)

    def set_member_status(self, admin: str, region: str, member: str, status: str) -> None:
        """Test setup: the administrator's record of `member` shows `status`, one of `MEMBER_STATUSES` (Deleted and
        AccountSuspended follow from no call here; see the module). A record not Enabled leaves the member free."""
        if status not in MEMBER_STATUSES:
            raise SecurityHubError("InvalidInputException", f"MemberStatus must be one of {', '.join(MEMBER_STATUSES)}")
        with self._lock:
            record = self._require_member(admin, region, member)
            record.invitation_pending = False
            record.set_status(status)

    def decline_invitations(self, member: str, region: str, admin_ids: list[str]) -> list[dict]:
        """DeclineInvitations and DeleteInvitations: the member drops invitations from these administrators;
        the administrator's record stays Invited."""
        with self._lock:
            self._require_hub(member, region)
            unprocessed = []
            for admin in admin_ids:
                record = self._memberships.get((region, admin, member))
                if record and record.invitation_pending:
                    record.invitation_pending = False
                else:
                    unprocessed.append(_unprocessed(admin, f"No invitation from account {admin}"))
            return unprocessed

    # --- inspection -------------------------------------------------------------------------------

    def snapshot(self) -> dict:
        """{account: {region: {enabled, enable_default_standards, tags, members, administrator, invitations}}}."""
        with self._lock:
            view: dict[str, dict[str, dict]] = {}
            for (account, region), hub in self._hubs.items():
                entry = self._entry(view, account, region)
                entry.update(enabled=True, enable_default_standards=hub.enable_default_standards, tags=dict(hub.tags))
            for record in self._memberships.values():
                self._entry(view, record.administrator, record.region)["members"][record.member] = record.status
                member_view = self._entry(view, record.member, record.region)
                if record.status == ENABLED:
                    member_view["administrator"] = record.administrator
                if record.invitation_pending:
                    member_view["invitations"].append(
                        {"administrator": record.administrator, "invitation_id": record.invitation_id}
                    )
            return view

    @staticmethod
    def _entry(view: dict, account: str, region: str) -> dict:
        return view.setdefault(account, {}).setdefault(
            region,
            {
                "enabled": False,
                "enable_default_standards": None,
                "tags": {},
                "members": {},
                "administrator": None,
                "invitations": [],
            },
        )

    # --- helpers ----------------------------------------------------------------------------------

    def _require_hub(self, account: str, region: str) -> Hub:
        """The caller's hub, or AWS's answer without one: "Account 123123123123 is not subscribed to AWS Security
        Hub (Aws::SecurityHub::Errors::InvalidAccessException)" (joshlarsen/aws-recon issue 65), HTTP 401."""
        hub = self._hubs.get((account, region))
        if hub is None:
            raise SecurityHubError("InvalidAccessException", f"Account {account} is not subscribed to AWS Security Hub")
        return hub

    def _require_member(self, admin: str, region: str, member: str) -> Membership:
        record = self._memberships.get((region, admin, member))
        if record is None:
            raise SecurityHubError(
                "ResourceNotFoundException", f"Account {member} is not a member of administrator {admin}"
            )
        return record

    def _memberships_of_admin(self, admin: str, region: str) -> list[Membership]:
        return [m for (r, a, _), m in self._memberships.items() if r == region and a == admin]

    def _association_of(self, member: str, region: str) -> Membership | None:
        return next(
            (
                m
                for (r, _, mem), m in self._memberships.items()
                if r == region and mem == member and m.status == ENABLED
            ),
            None,
        )

    def _pending_invitations(self, member: str, region: str) -> list[Membership]:
        pending = [
            m for (r, _, mem), m in self._memberships.items() if r == region and mem == member and m.invitation_pending
        ]
        return sorted(pending, key=lambda m: m.invited_at or "")
