"""STS AssumeRole refusals that moto never gives: a new account's role that is not ready yet, an existing
account's role that was just made and has not propagated yet, and accounts that cannot be entered (closed,
suspended, or configured as such).

In AWS, AssumeRole into an account fresh from CreateAccount fails for a while, into a role that was just
created fails until IAM's change has propagated (IAM is eventually consistent: IAM User Guide, "Troubleshoot
IAM", "Changes that I make are not always immediately visible"; a StackSet that auto-deploys the member's role
and the member's resource to a just-vended account meets it), and into a closed account for good; callers
must retry the first two and tolerate the last. The refusal is STS's own: 403 AccessDenied in the AWS Query
XML error format.
"""

import time

from moto.sts.responses import TokenResponse

from .config import Config
from .errors import sts_error
from .organizations import AccountCreations


def _target_account(role_arn: str) -> str:
    """The account of `arn:aws:iam::<account>:role/<name>` (empty when the ARN is malformed)."""
    parts = role_arn.split(":")
    return parts[4] if len(parts) > 5 else ""


def _role_name(role_arn: str) -> str:
    """The name of `arn:aws:iam::<account>:role/<path/><name>`."""
    return role_arn.rsplit("/", 1)[-1]


# The test support's own sessions (emulator.client.Emulator.session) stand for the account's own users, not for
# the provider: `account_roles` does not apply to them.
HARNESS_SESSION = "emulator-test"


def refuses(
    config: Config, creations: AccountCreations, account: str, role_name: str = "", session_name: str = ""
) -> bool:
    """AssumeRole of `role_name` into `account` is refused now. Under `account_roles`, a role the account does
    not have is refused as AWS refuses it: AccessDenied (STS API Reference, AssumeRole: the caller must be
    trusted by an existing role), e.g. OrganizationAccountAccessRole in an account Control Tower vended, which
    has AWSControlTowerExecution instead (Control Tower User Guide, "About AWSControlTowerExecution role")."""
    if account in config.get("unassumable_accounts") or creations.is_closed(account):
        return True
    roles = config.get("account_roles").get(account)
    if roles is not None and role_name not in roles and session_name != HARNESS_SESSION:
        return True
    if config.role_propagating(account):
        return True
    created_at = creations.created_at(account)
    return created_at is not None and time.time() - created_at < config.get("assume_role_denied_for_s")


def install(config: Config, creations: AccountCreations) -> None:
    """Patch moto's AssumeRole (once per process, before the server app exists)."""
    original = TokenResponse.assume_role

    def assume_role(self: TokenResponse):
        role_arn = self._get_param("RoleArn") or ""
        session_name = self._get_param("RoleSessionName") or ""
        if not refuses(config, creations, _target_account(role_arn), _role_name(role_arn), session_name):
            return original(self)
        reply = sts_error(
            "AccessDenied",
            f"User: arn:aws:iam::{self.current_account}:root is not authorized to perform: "
            f"sts:AssumeRole on resource: {role_arn}",
            403,
        )
        return reply.body.decode(), {"status": reply.status, **reply.headers}

    TokenResponse.assume_role = assume_role
