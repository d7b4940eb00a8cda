"""Bounded waits, the only ones the test support has: a hang fails instead of blocking the run.

- `wait_until(predicate, timeout, interval, message)`: poll until `predicate()` answers something truthy, and
  answer that; AssertionError naming what was awaited (`message`, or a function giving it) after `timeout` s.
- `stop_process(process, timeout)`: SIGTERM, a bounded wait, then SIGKILL.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from typing import Any


def wait_until(
    predicate: Callable[[], Any], timeout: float, interval: float = 0.05, message: str | Callable[[], str] = "condition"
) -> Any:
    end = time.monotonic() + timeout
    for _ in range(int(max(timeout, 0) / interval) + 2):  # each round sleeps `interval`: the clock ends it first
        value = predicate()
        if value:
            return value
        if time.monotonic() >= end:
            break
        time.sleep(interval)
    raise AssertionError(f"not within {timeout} s: {message() if callable(message) else message}")


def stop_process(process: subprocess.Popen, timeout: float) -> int | None:
    """Terminate `process` (if it still runs) and wait for it, killing it when it outlasts `timeout`."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)
    return process.returncode
