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


def refuses(config: Config, creations: AccountCreations, account: str) -> bool:
    """AssumeRole into `account` is refused now."""
    if account in config.get("unassumable_accounts") or creations.is_closed(account):
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
        if not refuses(config, creations, _target_account(role_arn)):
            return original(self)
        reply = sts_error("AccessDenied",
                          f"User: arn:aws:iam::{self.current_account}:root is not authorized to perform: "
                          f"sts:AssumeRole on resource: {role_arn}", 403)
        return reply.body.decode(), {"status": reply.status, **reply.headers}

    TokenResponse.assume_role = assume_role
