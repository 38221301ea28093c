"""The control plane's HTTP routes under ``/_sandbox/``: seed, inspect and steer the world,
outside every Globus API.

Each route wraps an operation from ``steering`` (changes) or ``dumping`` (reads); faults
and the request log belong to the running server, so only these routes offer them. The
app answers them for loopback clients only. Errors in the input (ValueError, or a
conflict with the world) are answered as 400 ``BadRequest``. This module must not hold
world logic of its own.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from reconciler.sandbox import settings
from reconciler.sandbox.dumping import clock_doc, dump_world, notifications, settings_doc
from reconciler.sandbox.routing import ApiError, Request, Response, Route, ok, route
from reconciler.sandbox.steering import (
    add_client,
    add_collection,
    add_file,
    add_group,
    add_identity,
    add_role,
    apply_seed,
    move_clock,
    reset_world,
    revoke_role,
    simulate_download,
)


def _bad_request(err: ValueError | sqlite3.IntegrityError) -> ApiError:
    if isinstance(err, sqlite3.IntegrityError):
        return ApiError(400, "BadRequest", f"conflicts with the world: {err}")
    return ApiError(400, "BadRequest", str(err))


def _with_body(
    op: Callable[[sqlite3.Connection, dict[str, Any], float], dict[str, Any]],
) -> Callable[[Request], Response]:
    def handler(req: Request) -> Response:
        try:
            return ok(op(req.conn, req.json_object(), req.now))
        except (ValueError, sqlite3.IntegrityError) as err:
            raise _bad_request(err) from err

    return handler


def _health(req: Request) -> Response:
    return ok({"ok": True, "db": str(getattr(req.services, "db_path", ""))})


def _reset(req: Request) -> Response:
    reset_world(req.conn)
    return ok({"reset": True})


def _dump(req: Request) -> Response:
    return ok(dump_world(req.conn, req.now))


def _seed(req: Request) -> Response:
    try:
        return ok(apply_seed(req.conn, req.json_object(), req.now))
    except (ValueError, sqlite3.IntegrityError) as err:
        raise _bad_request(err) from err


def _get_clock(req: Request) -> Response:
    return ok(clock_doc(req.conn))


def _move_clock(req: Request) -> Response:
    try:
        return ok(move_clock(req.conn, req.json_object()))
    except ValueError as err:
        raise _bad_request(err) from err


def _get_settings(req: Request) -> Response:
    return ok(settings_doc(req.conn))


def _update_settings(req: Request) -> Response:
    try:
        settings.update(req.conn, req.json_object())
    except ValueError as err:
        raise _bad_request(err) from err
    return ok(settings_doc(req.conn))


def _notifications(req: Request) -> Response:
    return ok({"notifications": notifications(req.conn)})


def _list_faults(req: Request) -> Response:
    return ok({"faults": req.services.faults.list()})


def _add_fault(req: Request) -> Response:
    try:
        fault = req.services.faults.add(req.json_object())
    except ValueError as err:
        raise _bad_request(err) from err
    return ok(fault.describe(), status=201)


def _clear_faults(req: Request) -> Response:
    return ok({"cleared": req.services.faults.clear()})


def _clear_fault(req: Request) -> Response:
    return ok({"cleared": req.services.faults.clear(int(req.params["fault_id"]))})


def _request_log(req: Request) -> Response:
    try:
        since = int(req.query.get("since", "0"))
    except ValueError as err:
        raise ApiError(400, "BadRequest", "since must be an integer") from err
    entries, next_index = req.services.request_log.since(since)
    return ok({"entries": entries, "next": next_index})


def _clear_request_log(req: Request) -> Response:
    return ok({"next": req.services.request_log.clear()})


def _control(method: str, path: str, handler: Callable[[Request], Response]) -> Route:
    return route(method, f"/_sandbox/{path}", handler, service="control", resource_server=None)


ROUTES: list[Route] = [
    _control("GET", "health", _health),
    _control("POST", "reset", _reset),
    _control("GET", "dump", _dump),
    _control("POST", "seed", _seed),
    _control("POST", "identities", _with_body(add_identity)),
    _control("POST", "clients", _with_body(add_client)),
    _control("POST", "collections", _with_body(add_collection)),
    _control("POST", "groups", _with_body(add_group)),
    _control("POST", "files", _with_body(add_file)),
    _control("POST", "roles", _with_body(add_role)),
    _control("DELETE", "roles", _with_body(revoke_role)),
    _control("POST", "downloads", _with_body(simulate_download)),
    _control("GET", "clock", _get_clock),
    _control("POST", "clock", _move_clock),
    _control("GET", "settings", _get_settings),
    _control("POST", "settings", _update_settings),
    _control("GET", "notifications", _notifications),
    _control("GET", "faults", _list_faults),
    _control("POST", "faults", _add_fault),
    _control("DELETE", "faults", _clear_faults),
    _control("DELETE", r"faults/(?P<fault_id>\d+)", _clear_fault),
    _control("GET", "requests", _request_log),
    _control("DELETE", "requests", _clear_request_log),
]
