"""Everything the emulator holds besides moto's own backends, and the reset of all of it."""

from moto.moto_api import _internal as moto_api
from moto.organizations.models import organizations_backends
from moto.securityhub.models import SecurityHubBackend

from .calls import CallLog
from .config import Config
from .organizations import AccountClosures, AccountCreations
from .securityhub import SecurityHubModel
from .stacks import HeldStacks
from .throttle import RateLimiter


class EmulatorState:
    def __init__(self) -> None:
        self.config = Config()
        self.calls = CallLog()
        self.creations = AccountCreations(self.config)
        self.closures = AccountClosures(self.config)
        self.hubs = SecurityHubModel(org_peers=self._auto_enabled, centrally_configured=self._centrally_configured)
        self.stacks = HeldStacks()
        self.limiter = RateLimiter()

    def _auto_enabled(self, administrator: str, member: str) -> bool:
        """CreateMembers enables `member` at once (organization member under a delegated administrator)."""
        return administrator in self.config.get("auto_enable_org_members") and self.creations.same_organization(
            administrator, member
        )

    def _centrally_configured(self, account: str) -> bool:
        """`account` is in the organization of an administrator listed in `central_configuration`."""
        return any(
            self.creations.same_organization(administrator, account)
            for administrator in self.config.get("central_configuration")
            if administrator != account
        )

    def reset(self) -> None:
        """moto's state and the emulator's: faults off, call log, token buckets and their counts cleared.

        moto's reset leaves two class-level registries behind (organization membership of created accounts,
        Security Hub organization configuration); they would leak into the next test, so they are cleared too.
        """
        moto_api.moto_api_backend.reset()
        organizations_backends.master_accounts.clear()
        SecurityHubBackend._org_configs.clear()
        self.config.reset()
        self.calls.clear()
        self.creations.reset()
        self.closures.reset()
        self.hubs.reset()
        self.stacks.reset()
        self.limiter.reset()
