"""Runs the real `bootstrap` binary as Lambda's provided.al2023 runtime would, against the Runtime API stand-in
and the local AWS emulator.

The process gets a minimal environment (nothing of the host's AWS_* settings or config files leaks in); its
stdout and stderr (JSON log lines) go to one file, read back with `logs()` / `log_records()`.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import tempfile
import time
from collections.abc import Iterable
from typing import Any

from harness.constants import ADMIN, ADMIN2
from harness.wait import stop_process, wait_until

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
DEFAULT_BINARY = REPO_ROOT / "target" / "debug" / "bootstrap"

FUNCTION_NAME = "securityhub-member-account"
LOG_GROUP_NAME = f"/aws/lambda/{FUNCTION_NAME}"
LOG_STREAM_NAME = "2026/11/23/[$LATEST]test-stream"
REGION = "us-east-1"
# Test credentials: distinctive, so that tests can assert they never appear in the logs.
ACCESS_KEY_ID = "AKIAHARNESSTESTKEY01"
SECRET_ACCESS_KEY = "harnessSecretKey/DoNotLog+0123456789abcdefgh"
# The administrators the suites use: the provider's own account and a second one entered through AssumeRole.
ADMINISTRATOR_ACCOUNT_IDS = (ADMIN, ADMIN2)


class BinaryMissing(RuntimeError):
    pass


def binary_path() -> pathlib.Path:
    """`BOOTSTRAP_BINARY` if set, else target/debug/bootstrap in this repository."""
    env = os.environ.get("BOOTSTRAP_BINARY")
    return pathlib.Path(env) if env else DEFAULT_BINARY


def require_binary(path: pathlib.Path | str | None = None) -> pathlib.Path:
    p = pathlib.Path(path) if path else binary_path()
    if not p.is_file():
        raise BinaryMissing(
            f"bootstrap binary not found at {p}: build it with `cargo build` or point BOOTSTRAP_BINARY at it"
        )
    if not os.access(p, os.X_OK):
        raise BinaryMissing(f"bootstrap binary at {p} is not executable")
    return p


def base_env(runtime_api_address: str, emulator_url: str) -> dict[str, str]:
    """The Lambda environment the provider relies on, pointed at the local stand-ins."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "AWS_LAMBDA_RUNTIME_API": runtime_api_address,
        "AWS_LAMBDA_FUNCTION_NAME": FUNCTION_NAME,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": LOG_GROUP_NAME,
        "AWS_LAMBDA_LOG_STREAM_NAME": LOG_STREAM_NAME,
        "AWS_EXECUTION_ENV": "AWS_Lambda_provided.al2023",
        "LAMBDA_TASK_ROOT": "/var/task",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        # Keep the SDK away from any config or credentials files of the host.
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": emulator_url,
        # The provider's only Lambda call is the Invoke of its own function that continues a request past the
        # invocation's deadline: it goes to the stand-in's Invoke API, which queues it for the binary again.
        "AWS_ENDPOINT_URL_LAMBDA": f"http://{runtime_api_address}",
        "ALLOW_LOOPBACK_RESPONSE_URL": "true",
        # Every administrator the suites enroll into; TRUSTED_ACCOUNT_IDS is left to its default, the
        # provider's own account (the account of the stand-in's function ARN).
        "ADMINISTRATOR_ACCOUNT_IDS": ",".join(ADMINISTRATOR_ACCOUNT_IDS),
        "RUST_LOG": "info",
    }


class Provider:
    """One running `bootstrap` process.

    `env_overrides`: extra or replaced variables; a value of None removes the variable (e.g.
    `{"ALLOW_LOOPBACK_RESPONSE_URL": None}`)."""

    def __init__(
        self,
        binary: pathlib.Path | str | None,
        runtime_api,
        emulator_url: str,
        env_overrides: dict[str, str | None] | None = None,
        log_path: pathlib.Path | str | None = None,
        cwd: pathlib.Path | str | None = None,
    ):
        self.binary = require_binary(binary)
        self.runtime_api = runtime_api
        address = runtime_api if isinstance(runtime_api, str) else runtime_api.address
        env = base_env(address, emulator_url)
        for k, v in (env_overrides or {}).items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = str(v)
        self.env = env
        if log_path is None:
            fd, name = tempfile.mkstemp(prefix="bootstrap-", suffix=".log")
            os.close(fd)
            log_path = name
        self.log_path = pathlib.Path(log_path)
        self._log_file = open(self.log_path, "wb")
        self._workdir = tempfile.TemporaryDirectory(prefix="bootstrap-cwd-") if cwd is None else None
        self.started_at = time.time()
        self.proc = subprocess.Popen(
            [str(self.binary)],
            env=env,
            cwd=str(cwd) if cwd else self._workdir.name,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.proc.poll()

    def stop(self, timeout: float = 5.0) -> int | None:
        """Terminate (SIGTERM, bounded wait, then SIGKILL). Returns the exit code."""
        stop_process(self.proc, timeout)
        if not self._log_file.closed:
            self._log_file.close()
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None
        return self.proc.returncode

    def __enter__(self) -> Provider:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- logs ------------------------------------------------------------------------------------------------

    def logs(self) -> str:
        """Everything the process wrote so far (stdout and stderr interleaved)."""
        if not self._log_file.closed:
            self._log_file.flush()
        return self.log_path.read_bytes().decode("utf-8", errors="replace")

    def log_lines(self) -> list[str]:
        return [line for line in self.logs().splitlines() if line.strip()]

    def _parsed_lines(self) -> list[tuple[str, dict[str, Any] | None]]:
        """Each log line with its JSON object, or None when it is not one."""
        out = []
        for line in self.log_lines():
            try:
                rec = json.loads(line)
            except ValueError:
                rec = None
            out.append((line, rec if isinstance(rec, dict) else None))
        return out

    def log_records(self) -> list[dict[str, Any]]:
        """The JSON log lines, parsed; lines that are not JSON objects are skipped (see `non_json_lines`)."""
        return [rec for _, rec in self._parsed_lines() if rec is not None]

    def non_json_lines(self) -> list[str]:
        return [line for line, rec in self._parsed_lines() if rec is None]

    def records_mentioning(self, *values: str) -> list[dict[str, Any]]:
        """Parsed log records in which every one of `values` occurs as (part of) some string field, at any depth."""
        return [r for r in self.log_records() if all(_mentions(r, v) for v in values)]

    def wait_for_log(self, predicate, timeout: float = 10.0, interval: float = 0.05) -> dict[str, Any]:
        """Wait (bounded) for a parsed log record satisfying `predicate`."""
        return wait_until(
            lambda: next((rec for rec in self.log_records() if predicate(rec)), None),
            timeout,
            interval,
            lambda: f"a matching log record; last lines:\n{self.tail()}",
        )

    def tail(self, n: int = 30) -> str:
        return "\n".join(self.log_lines()[-n:])


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif value is not None:
        yield str(value)


def _mentions(record: Any, needle: str) -> bool:
    return any(needle in s for s in _strings(record))
