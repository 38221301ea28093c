"""The sandbox application: one request in, one response (or a dropped connection) out.

It decides everything the HTTP layer should not: the loopback and same-origin rules
for the control plane (``control_guard``), injected faults, routing, bearer-token
checks, the per-request transaction with ``settle`` first, Globus-shaped errors, the
request log, and the ``Date`` header, which tells the sandbox's own (possibly moved)
clock as Globus's tells its own. ``server.py`` only moves bytes. Handlers never see HTTP
objects, so this module is the sandbox's whole behaviour at its edge.
"""

from __future__ import annotations

import json
import logging
import secrets
import sqlite3
import string
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import formatdate
from pathlib import Path

from reconciler.sandbox import (
    auth,
    clock,
    control,
    groups,
    settings,
    settling,
    transfer_acl,
    transfer_endpoints,
    transfer_fs,
    transfer_monitoring,
    transfer_submission,
    transfer_task_lists,
)
from reconciler.sandbox.control_guard import compute_control_refusal, is_loopback_address
from reconciler.sandbox.faults import FaultTable
from reconciler.sandbox.rate_limit import RateMeter
from reconciler.sandbox.request_log import RequestLog
from reconciler.sandbox.routing import ApiError, Request, Response, Router, service_of
from reconciler.sandbox.store import Store

log = logging.getLogger(__name__)

_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True, slots=True)
class Services:
    """What the control plane may reach beyond the world: in-memory server state."""

    faults: FaultTable
    request_log: RequestLog
    db_path: Path


@dataclass(frozen=True, slots=True)
class Incoming:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    client_host: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """``response`` None means: close the connection without answering."""

    response: Response | None


def _request_id() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(9))


def error_response(err: ApiError, *, request_id: str, resource: str) -> Response:
    if err.body is not None:
        return Response(err.status, err.body, err.headers)
    body = {
        "code": err.code,
        "message": err.message,
        "request_id": request_id,
        "resource": resource,
        **err.extra,
    }
    return Response(err.status, body, err.headers)


class SandboxApp:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.services = Services(FaultTable(), RequestLog(), store.path)
        self.meter = RateMeter()
        self.router = Router(
            [
                *auth.ROUTES,
                *groups.ROUTES,
                *transfer_acl.ROUTES,
                *transfer_fs.ROUTES,
                *transfer_submission.ROUTES,
                *transfer_task_lists.ROUTES,
                *transfer_monitoring.ROUTES,
                *transfer_endpoints.ROUTES,
                *control.ROUTES,
            ]
        )

    def handle(self, incoming: Incoming) -> Outcome:
        started = time.monotonic()
        service = service_of(incoming.path)
        if service == "control":
            refusal = (
                "The sandbox control plane answers loopback only"
                if not is_loopback_address(incoming.client_host)
                else compute_control_refusal(incoming.method, incoming.headers)
            )
            if refusal is not None:
                err = ApiError(403, "Forbidden", refusal)
                return Outcome(
                    error_response(err, request_id=_request_id(), resource=incoming.path)
                )
            response, _, _ = self._dispatch(incoming)
            return Outcome(response)

        fault = self.services.faults.pick(incoming.method, incoming.path)
        fault_id = None if fault is None else fault.id
        outcome: Outcome
        caller: str | None = None
        if fault is not None and fault.latency_ms:
            time.sleep(fault.latency_ms / 1000)
        if fault is not None and fault.drop:
            outcome = Outcome(None)
        elif fault is not None and fault.status is not None:
            headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
            err = ApiError(
                fault.status,
                fault.error_code(),
                fault.message or f"Injected fault {fault.id}",
                headers=headers,
            )
            response = error_response(err, request_id=_request_id(), resource=incoming.path)
            outcome = Outcome(self._dated(response, None))
        else:
            response, caller, when = self._dispatch(incoming)
            outcome = Outcome(self._dated(response, when))
        self.services.request_log.append(
            {
                # Milliseconds: benchmarks measure how late an expiry was revoked.
                "time": datetime.fromtimestamp(time.time(), UTC).isoformat(timespec="milliseconds"),
                "method": incoming.method,
                "path": incoming.path,
                "query": dict(incoming.query),
                "status": None if outcome.response is None else outcome.response.status,
                "latency_ms": round((time.monotonic() - started) * 1000, 3),
                "service": service,
                "fault": fault_id,
                "caller": caller,
            }
        )
        return outcome

    def _dated(self, response: Response, when: float | None) -> Response:
        """``response`` with a ``Date`` header on sandbox time (``when``, else read now)."""
        if when is None:
            with self.store.transaction() as conn:
                when = clock.now(conn)
        return replace(
            response, headers={**response.headers, "Date": formatdate(when, usegmt=True)}
        )

    def _dispatch(self, incoming: Incoming) -> tuple[Response, str | None, float | None]:
        """The response, the caller's identity id (once authenticated) and the sandbox
        time the request was handled at (None when it failed before reading it)."""
        request_id = _request_id()
        caller_id: str | None = None
        now: float | None = None
        try:
            matched = self.router.match(incoming.method, incoming.path)
            if matched is None:
                raise ApiError(
                    404, "NotFound", f"No such resource: {incoming.method} {incoming.path}"
                )
            route, params = matched
            with self.store.transaction() as conn:
                now = clock.now(conn)
                settling.settle(conn, now)
                caller = None
                if route.resource_server is not None:
                    caller = auth.authenticate(
                        conn, incoming.headers.get("Authorization", ""), route.resource_server
                    )
                    caller_id = caller.identity_id
                    if route.service == "transfer":
                        self._meter(conn, caller_id)
                request = Request(
                    method=incoming.method,
                    path=incoming.path,
                    query=dict(incoming.query),
                    headers=incoming.headers,
                    body=incoming.body,
                    client_host=incoming.client_host,
                    conn=conn,
                    now=now,
                    request_id=request_id,
                    params=params,
                    caller=caller,
                    services=self.services,
                )
                response = route.handler(request)
            return response, caller_id, now
        except ApiError as err:
            response = error_response(err, request_id=request_id, resource=incoming.path)
            return response, caller_id, now
        except Exception:
            log.exception("sandbox_internal_error", extra={"path": incoming.path})
            internal = ApiError(
                500, "InternalError", "The sandbox failed on this request; see its log"
            )
            return (
                error_response(internal, request_id=request_id, resource=incoming.path),
                caller_id,
                now,
            )

    def _meter(self, conn: sqlite3.Connection, identity_id: str) -> None:
        limit = settings.load(conn).transfer_rate_limit
        if not limit:
            return
        wait = self.meter.admit(identity_id, limit)
        if wait is not None:
            raise ApiError(
                429,
                "RequestLimitExceeded",
                f"Rate limit of {limit:g} requests per second exceeded",
                headers={"Retry-After": str(wait)},
            )


def encode(response: Response) -> bytes:
    return json.dumps(response.body).encode("utf-8")
