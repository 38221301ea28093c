"""Activity monitoring: the ``endpoint_manager`` task list, task and successful transfers.

A caller sees a task here when it holds ``activity_monitor``, ``activity_manager`` or
``administrator`` on a subscribed collection at either end of it; the task list enforces
Globus's filter rules (``filter_task_id`` alone, or ``filter_endpoint``, or running
statuses only). ``filter_owner_id`` matches tasks of the whole identity set (linked
identities), as the SDK documents; ``filter_completion_time`` accepts the documented
``YYYY-MM-DDTHH:MM:SS`` forms only (no fractional seconds, as a strict server might).
This module must not create, run or change tasks.
"""

from __future__ import annotations

import re
import sqlite3

from reconciler.sandbox import clock
from reconciler.sandbox.auth import find_identity, identity_set
from reconciler.sandbox.routing import (
    TRANSFER_RS,
    ApiError,
    Caller,
    Request,
    Response,
    Route,
    ok,
    route,
)
from reconciler.sandbox.transfer_endpoints import caller_roles, collection_row, find_collection
from reconciler.sandbox.transfer_task_lists import (
    MAX_PAGE,
    TASK_ID_PATTERN,
    int_query,
    successful_transfers,
)
from reconciler.sandbox.transfer_tasks import TASK_STATUSES, task_doc, task_row

MONITOR_ROLES = ("activity_monitor", "activity_manager", "administrator")


def _monitored_task(req: Request) -> sqlite3.Row:
    caller = req.require_caller()
    row = task_row(req.conn, req.params["task_id"])
    _require_monitor_on_task(req.conn, caller, row)
    return row


def _require_monitor_on_task(conn: sqlite3.Connection, caller: Caller, row: sqlite3.Row) -> None:
    for endpoint in (row["source_endpoint_id"], row["destination_endpoint_id"]):
        if endpoint is None:
            continue
        collection = find_collection(conn, str(endpoint))
        if collection is None or collection["subscription_id"] is None:
            continue
        if caller_roles(conn, str(endpoint), caller.identity_id).intersection(MONITOR_ROLES):
            return
    raise ApiError(
        403,
        "PermissionDenied",
        f"No activity_monitor or activity_manager role on an endpoint of task {row['task_id']}",
    )


def manager_get_task(req: Request) -> Response:
    return ok(task_doc(req.conn, _monitored_task(req), now=req.now))


def manager_successful_transfers(req: Request) -> Response:
    return successful_transfers(req, _monitored_task(req))


_FRACTIONAL = re.compile(r"\d{2}:\d{2}:\d{2}[.,]\d")


def _completion_window(raw: str) -> tuple[float | None, float | None]:
    since_raw, sep, until_raw = raw.partition(",")
    if not sep or (not since_raw.strip() and not until_raw.strip()):
        raise ApiError(
            400,
            "ClientError.BadRequest",
            "filter_completion_time must be 'start,end' (one may be blank)",
        )
    if _FRACTIONAL.search(raw):
        raise ApiError(
            400,
            "ClientError.BadRequest",
            "filter_completion_time dates must be YYYY-MM-DDTHH:MM:SS, optionally with Z or"
            f" an offset, without fractional seconds: {raw!r}",
        )
    try:
        since = clock.parse_iso(since_raw) if since_raw.strip() else None
        until = clock.parse_iso(until_raw) if until_raw.strip() else None
    except ValueError as err:
        raise ApiError(400, "ClientError.BadRequest", f"Bad filter_completion_time: {err}") from err
    return since, until


_MANAGER_FILTERS = (
    "filter_status",
    "filter_owner_id",
    "filter_endpoint",
    "filter_endpoint_use",
    "filter_is_paused",
    "filter_completion_time",
    "filter_min_faults",
    "filter_local_user",
)


def manager_task_list(req: Request) -> Response:
    caller = req.require_caller()
    query = {key: value for key, value in req.query.items() if value != ""}
    task_ids = _csv(query.get("filter_task_id"))
    others = [name for name in _MANAGER_FILTERS if name in query]
    if task_ids and others:
        raise ApiError(
            400, "ClientError.BadRequest", "filter_task_id cannot be combined with other filters"
        )
    if "filter_endpoint_use" in query and "filter_endpoint" not in query:
        raise ApiError(400, "ClientError.BadRequest", "filter_endpoint_use needs filter_endpoint")
    statuses = set(_csv(query.get("filter_status")))
    if statuses - set(TASK_STATUSES):
        raise ApiError(400, "ClientError.BadRequest", f"Unknown status in {sorted(statuses)}")
    running_only = bool(statuses) and statuses <= {"ACTIVE", "INACTIVE"}
    endpoint = query.get("filter_endpoint")
    if not task_ids and endpoint is None and not running_only:
        raise ApiError(
            400,
            "ClientError.BadRequest",
            "filter_task_id or filter_endpoint is required unless filtering on running tasks",
        )
    limit = int_query(req, "limit", MAX_PAGE, MAX_PAGE) or MAX_PAGE

    if endpoint is not None:
        collection = collection_row(req.conn, endpoint)
        endpoint = str(collection["id"])
        held = caller_roles(req.conn, endpoint, caller.identity_id)
        if not held.intersection(MONITOR_ROLES) or collection["subscription_id"] is None:
            raise ApiError(
                403,
                "PermissionDenied",
                f"Activity monitoring on {endpoint} needs the activity_monitor or"
                " activity_manager role on a subscribed collection",
            )
    rows = _candidate_rows(req.conn, task_ids, endpoint, query.get("filter_endpoint_use"))
    if task_ids:
        for row in rows:
            _require_monitor_on_task(req.conn, caller, row)
    elif endpoint is None:
        rows = [row for row in rows if _monitors(req.conn, caller, row)]
    rows = _filter_rows(req.conn, rows, query, statuses)
    rows.sort(key=_manager_sort_key)
    start = 0
    last_key = query.get("last_key")
    if last_key:
        start = _position_after(rows, last_key)
    page = rows[start : start + limit]
    has_next = start + limit < len(rows)
    return ok(
        {
            "DATA_TYPE": "task_list",
            "DATA": [task_doc(req.conn, row, now=req.now) for row in page],
            "has_next_page": has_next,
            "last_key": f"task,{page[-1]['seq']}" if page else None,
        }
    )


def _csv(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


def _candidate_rows(
    conn: sqlite3.Connection, task_ids: list[str], endpoint: str | None, use: str | None
) -> list[sqlite3.Row]:
    if task_ids:
        marks = ",".join("?" * len(task_ids))
        return conn.execute(f"SELECT * FROM tasks WHERE task_id IN ({marks})", task_ids).fetchall()
    if endpoint is None:
        return conn.execute("SELECT * FROM tasks").fetchall()
    args: tuple[str, ...] = (endpoint,)
    if use == "source":
        clause = "source_endpoint_id = ?"
    elif use == "destination":
        clause = "destination_endpoint_id = ?"
    elif use is None:
        clause, args = (
            "(source_endpoint_id = ? OR destination_endpoint_id = ?)",
            (endpoint, endpoint),
        )
    else:
        raise ApiError(
            400, "ClientError.BadRequest", "filter_endpoint_use must be source or destination"
        )
    return conn.execute(f"SELECT * FROM tasks WHERE {clause}", args).fetchall()


def _monitors(conn: sqlite3.Connection, caller: Caller, row: sqlite3.Row) -> bool:
    try:
        _require_monitor_on_task(conn, caller, row)
    except ApiError:
        return False
    return True


def _filter_rows(
    conn: sqlite3.Connection, rows: list[sqlite3.Row], query: dict[str, str], statuses: set[str]
) -> list[sqlite3.Row]:
    if statuses:
        rows = [row for row in rows if row["status"] in statuses]
    owner = query.get("filter_owner_id")
    if owner:
        found = find_identity(conn, owner)
        if found is None:
            raise ApiError(404, "UserNotFound", f"Identity '{owner}' is not a Globus Transfer user")
        owners = set(identity_set(conn, str(found["id"])))
        rows = [row for row in rows if row["owner_id"] in owners]
    if "filter_min_faults" in query:
        try:
            minimum = int(query["filter_min_faults"])
        except ValueError as err:
            raise ApiError(
                400, "ClientError.BadRequest", "filter_min_faults must be an integer"
            ) from err
        if minimum > 0:
            rows = []  # sandbox tasks never fault
    window = query.get("filter_completion_time")
    if window:
        since, until = _completion_window(window)

        def inside(row: sqlite3.Row) -> bool:
            done = row["completion_time"]
            if done is None:
                return until is None  # a blank end also includes running tasks
            return (since is None or done >= since) and (until is None or done <= until)

        rows = [row for row in rows if inside(row)]
    return rows


def _manager_sort_key(row: sqlite3.Row) -> tuple[int, float, int]:
    # Running tasks first (newest first), then completed ones, most recently completed first.
    if row["completion_time"] is None:
        return (0, -float(row["request_time"]), -int(row["seq"]))
    return (1, -float(row["completion_time"]), -int(row["seq"]))


def _position_after(rows: list[sqlite3.Row], last_key: str) -> int:
    _, _, seq_text = last_key.partition(",")
    for index, row in enumerate(rows):
        if str(row["seq"]) == seq_text:
            return index + 1
    raise ApiError(400, "ClientError.BadRequest", f"Invalid last_key {last_key!r}")


ROUTES: list[Route] = [
    route(
        "GET",
        "/v0.10/endpoint_manager/task_list",
        manager_task_list,
        service="transfer",
        resource_server=TRANSFER_RS,
    ),
    route(
        "GET",
        f"/v0.10/endpoint_manager/task/{TASK_ID_PATTERN}",
        manager_get_task,
        service="transfer",
        resource_server=TRANSFER_RS,
    ),
    route(
        "GET",
        f"/v0.10/endpoint_manager/task/{TASK_ID_PATTERN}/successful_transfers",
        manager_successful_transfers,
        service="transfer",
        resource_server=TRANSFER_RS,
    ),
]
