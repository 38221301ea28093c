"""The daemon's local HTTP endpoint: ``/metrics`` (Prometheus text), ``/healthz`` (200
while the loop is alive) and ``/readyz`` (200 once a pass has succeeded recently); every
other request goes to ``app`` (the dashboard, ``/api/status`` and the control endpoints
of ``console``) as a plain ``Request``, answered by a plain ``Reply``.

A stdlib ``ThreadingHTTPServer`` in a daemon thread. This module only moves bytes: what
is served and who may change anything is decided by ``app``.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST

from reconciler.daemon.health import Health, Verdict

DEFAULT_METRICS_ADDRESS = "127.0.0.1:9464"
MAX_BODY = 64 * 1024
REQUEST_TIMEOUT = 10.0
"""Seconds a client may take to send its request: a connection that sends nothing (or
drips) is closed, so idle clients cannot pile up threads."""


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    """Without the query string."""
    query: str
    headers: Mapping[str, str]
    """Header names in lower case."""
    body: bytes
    peer: str
    """The client's IP address."""
    server_host: str
    """The address the server is bound to (``127.0.0.1``, ``::``, ``0.0.0.0``...)."""


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = field(default=())


App = Callable[[Request], Reply]


_HOST_NAME = re.compile(
    r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)


def _is_ip_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def compute_bind_address(text: str) -> tuple[str, int]:
    """``host:port``, ``[v6]:port`` or ``:port`` (all interfaces) -> (host, port); the
    host is an IP address or a DNS name, else ``ValueError``."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not port.isascii() or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{text!r} is not HOST:PORT (e.g. 127.0.0.1:9464)")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        if not _is_ip_address(host):
            raise ValueError(f"{text!r} is not HOST:PORT: [{host}] is not an IPv6 address")
    elif host and not _is_ip_address(host) and not _HOST_NAME.fullmatch(host):
        raise ValueError(f"{text!r} is not HOST:PORT: {host!r} is not a host name or address")
    return host, int(port)


@dataclass
class RunningServer:
    url: str
    _server: ThreadingHTTPServer
    _thread: threading.Thread

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def start_http_server(
    address: str,
    *,
    metrics: Callable[[], bytes],
    health: Health,
    app: App | None = None,
) -> RunningServer:
    """Listen on ``address`` (port 0 picks a free one) and serve in a thread."""
    host, port = compute_bind_address(address)

    class Handler(BaseHTTPRequestHandler):
        server_version = "reconciler"
        timeout = REQUEST_TIMEOUT

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._reply(200, metrics(), CONTENT_TYPE_LATEST)
            elif path == "/healthz":
                self._verdict(health.check_alive())
            elif path == "/readyz":
                self._verdict(health.check_ready())
            elif app is not None:
                self._delegate(b"")
            else:
                self._reply(404, b"not found: try /metrics, /healthz or /readyz\n")

        def do_POST(self) -> None:
            try:
                length = int(self.headers.get("Content-Length") or "0")
            except ValueError:
                length = -1
            if not 0 <= length <= MAX_BODY:
                self._reply(413, b"the request body must be JSON of at most 64 KiB\n")
            elif app is None:
                self._reply(405, b"this server only answers GET\n")
            else:
                self._delegate(self.rfile.read(length))

        def _delegate(self, body: bytes) -> None:
            assert app is not None
            path, _, query = self.path.partition("?")
            reply = app(
                Request(
                    method=self.command,
                    path=path,
                    query=query,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                    peer=str(self.client_address[0]),
                    server_host=host,
                )
            )
            self._reply(reply.status, reply.body, reply.content_type, reply.headers)

        def _verdict(self, verdict: Verdict) -> None:
            text = ("ok: " if verdict.ok else "not ok: ") + verdict.detail + "\n"
            self._reply(200 if verdict.ok else 503, text.encode())

        def _reply(
            self,
            status: int,
            body: bytes,
            ctype: str = "text/plain; charset=utf-8",
            headers: tuple[tuple[str, str], ...] = (),
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Cache-Control", "no-store")
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Scrapes are not worth a log line each."""

    class Server(ThreadingHTTPServer):
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        daemon_threads = True

    server = Server((host, port), Handler)
    thread = threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True)
    thread.start()
    bound_host, bound_port = str(server.server_address[0]), int(server.server_address[1])
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    return RunningServer(f"http://{shown}:{bound_port}", server, thread)
