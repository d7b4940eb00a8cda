"""The call log: one entry per AWS request, with its timing and outcome.

Benchmarks count round trips on the critical path from it, and tests check which calls a client made;
faults are recorded with the outcome they forced (`fault`: throttle, error, reset, not_ready (a new account's
SubscriptionRequiredException), denied_region, access_denied, fail_region, put_failure, rate_limited for an
empty token bucket, and service_throttled for a throttling error the service answered itself, such as
CreateAccount over `create_account_concurrency`).
"""

import threading
from dataclasses import asdict, dataclass

from .identify import AwsRequest


@dataclass
class CallRecord:
    seq: int
    service: str
    operation: str
    account: str
    region: str
    method: str
    path: str
    start: float
    end: float | None = None
    status: int | None = None
    fault: str | None = None


class CallLog:
    """Thread-safe, append-only until `clear`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[CallRecord] = []

    def start(self, request: AwsRequest, at: float) -> CallRecord:
        with self._lock:
            record = CallRecord(
                len(self._records) + 1,
                request.service,
                request.operation,
                request.account,
                request.region,
                request.method,
                request.path,
                at,
            )
            self._records.append(record)
            return record

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def snapshot(self) -> list[dict]:
        with self._lock:
            return [asdict(r) for r in self._records]
