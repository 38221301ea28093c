"""The daemon's local HTTP endpoint: ``/metrics`` (Prometheus text), ``/healthz`` (200
while the loop is alive) and ``/readyz`` (200 once a pass has succeeded recently).

A stdlib ``ThreadingHTTPServer`` in a daemon thread; it only reads what ``metrics`` and
``health`` hold and never triggers or changes anything.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST

from reconciler.daemon.health import Health, Verdict

DEFAULT_METRICS_ADDRESS = "127.0.0.1:9464"


def compute_bind_address(text: str) -> tuple[str, int]:
    """``host:port``, ``[v6]:port`` or ``:port`` (all interfaces) -> (host, port)."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{text!r} is not HOST:PORT (e.g. 127.0.0.1:9464)")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
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
    address: str, *, metrics: Callable[[], bytes], health: Health
) -> RunningServer:
    """Listen on ``address`` (port 0 picks a free one) and serve in a thread."""
    host, port = compute_bind_address(address)

    class Handler(BaseHTTPRequestHandler):
        server_version = "reconciler"

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._reply(200, metrics(), CONTENT_TYPE_LATEST)
            elif path == "/healthz":
                self._verdict(health.check_alive())
            elif path == "/readyz":
                self._verdict(health.check_ready())
            else:
                self._reply(404, b"not found: try /metrics, /healthz or /readyz\n")

        def _verdict(self, verdict: Verdict) -> None:
            text = ("ok: " if verdict.ok else "not ok: ") + verdict.detail + "\n"
            self._reply(200 if verdict.ok else 503, text.encode())

        def _reply(
            self, status: int, body: bytes, ctype: str = "text/plain; charset=utf-8"
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
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
