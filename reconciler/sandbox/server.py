"""HTTP plumbing: a ``ThreadingHTTPServer`` that turns bytes into ``Incoming`` requests
for ``SandboxApp`` and writes its answers back, or drops the connection when a fault
says so. Speaks HTTP/1.1 with keep-alive, as the SDK's connection pool expects.

On stop it also shuts the sockets of idle keep-alive connections, so a client of a
stopped sandbox sees a closed connection instead of a server that half exists.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from reconciler.sandbox.app import Incoming, SandboxApp, encode


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: SandboxApp) -> None:
        self.app = app
        self._live: set[socket.socket] = set()
        self._live_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, sock: socket.socket, *, alive: bool) -> None:
        with self._live_lock:
            if alive:
                self._live.add(sock)
            else:
                self._live.discard(sock)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet about clients that hung up; report anything else."""
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        with self._live_lock:
            live = list(self._live)
        for sock in live:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "reconciler-sandbox"
    sys_version = ""
    timeout = 120
    server: SandboxHTTPServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out as two writes; without TCP_NODELAY, Nagle's algorithm
        # and the client's delayed ACK add ~40 ms to every response.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, alive=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, alive=False)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request stderr line; the request log records every call."""

    _date: str | None = None

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` ``send_response`` sends: the app's (sandbox time, which the
        control plane can move) rather than this host's."""
        return self._date or super().date_time_string(timestamp)

    def _handle(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        incoming = Incoming(
            method=self.command,
            path=split.path,
            query=dict(parse_qsl(split.query, keep_blank_values=True)),
            headers={key.title(): value for key, value in self.headers.items()},
            body=body,
            client_host=str(self.client_address[0]),
        )
        outcome = self.server.app.handle(incoming)
        if outcome.response is None:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        response = outcome.response
        payload = encode(response)
        self._date = response.headers.get("Date")
        self.send_response(response.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in response.headers.items():
            if key != "Date":  # already sent by send_response
                self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = _handle
    do_POST = _handle
    do_PUT = _handle
    do_PATCH = _handle
    do_DELETE = _handle
