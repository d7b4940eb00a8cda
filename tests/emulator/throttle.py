"""Request-rate throttling as AWS does it: a token bucket per service, calling account and region.

AWS documents its API rate quotas as a steady rate plus a burst ("RateLimit" and "BurstLimit" in the Security
Hub API reference): a bucket holds up to `burst` tokens, refills continuously at `rate` tokens per second, and
every request takes one; a request that finds the bucket empty is answered with the service's throttling error
and takes nothing. Unlike a random fraction of throttled calls, a bucket builds a queue: callers that retry too
eagerly keep finding it empty, which is what many concurrent requests against one account see.

The buckets that exist, and their defaults (all off until switched on with `token_buckets`, so that the emulator
answers as before unless a test asks for it):

- Security Hub, per calling account and region: 10 requests per second, burst 30. Security Hub API Reference,
  "Welcome" (also the service description in the API model): "All other operations - RateLimit of 10 requests
  per second. BurstLimit of 30 requests per second." (BatchEnableStandards, GetFindings, BatchImportFindings,
  BatchUpdateFindings and UpdateStandardsControl have their own limits; the provider calls none of them). The
  reference does not say whether "all other operations" share one budget or each has its own: one bucket per
  account and region for every operation is the stricter reading, and the one modelled. The answer is HTTP 429
  LimitExceededException (the API reference's error for it, errors.throttling_error).
- Organizations, per calling account (its requests are all signed for us-east-1, where the service is hosted:
  Organizations User Guide, "Quotas for AWS Organizations"): that guide gives no request rates; the
  TooManyRequestsException reference says only "You have sent too many requests in too short a period of time.
  The quota helps protect against denial-of-service attacks", and a request to document the limits
  (awsdocs/aws-organizations-docs issue 39) was closed without numbers. Chosen here: 5 requests per second,
  burst 10, a modest figure below Security Hub's. The answer is HTTP 400 TooManyRequestsException, the status
  Organizations answers it with (SDKs recognise it by its code, not its status: aws/aws-sdk-js issue 2135).
- STS, per calling account and region: 600 requests per second (IAM User Guide, "IAM and AWS STS quotas",
  the AWS STS request rate per account and Region); no burst is given, so the burst equals the rate. The answer
  is HTTP 400 `Throttling` "Rate exceeded" in the Query XML error format (AWS re:Post knowledge center, "How do
  I resolve API throttling or 'Rate exceeded' errors for IAM and AWS STS?": "Throttling: Rate exceeded, status
  code: 400").

Every call of these services that gets this far (not dropped or answered by an injected random fault first) is
counted per (service, account, region, operation): `served` when it took a token (or its service has no bucket
switched on), `throttled` when the bucket was empty, or when the service let it in and then answered its
throttling error all the same (Organizations' CreateAccount while too many are in progress, organizations.py;
the call keeps its token, as AWS meters a request when it arrives). Time is monotonic, so a wall-clock step
cannot refill or drain a bucket.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

# service: (rate per second, burst) defaults; see the module docstring for the sources.
SERVICES: dict[str, tuple[float, int]] = {
    "securityhub": (10.0, 30),
    "organizations": (5.0, 10),
    "sts": (600.0, 600),
}


class TokenBucket:
    """`burst` tokens at most, `rate` tokens added per second continuously (rate x elapsed, capped at burst)."""

    def __init__(self, rate: float, burst: int, now: float):
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)  # a bucket nobody has used yet is full
        self.updated = now

    def refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.updated)  # a clock that never goes back; guarded all the same
        self.tokens = min(float(self.burst), self.tokens + self.rate * elapsed)
        self.updated = now

    def take(self, now: float) -> bool:
        """Take one token if there is one; a refused request takes nothing (it is not served)."""
        self.refill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass
class Counts:
    served: int = 0
    throttled: int = 0


class RateLimiter:
    """Thread-safe buckets per (service, account, region) and counts per (service, account, region, operation).

    A bucket is made on first use with the rate and burst configured then; when they change, the next request
    starts a new, full bucket with the new values."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str, str], TokenBucket] = {}
        self._counts: dict[tuple[str, str, str, str], Counts] = {}

    def admit(self, service: str, account: str, region: str, operation: str, limit: tuple[float, int] | None) -> bool:
        """Count the request and answer whether it may be served; `limit` (rate, burst) is None when the
        service has no bucket switched on (always served)."""
        with self._lock:
            allowed = True
            if limit is not None:
                rate, burst = limit
                key = (service, account, region)
                bucket = self._buckets.get(key)
                now = self._clock()
                if bucket is None or (bucket.rate, bucket.burst) != (rate, burst):
                    bucket = self._buckets[key] = TokenBucket(rate, burst, now)
                allowed = bucket.take(now)
            counts = self._counts.setdefault((service, account, region, operation), Counts())
            if allowed:
                counts.served += 1
            else:
                counts.throttled += 1
            return allowed

    def throttled_after_all(self, service: str, account: str, region: str, operation: str) -> None:
        """A call `admit` counted served that the service then answered with its throttling error: counted
        throttled instead (it keeps its token)."""
        with self._lock:
            counts = self._counts.setdefault((service, account, region, operation), Counts())
            counts.served = max(0, counts.served - 1)
            counts.throttled += 1

    def snapshot(self) -> list[dict]:
        with self._lock:
            return [
                {"service": s, "account": a, "region": r, "operation": o, "served": c.served, "throttled": c.throttled}
                for (s, a, r, o), c in sorted(self._counts.items())
            ]

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
            self._counts.clear()
