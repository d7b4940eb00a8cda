"""The emulator's runtime configuration: faults and account-lifecycle behaviour, set over the control API.

Every key has a default (the emulator then behaves like a healthy AWS); `POST /_emulator/config` merges
keys, an unknown key or a value of the wrong type is refused. The random draws of the fault fractions come
from one generator, seeded by `seed`, so a run with a seed is reproducible (for a given request order).
"""

import random
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from .throttle import SERVICES as BUCKET_SERVICES

Validator = Callable[[Any], Any]


class ConfigError(ValueError):
    """A configuration value or key that is refused; the control API answers 400."""


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ConfigError("must be a number >= 0")
    return float(value)


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError("must be an integer >= 0")
    return value


def _fraction(value: Any) -> float:
    number = _number(value)
    if number > 1:
        raise ConfigError("must be between 0 and 1")
    return number


def _account_list(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError("must be a list of account id strings")
    return list(value)


def _string_lists(value: Any) -> dict[str, list[str]]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(i, str) for i in v) for k, v in value.items()
    ):
        raise ConfigError("must be an object mapping strings to lists of strings")
    return {k: list(v) for k, v in value.items()}


def _account_seconds(value: Any) -> dict[str, float]:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ConfigError("must be an object mapping account id strings to numbers of seconds >= 0")
    return {account: _number(seconds) for account, seconds in value.items()}


def _optional_string(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ConfigError("must be a string or null")
    return value


def _optional_loopback_url(value: Any) -> str | None:
    """http://127.0.0.1:PORT (a stand-in the test started), or null."""
    if value is not None and not (isinstance(value, str) and re.fullmatch(r"http://127\.0\.0\.1:\d{1,5}/?", value)):
        raise ConfigError("must be http://127.0.0.1:PORT or null")
    return value


def _bucket_services(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v in BUCKET_SERVICES for v in value):
        raise ConfigError(f"must be a list of service names among {', '.join(BUCKET_SERVICES)}")
    return sorted(set(value))


def _burst(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError("must be an integer >= 1")
    return value


def _optional_positive_int(value: Any) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ConfigError("must be an integer >= 1 or null")
    return value


def _optional_count(value: Any) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ConfigError("must be an integer >= 0 or null")
    return value


def _optional_int(value: Any) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError("must be an integer or null")
    return value


# key: (default, validator). Meanings are documented in client.Emulator.configure.
KEYS: dict[str, tuple[Any, Validator]] = {
    "latency_ms": (0.0, _number),
    "throttle_fraction": (0.0, _fraction),
    "error_fraction": (0.0, _fraction),
    "reset_fraction": (0.0, _fraction),
    "fail_regions": ({}, _string_lists),
    "response_put_failures": (0, _count),
    "seed": (None, _optional_int),
    "auto_enable_org_members": ([], _account_list),
    "central_configuration": ([], _account_list),
    "create_account_delay_s": (0.0, _number),
    "create_account_failure": (None, _optional_string),
    # How many CreateAccount requests of one management account may be in progress at once (organizations.py,
    # where the default is sourced); null: no limit.
    "create_account_concurrency": (5, _optional_positive_int),
    # Seconds after a CreateAccount SUCCEEDED during which the new account's Security Hub and Account calls answer
    # SubscriptionRequiredException (faults.py).
    "new_account_not_ready_s": (0.0, _number),
    # CloseAccount: seconds an account stays PENDING_CLOSURE before it is SUSPENDED, and how many accounts one
    # organization may close (null: no limit; organizations.py).
    "close_account_delay_s": (0.0, _number),
    "close_account_quota": (None, _optional_count),
    "assume_role_denied_for_s": (0.0, _number),
    "unassumable_accounts": ([], _account_list),
    "role_propagating": ({}, _account_seconds),
    "account_roles": ({}, _string_lists),
    "disabled_regions": ({}, _string_lists),
    "denied_regions": ({}, _string_lists),
    # Accounts whose every Security Hub call is refused by IAM: no identity-based policy allows it (faults.py).
    "access_denied_accounts": ([], _account_list),
    "lambda_endpoint": (None, _optional_loopback_url),
    # Token buckets (throttle.py, where the defaults are sourced): the services whose buckets are on, and each
    # service's rate (requests per second) and burst.
    "token_buckets": ([], _bucket_services),
    **{
        key: value
        for service, (rate, burst) in BUCKET_SERVICES.items()
        for key, value in ((f"{service}_rate_per_s", (rate, _number)), (f"{service}_burst", (burst, _burst)))
    },
}


def _defaults() -> dict[str, Any]:
    return {
        key: (default.copy() if isinstance(default, (dict, list)) else default) for key, (default, _) in KEYS.items()
    }


class Config:
    """Thread-safe settings plus the fault random generator."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values = _defaults()
        self._random = random.Random()
        # When each account of `role_propagating` is assumable again (time.time()), counted from its setting.
        self._propagated_at: dict[str, float] = {}

    def reset(self) -> None:
        with self._lock:
            self._values = _defaults()
            self._random = random.Random()
            self._propagated_at = {}

    def update(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Validate all keys first, then merge; answers the whole configuration."""
        unknown = sorted(set(changes) - set(KEYS))
        if unknown:
            raise ConfigError(f"unknown configuration keys: {', '.join(unknown)}; known: {', '.join(KEYS)}")
        validated = {}
        for key, value in changes.items():
            try:
                validated[key] = KEYS[key][1](value)
            except ConfigError as error:
                raise ConfigError(f"{key} {error}") from None
        with self._lock:
            self._values.update(validated)
            if "seed" in validated:
                self._random = random.Random(validated["seed"])
            if "role_propagating" in validated:
                now = time.time()
                self._propagated_at = {
                    account: now + seconds for account, seconds in validated["role_propagating"].items()
                }
            return dict(self._values)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._values)

    def get(self, key: str) -> Any:
        with self._lock:
            return self._values[key]

    def chance(self, key: str) -> bool:
        """True with the probability set in `key` (a fraction); draws only when the fraction is non-zero."""
        with self._lock:
            fraction = self._values[key]
            return fraction > 0 and self._random.random() < fraction

    def bucket_limit(self, service: str) -> tuple[float, int] | None:
        """(rate, burst) of `service`'s token bucket, or None when it is not switched on (or has none)."""
        with self._lock:
            if service not in self._values["token_buckets"]:
                return None
            return self._values[f"{service}_rate_per_s"], self._values[f"{service}_burst"]

    def role_propagating(self, account: str) -> bool:
        """AssumeRole into `account` is still refused under `role_propagating` (its seconds not yet past since
        they were set)."""
        with self._lock:
            until = self._propagated_at.get(account)
            return until is not None and time.time() < until

    def take_put_failure(self) -> bool:
        """Consume one of the `response_put_failures`, if any are left."""
        with self._lock:
            if self._values["response_put_failures"] <= 0:
                return False
            self._values["response_put_failures"] -= 1
            return True

    def take_create_account_failure(self) -> str | None:
        """Consume `create_account_failure`: it applies to the next CreateAccount only."""
        with self._lock:
            reason, self._values["create_account_failure"] = self._values["create_account_failure"], None
            return reason
