"""Local HTTP listeners on 127.0.0.1 that prove who was (not) contacted.

- `Server`: a bounded accept loop on a free loopback port, in a daemon thread; it counts every connection
  (any contact at all) and hands each one, in its own thread and with a socket timeout, to `serve(conn)`.
- `Listener(Server)`: records every HTTP request as a `Seen`, and answers 200, or, for paths
  `/redirect/<code>/<name>` with `name` in `redirects`, that redirect status with `Location: <redirects[name]>`.
- `read_request(conn)`: one HTTP/1.1 request off a socket (request line, lower-cased headers, body), bounded.
"""

from __future__ import annotations

import dataclasses
import re
import socket
import ssl
import threading

HEAD_LIMIT = 1 << 20
BODY_LIMIT = 1 << 22
CONNECTION_TIMEOUT_S = 5
ACCEPT_POLL_S = 0.2
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


@dataclasses.dataclass
class Seen:
    """One HTTP request a listener received."""

    request_line: str
    headers: dict[str, str]
    body: bytes
    host: str = ""  # for a proxy: the host the client wanted
    via: str = "direct"  # direct | proxy | connect | tls

    @property
    def method(self) -> str:
        return self.request_line.split(" ", 1)[0]

    @property
    def target(self) -> str:
        parts = self.request_line.split(" ")
        return parts[1] if len(parts) > 1 else ""


def read_head(conn: socket.socket, limit: int = HEAD_LIMIT) -> tuple[bytes, bytes] | None:
    """The request head and what was read past it; None when the peer closes or the head exceeds `limit`."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
        if len(data) > limit:
            return None
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def parse_head(head: bytes) -> tuple[str, dict[str, str]]:
    """The request line and the headers (names lower-cased)."""
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return lines[0], headers


def read_body(conn, headers: dict[str, str], rest: bytes, limit: int = BODY_LIMIT) -> bytes:
    """The body after the head: `rest`, then up to Content-Length bytes (at most `limit`)."""
    length = min(int(headers.get("content-length") or 0), limit)
    body = rest
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return body


def read_request(conn) -> tuple[str, dict[str, str], bytes] | None:
    """One request: (request line, headers, body); None when no complete head arrives."""
    parsed = read_head(conn)
    if parsed is None:
        return None
    line, headers = parse_head(parsed[0])
    return line, headers, read_body(conn, headers, parsed[1])


class Server:
    """Accept loop on 127.0.0.1 in a daemon thread; each connection handled in its own thread (bounded time)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(ACCEPT_POLL_S)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def contacts(self) -> int:
        """Connections accepted so far (any contact at all, HTTP or not)."""
        with self.lock:
            return self.connections

    def _run(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._guarded, args=(conn,), daemon=True).start()

    def _guarded(self, conn):
        try:
            conn.settimeout(CONNECTION_TIMEOUT_S)
            self.serve(conn)
        except (OSError, ValueError, ssl.SSLError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def serve(self, conn):  # pragma: no cover - overridden
        raise NotImplementedError

    def close(self):
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


class Listener(Server):
    """Records every connection and HTTP request. Answers 200, or, for paths `/redirect/<code>/<name>`, that
    redirect status with `Location: <redirects[name]>`."""

    def __init__(self, redirects: dict[str, str] | None = None):
        self.requests: list[Seen] = []
        self.redirects = dict(redirects or {})
        super().__init__()

    def serve(self, conn):
        request = read_request(conn)
        if request is None:
            return
        with self.lock:
            self.requests.append(Seen(*request))
        line = request[0]
        path = line.split(" ")[1] if " " in line else ""
        match = re.match(r"^/redirect/(\d{3})/([\w-]+)", path)
        if match and match.group(2) in self.redirects:
            reply = (
                f"HTTP/1.1 {match.group(1)} Redirect\r\nLocation: {self.redirects[match.group(2)]}\r\n"
                "Content-Length: 0\r\nConnection: close\r\n\r\n"
            ).encode()
        else:
            reply = OK
        conn.sendall(reply)
