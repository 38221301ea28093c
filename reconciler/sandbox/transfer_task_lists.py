"""The caller's own tasks: ``GET /task_list``, ``GET /task/<id>`` and its
``successful_transfers``.

Only the task's owner may read it here; other identities get 403 (activity monitors use
``transfer_monitoring``). The paging helpers and the successful-transfers page are shared
with that module. This module must not create, run or change tasks.
"""

from __future__ import annotations

import sqlite3

from reconciler.sandbox import settings
from reconciler.sandbox.routing import (
    TRANSFER_RS,
    ApiError,
    Request,
    Response,
    Route,
    ok,
    route,
)
from reconciler.sandbox.transfer_endpoints import find_collection, host_path_for
from reconciler.sandbox.transfer_tasks import history_deleted, owner_task_doc, task_row

MAX_PAGE = 1000
TASK_ID_PATTERN = "(?P<task_id>[^/]+)"


def _own_task(req: Request) -> sqlite3.Row:
    caller = req.require_caller()
    row = task_row(req.conn, req.params["task_id"])
    if row["owner_id"] != caller.identity_id:
        raise ApiError(403, "PermissionDenied", "The task belongs to another identity")
    return row


def get_task(req: Request) -> Response:
    return ok(owner_task_doc(req.conn, _own_task(req), now=req.now))


def int_query(req: Request, name: str, default: int, maximum: int) -> int:
    raw = req.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as err:
        raise ApiError(400, "ClientError.BadRequest", f"{name} must be an integer") from err
    if value < 0 or value > maximum:
        raise ApiError(400, "ClientError.BadRequest", f"{name} must be between 0 and {maximum}")
    return value


def _parse_task_filter(raw: str) -> dict[str, set[str]]:
    clauses: dict[str, set[str]] = {}
    for clause in filter(None, raw.split("/")):
        field, sep, values = clause.partition(":")
        if not sep or field not in ("status", "type", "task_id", "label"):
            raise ApiError(400, "ClientError.BadRequest", f"Unsupported task filter {clause!r}")
        clauses[field] = {value for value in values.split(",") if value}
    return clauses


def task_list(req: Request) -> Response:
    caller = req.require_caller()
    limit = int_query(req, "limit", 10, MAX_PAGE)
    offset = int_query(req, "offset", 0, 10**9)
    clauses = _parse_task_filter(req.query.get("filter", ""))
    rows = req.conn.execute(
        "SELECT * FROM tasks WHERE owner_id = ? ORDER BY request_time DESC, seq DESC",
        (caller.identity_id,),
    ).fetchall()
    docs = [owner_task_doc(req.conn, row, now=req.now) for row in rows]
    for field, wanted in clauses.items():
        docs = [doc for doc in docs if str(doc.get(field)) in wanted]
    page = docs[offset : offset + limit]
    return ok(
        {
            "DATA_TYPE": "task_list",
            "DATA": page,
            "length": len(page),
            "limit": limit,
            "offset": offset,
            "total": len(docs),
        }
    )


def successful_transfers(req: Request, row: sqlite3.Row) -> Response:
    marker = int_query(req, "marker", 0, 10**12)
    limit = int_query(req, "limit", MAX_PAGE, MAX_PAGE) or MAX_PAGE
    rows = (
        []
        if history_deleted(row, req.now)
        else req.conn.execute(
            "SELECT * FROM successful_transfers WHERE task_id = ? AND seq >= ?"
            " ORDER BY seq LIMIT ?",
            (row["task_id"], marker, limit + 1),
        ).fetchall()
    )
    page, more = rows[:limit], len(rows) > limit
    on_host = settings.load(req.conn).transfer_paths == "host"
    source = _path_prefix(req.conn, row["source_endpoint_id"], on_host=on_host)
    destination = _path_prefix(req.conn, row["destination_endpoint_id"], on_host=on_host)
    return ok(
        {
            "DATA_TYPE": "successful_transfers",
            "marker": marker,
            "next_marker": int(rows[limit]["seq"]) if more else None,
            "DATA": [
                {
                    "DATA_TYPE": "successful_transfer",
                    "source_path": source + item["source_path"],
                    "destination_path": destination + item["destination_path"],
                    "size": item["size"],
                }
                for item in page
            ],
        }
    )


def _path_prefix(conn: sqlite3.Connection, endpoint_id: str | None, *, on_host: bool) -> str:
    """What goes before a collection path in ``host`` mode: the guest root on its host."""
    if not on_host or endpoint_id is None or find_collection(conn, endpoint_id) is None:
        return ""
    return host_path_for(endpoint_id).rstrip("/")


def own_successful_transfers(req: Request) -> Response:
    return successful_transfers(req, _own_task(req))


ROUTES: list[Route] = [
    route("GET", "/v0.10/task_list", task_list, service="transfer", resource_server=TRANSFER_RS),
    route(
        "GET",
        f"/v0.10/task/{TASK_ID_PATTERN}",
        get_task,
        service="transfer",
        resource_server=TRANSFER_RS,
    ),
    route(
        "GET",
        f"/v0.10/task/{TASK_ID_PATTERN}/successful_transfers",
        own_successful_transfers,
        service="transfer",
        resource_server=TRANSFER_RS,
    ),
]
