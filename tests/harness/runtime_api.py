"""A stand-in for the AWS Lambda Runtime API, enough to drive a custom runtime (`bootstrap`) locally.

    with RuntimeApi() as api:
        # start the binary with AWS_LAMBDA_RUNTIME_API=api.address
        rid = api.invoke({"RequestType": "Create", ...}, deadline_s=900)
        result = api.wait_result(rid, timeout=60)   # Result(kind="response"|"error", body=b"...")

Endpoints (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html):

- `GET  /2018-06-01/runtime/invocation/next` long-polls until an event is queued. Each event goes to exactly one
  poller, so several binaries may poll one stand-in at once. Closing the stand-in releases the pollers.
- `POST /2018-06-01/runtime/invocation/{id}/response` and `.../{id}/error` record the invocation's outcome.
- `POST /2018-06-01/runtime/init/error` records an initialisation error.

And Lambda's own Invoke API (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html), which the AWS
emulator forwards moto's Lambda invocations to (`configure(lambda_endpoint=api.invoke_url)`):

- `POST /2015-03-31/functions/{FunctionName}/invocations` queues the body like `invoke()` (the invoked
  function ARN is FunctionName when that is an ARN). `X-Amz-Invocation-Type: Event` answers 202 at once;
  `RequestResponse` (the default) waits for the binary's answer and returns it (200, with
  `X-Amz-Function-Error: Unhandled` for an error); `DryRun` answers 204. `X-Amzn-RequestId` is the request id.
  Each invocation gets the function's timeout (`function_timeout_s`, default Lambda's longest, 900 s) as its
  deadline, as Lambda gives every invocation the function's configured timeout.

Only 127.0.0.1 is listened on. Every wait is bounded.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import re
import select
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

API_PREFIX = "/2018-06-01/runtime"
DEFAULT_FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:securityhub-member-account"

# How long one `next` request waits for an event before it checks again whether the stand-in was closed.
_POLL_SLICE_S = 0.5

_INVOCATION_PATH = re.compile(r"^/2018-06-01/runtime/invocation/([^/]+)/(response|error)$")
_INVOKE_API_PATH = re.compile(r"^/2015-03-31/functions/([^/]+)/invocations$")
# How much longer than the invocation's deadline a RequestResponse Invoke waits for the binary's answer.
_INVOKE_MARGIN_S = 5.0


@dataclasses.dataclass
class Result:
    """What the runtime client answered for one invocation."""

    kind: str  # "response" or "error"
    body: bytes
    request_id: str
    headers: dict[str, str]
    received_at: float  # time.time() when the answer arrived

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclasses.dataclass
class Invocation:
    """One queued or delivered event."""

    request_id: str
    payload: bytes
    deadline_ms: int
    function_arn: str
    trace_id: str
    queued_at: float
    delivered_at: float | None = None

    @property
    def deadline(self) -> float:
        """The deadline as time.time() seconds."""
        return self.deadline_ms / 1000.0


@dataclasses.dataclass
class InitError:
    body: bytes
    headers: dict[str, str]
    received_at: float


class RuntimeApiTimeout(AssertionError):
    """A bounded wait on the stand-in ran out."""


class RuntimeApi:
    """Threaded HTTP stand-in for the Lambda Runtime API on 127.0.0.1 (free port)."""

    def __init__(
        self, function_arn: str = DEFAULT_FUNCTION_ARN, poll_timeout_s: float = 30.0, function_timeout_s: float = 900.0
    ):
        """`poll_timeout_s` bounds how long one `next` request is held before it is re-checked; a `next` keeps
        waiting (in slices) until an event is queued or the stand-in is closed. `function_timeout_s`: the
        deadline of each invocation made through the Invoke API (a test may shorten it)."""
        self.function_arn = function_arn
        self.poll_timeout_s = poll_timeout_s
        self.function_timeout_s = function_timeout_s
        self._cond = threading.Condition()
        self._queue: collections.deque[Invocation] = collections.deque()
        self._invocations: dict[str, Invocation] = {}
        self._results: dict[str, Result] = {}
        self._posts: list[Result] = []  # every response/error POST, duplicates included
        self._init_errors: list[InitError] = []
        self._next_requests = 0
        self._next_times: list[float] = []
        self._waiting_pollers = 0
        self._closed = False
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.api = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="runtime-api", daemon=True
        )
        self._thread.start()

    # -- lifecycle -------------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def address(self) -> str:
        """Value for AWS_LAMBDA_RUNTIME_API."""
        return f"127.0.0.1:{self.port}"

    @property
    def invoke_url(self) -> str:
        """Endpoint of the Lambda Invoke API on this stand-in (the emulator's `lambda_endpoint`)."""
        return f"http://{self.address}"

    def close(self) -> None:
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> RuntimeApi:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- driving ---------------------------------------------------------------------------------------------

    def invoke(
        self,
        event: dict | list | str | bytes,
        deadline_s: float = 900,
        request_id: str | None = None,
        function_arn: str | None = None,
        trace_id: str | None = None,
    ) -> str:
        """Queue an event for the next `next` request; returns the Lambda request id.

        `deadline_s`: seconds from now to the invocation's deadline (`Lambda-Runtime-Deadline-Ms`)."""
        if isinstance(event, (dict, list)):
            payload = json.dumps(event).encode()
        elif isinstance(event, str):
            payload = event.encode()
        else:
            payload = bytes(event)
        now = time.time()
        inv = Invocation(
            request_id=request_id or str(uuid.uuid4()),
            payload=payload,
            deadline_ms=int((now + deadline_s) * 1000),
            function_arn=function_arn or self.function_arn,
            trace_id=trace_id
            or f"Root=1-{int(now):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=0",
            queued_at=now,
        )
        with self._cond:
            if self._closed:
                raise RuntimeError("runtime API stand-in is closed")
            if inv.request_id in self._invocations:
                raise ValueError(f"duplicate request id {inv.request_id}")
            self._invocations[inv.request_id] = inv
            self._queue.append(inv)
            self._cond.notify_all()
        return inv.request_id

    def _wait(self, ready, timeout: float, why) -> None:
        """Wait (at most `timeout` s) on the stand-in's condition until `ready()`; else RuntimeApiTimeout(why())."""
        with self._cond:
            if not self._cond.wait_for(ready, timeout):
                raise RuntimeApiTimeout(why())

    def wait_result(self, request_id: str, timeout: float) -> Result:
        """Wait (at most `timeout` s) for the runtime client's answer to one invocation."""

        def why() -> str:
            inv = self._invocations.get(request_id)
            state = (
                "unknown request id"
                if inv is None
                else "still queued (no binary polled it)"
                if inv.delivered_at is None
                else f"delivered {time.time() - inv.delivered_at:.1f} s ago, unanswered"
            )
            return f"no runtime answer for {request_id} within {timeout} s: {state}"

        self._wait(lambda: request_id in self._results, timeout, why)
        return self.result(request_id)

    def result(self, request_id: str) -> Result | None:
        """The answer for one invocation, if any yet (does not wait)."""
        with self._cond:
            return self._results.get(request_id)

    def wait_next_requests(self, count: int, timeout: float) -> None:
        """Wait (at most `timeout` s) until `count` `next` requests have arrived in total."""
        self._wait(
            lambda: self._next_requests >= count,
            timeout,
            lambda: f"only {self._next_requests} of {count} `next` requests within {timeout} s",
        )

    def wait_polling(self, pollers: int = 1, timeout: float = 10.0) -> None:
        """Wait (at most `timeout` s) until at least `pollers` `next` requests are parked waiting for an event."""
        self._wait(
            lambda: self._waiting_pollers >= pollers,
            timeout,
            lambda: f"only {self._waiting_pollers} of {pollers} pollers waiting after {timeout} s",
        )

    # -- observations ----------------------------------------------------------------------------------------

    @property
    def next_requests(self) -> int:
        """How many `GET .../invocation/next` requests arrived (one per binary start, plus one per answer)."""
        with self._cond:
            return self._next_requests

    @property
    def next_times(self) -> list[float]:
        """time.time() of every `next` request, in arrival order."""
        with self._cond:
            return list(self._next_times)

    @property
    def waiting_pollers(self) -> int:
        with self._cond:
            return self._waiting_pollers

    def invocation(self, request_id: str) -> Invocation:
        with self._cond:
            return self._invocations[request_id]

    @property
    def invocations(self) -> list[Invocation]:
        """Every queued invocation, in the order queued."""
        with self._cond:
            return list(self._invocations.values())

    @property
    def posts(self) -> list[Result]:
        """Every response/error POST in arrival order, including second answers to the same invocation."""
        with self._cond:
            return list(self._posts)

    @property
    def init_errors(self) -> list[InitError]:
        with self._cond:
            return list(self._init_errors)

    # -- server side (called from handler threads) -----------------------------------------------------------

    def _take_next(self, client_gone=lambda: False) -> Invocation | None:
        """Block until an event is queued; None when the stand-in is closed or the client hung up (a killed
        binary's parked `next` must not swallow an event meant for a live one)."""
        with self._cond:
            self._next_requests += 1
            self._next_times.append(time.time())
            self._waiting_pollers += 1
            self._cond.notify_all()
            try:
                while not self._queue or client_gone():
                    if self._closed or client_gone():
                        return None
                    # Wait in bounded slices; the request stays open until an event comes or we close.
                    self._cond.wait(min(_POLL_SLICE_S, self.poll_timeout_s))
                inv = self._queue.popleft()
                inv.delivered_at = time.time()
                return inv
            finally:
                self._waiting_pollers -= 1
                self._cond.notify_all()

    def _requeue(self, inv: Invocation) -> None:
        """Delivery of `inv` failed (client went away): hand it to the next poller."""
        with self._cond:
            inv.delivered_at = None
            self._queue.appendleft(inv)
            self._cond.notify_all()

    def _record(self, request_id: str, kind: str, body: bytes, headers: dict[str, str]) -> int:
        with self._cond:
            if request_id not in self._invocations:
                return 400
            res = Result(kind=kind, body=body, request_id=request_id, headers=headers, received_at=time.time())
            self._posts.append(res)
            if request_id in self._results:
                # The real Runtime API refuses a second answer to one invocation.
                return 400
            self._results[request_id] = res
            self._cond.notify_all()
            return 202

    def _record_init_error(self, body: bytes, headers: dict[str, str]) -> None:
        with self._cond:
            self._init_errors.append(InitError(body=body, headers=headers, received_at=time.time()))
            self._cond.notify_all()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64
    api: RuntimeApi

    def handle_error(self, request, client_address):
        # A client that hung up (a stopped binary) is routine; anything else is worth a traceback.
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format, *args):  # noqa: A002 - quiet: pytest output stays readable
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)
        self.wfile.flush()

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            return self.rfile.read(length)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        return b""

    def _client_gone(self) -> bool:
        """True when the peer closed its end (readable with nothing to read)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def do_GET(self):  # noqa: N802
        api = self.server.api
        if self.path.split("?")[0] != f"{API_PREFIX}/invocation/next":
            self._send(404, b'{"errorMessage":"not found","errorType":"NotFound"}')
            return
        inv = api._take_next(self._client_gone)
        if inv is None:
            # Closed: tell the client, then drop the connection.
            self.close_connection = True
            try:
                self._send(500, b'{"errorMessage":"runtime API stand-in closed","errorType":"ServiceException"}')
            except OSError:
                pass  # the client is gone already
            return
        try:
            self._send(
                200,
                inv.payload,
                {
                    "Lambda-Runtime-Aws-Request-Id": inv.request_id,
                    "Lambda-Runtime-Deadline-Ms": str(inv.deadline_ms),
                    "Lambda-Runtime-Invoked-Function-Arn": inv.function_arn,
                    "Lambda-Runtime-Trace-Id": inv.trace_id,
                },
            )
        except OSError:
            api._requeue(inv)

    def do_POST(self):  # noqa: N802
        api = self.server.api
        body = self._read_body()
        headers = {k: v for k, v in self.headers.items()}
        path = self.path.split("?")[0]
        invoke = _INVOKE_API_PATH.match(path)
        if invoke:
            self._lambda_invoke(unquote(invoke.group(1)), body)
            return
        if path == f"{API_PREFIX}/init/error":
            api._record_init_error(body, headers)
            self._send(202, b'{"status":"OK"}')
            return
        m = _INVOCATION_PATH.match(path)
        if not m:
            self._send(404, b'{"errorMessage":"not found","errorType":"NotFound"}')
            return
        status = api._record(m.group(1), m.group(2), body, headers)
        if status == 202:
            self._send(202, b'{"status":"OK"}')
        else:
            self._send(
                status, b'{"errorMessage":"invalid or already answered request id","errorType":"InvalidRequestID"}'
            )

    def _lambda_invoke(self, function: str, payload: bytes) -> None:
        """Lambda's Invoke API, for the one function this stand-in serves."""
        api = self.server.api
        kind = self.headers.get("X-Amz-Invocation-Type") or "RequestResponse"
        if kind == "DryRun":
            self._send(204)
            return
        if kind not in ("Event", "RequestResponse"):
            self._send(
                400,
                b'{"Type":"User","message":"invalid X-Amz-Invocation-Type"}',
                {"X-Amzn-ErrorType": "InvalidParameterValueException"},
            )
            return
        try:
            rid = api.invoke(
                payload,
                deadline_s=api.function_timeout_s,
                function_arn=function if function.startswith("arn:") else None,
            )
        except RuntimeError as exc:
            self._send(500, json.dumps({"message": str(exc)}).encode(), {"X-Amzn-ErrorType": "ServiceException"})
            return
        headers = {"X-Amzn-RequestId": rid}
        if kind == "Event":
            self._send(202, b"", headers)
            return
        try:
            result = api.wait_result(rid, max(0.0, api.invocation(rid).deadline - time.time()) + _INVOKE_MARGIN_S)
        except RuntimeApiTimeout as exc:
            self._send(500, json.dumps({"message": str(exc)}).encode(), {"X-Amzn-ErrorType": "ServiceException"})
            return
        if result.kind == "error":
            headers["X-Amz-Function-Error"] = "Unhandled"
        self._send(200, result.body, headers)
