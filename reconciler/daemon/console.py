"""The daemon's web console, served next to ``/metrics``: the dashboard at ``/``, the
snapshot at ``/api/status``, and ``POST /api/suspend``, ``/api/resume`` and
``/api/reconcile`` for ``reconciler daemon``.

Control requests change only what an operator could change by hand: the suspend flag
file (``Suspension.hold``/``release``) and a trigger in the inbox, as SIGHUP posts one.
Who may send them is decided by ``access``; what is shown comes from the
``Observatory``. Replies to control requests are JSON; errors are one sentence.
"""

from __future__ import annotations

import json
from datetime import UTC

import structlog

from reconciler.daemon.access import compute_control_refusal, compute_read_refusal
from reconciler.daemon.clock import Clock
from reconciler.daemon.dashboard import CONTENT_SECURITY_POLICY, render_dashboard
from reconciler.daemon.observing import Observatory
from reconciler.daemon.serving import Reply, Request
from reconciler.daemon.snapshots import render_snapshot_json
from reconciler.daemon.suspending import Suspension
from reconciler.daemon.triggers import REQUEST, RESUME, SUSPEND, Inbox

log = structlog.get_logger("reconciler.daemon")

JSON = "application/json"
HTML_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
)
CONTROL_PATHS = ("/api/suspend", "/api/resume", "/api/reconcile")


def _json(status: int, document: object) -> Reply:
    return Reply(status, json.dumps(document).encode() + b"\n", JSON)


def _error(status: int, message: str) -> Reply:
    return _json(status, {"error": message})


class Console:
    def __init__(
        self,
        *,
        observatory: Observatory,
        suspension: Suspension,
        inbox: Inbox,
        clock: Clock,
        token: str | None = None,
    ) -> None:
        self._observatory = observatory
        self._suspension = suspension
        self._inbox = inbox
        self._clock = clock
        self._token = token

    def __call__(self, request: Request) -> Reply:
        if request.path in CONTROL_PATHS:
            if request.method != "POST":
                return Reply(405, b"use POST\n", headers=(("Allow", "POST"),))
            return self._control(request)
        if request.method != "GET":
            return Reply(405, b"use GET\n", headers=(("Allow", "GET"),))
        refusal = compute_read_refusal(request.headers, server_host=request.server_host)
        if refusal is not None:
            return Reply(refusal.status, refusal.message.encode() + b"\n")
        if request.path == "/":
            page = render_dashboard(self._observatory.load_snapshot())
            return Reply(200, page.encode(), "text/html; charset=utf-8", HTML_HEADERS)
        if request.path == "/api/status":
            return Reply(200, render_snapshot_json(self._observatory.load_snapshot()), JSON)
        return Reply(404, b"not found: try /, /api/status, /metrics, /healthz or /readyz\n")

    def _control(self, request: Request) -> Reply:
        refusal = compute_control_refusal(
            request.headers,
            peer=request.peer,
            server_host=request.server_host,
            token=self._token,
        )
        action = request.path.rsplit("/", 1)[1]
        if refusal is not None:
            log.warning("control_refused", action=action, peer=request.peer, why=refusal.message)
            return _error(refusal.status, refusal.message)
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, RecursionError):  # RecursionError: nested too deep
            return _error(400, "the request body is not JSON")
        if not isinstance(body, dict):
            return _error(400, "the request body must be a JSON object")
        log.info("control_request", action=action, peer=request.peer)
        try:
            if action == "suspend":
                return self._suspend(request.peer)
            if action == "resume":
                return self._resume()
        except OSError as err:
            return _error(500, f"cannot change the suspend flag file: {err.strerror or err}")
        return self._reconcile()

    def _suspend(self, peer: str) -> Reply:
        when = self._clock.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self._suspension.hold(f"suspended by `reconciler daemon suspend` from {peer} at {when}")
        self._inbox.post(SUSPEND)
        return _json(200, {"suspended": self._suspension.fetch_reason()})

    def _resume(self) -> Reply:
        self._suspension.release()
        self._inbox.post(RESUME)
        return _json(200, {"suspended": self._suspension.fetch_reason()})

    def _reconcile(self) -> Reply:
        reason = self._suspension.fetch_reason()
        if reason is not None:
            return _error(409, f"the daemon is suspended ({reason}); resume it first")
        after = self._observatory.passes_started
        self._inbox.post(REQUEST)
        return _json(202, {"requested": True, "after_pass": after})
