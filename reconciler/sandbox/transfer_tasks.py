"""Transfer tasks: submission ids, transfer and delete submission, task documents, the
caller's task list, activity monitoring (endpoint_manager) and simulated downloads.

Tasks run on sandbox time and are evaluated lazily: ``settle`` (called at the start of
every request) completes every task whose due time has passed, in due-time order, and
starts queued ones. A task is due ``task_seconds`` after it starts; at most
``max_active_tasks`` transfer and as many delete tasks run per user, the rest wait with
status ``ACTIVE`` and nice_status ``Queued``. A task's effects (copying file entries,
deleting a subtree) happen when it completes; a task whose source is missing FAILS with
no effect. Resubmitting a submission id returns the original task with code ``Duplicate``.
Per-file history (successful transfers) is answered for 30 sandbox days after a task
completes; after that the task says ``history_deleted`` and the rows are gone.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from reconciler.sandbox import clock, settings, transfer_fs
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
from reconciler.sandbox.transfer_endpoints import (
    caller_roles,
    collection_row,
    effective_permission,
    find_collection,
)

MONITOR_ROLES = ("activity_monitor", "activity_manager", "administrator")
FINAL_STATUSES = ("SUCCEEDED", "FAILED")
TASK_STATUSES = ("ACTIVE", "INACTIVE", "SUCCEEDED", "FAILED")
MAX_PAGE = 1000
HISTORY_SECONDS = 30 * 86400
_SYNC_LEVELS = {"exists": 0, "size": 1, "mtime": 2, "checksum": 3}
_PERSONAL_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://reconciler.invalid/sandbox/personal")


class TaskFailure(Exception):
    """Raised while running a task; the task ends FAILED with this fatal_error."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


@dataclass(frozen=True, slots=True)
class CopiedFile:
    source_path: str
    destination_path: str
    size: int


# --- documents ------------------------------------------------------------------------


def legacy_username(identity_id: str) -> str:
    """The deprecated ``username`` field: ``u_`` and the base32 of the identity UUID."""
    try:
        raw = uuid.UUID(identity_id).bytes
    except ValueError:
        return identity_id
    return "u_" + base64.b32encode(raw).decode("ascii").rstrip("=").lower()


def _display_name(conn: sqlite3.Connection, endpoint_id: str | None, fallback: str) -> str | None:
    if endpoint_id is None:
        return None
    row = find_collection(conn, endpoint_id)
    return fallback if row is None else str(row["display_name"])


def history_deleted(row: sqlite3.Row, now: float) -> bool:
    """Per-file history (successful transfers) is kept 30 days after completion."""
    done = row["completion_time"]
    return done is not None and now - float(done) > HISTORY_SECONDS


def task_doc(conn: sqlite3.Connection, row: sqlite3.Row, *, now: float) -> dict[str, Any]:
    extra: dict[str, Any] = json.loads(row["doc"])
    owner = conn.execute(
        "SELECT username FROM identities WHERE id = ?", (row["owner_id"],)
    ).fetchone()
    src, dst = row["source_endpoint_id"], row["destination_endpoint_id"]
    src_name = _display_name(conn, src, "Unknown collection")
    dst_name = _display_name(conn, dst, extra.get("destination_display_name") or "Unknown")
    completion = row["completion_time"]
    status = str(row["status"])
    stats: dict[str, Any] = extra.get("stats", {})
    duration = max((completion or 0) - row["request_time"], 1) if completion else None
    bytes_transferred = int(stats.get("bytes_transferred", 0))
    files_total = int(stats.get("files", 0))
    queued = status == "ACTIVE" and row["started_at"] is None
    return {
        "DATA_TYPE": "task",
        "task_id": row["task_id"],
        "type": row["type"],
        "status": status,
        "label": extra.get("label"),
        "owner_id": row["owner_id"],
        "owner_string": None if owner is None else owner["username"],
        "username": legacy_username(str(row["owner_id"])),
        "command": "API 0.10",
        "request_time": clock.to_iso(row["request_time"]),
        "completion_time": clock.to_iso(completion),
        "deadline": clock.to_iso(extra.get("deadline") or row["request_time"] + 86400),
        "source_endpoint": src if src is None else f"sandbox#{src}",
        "source_endpoint_id": src,
        "source_endpoint_display_name": src_name,
        "source_host_endpoint": None,
        "source_host_endpoint_display_name": None,
        "source_host_endpoint_id": None,
        "source_host_path": None,
        "source_base_path": None,
        "source_local_user": None,
        "source_local_user_status": None,
        "source_mapped_collection_display_name": None,
        "source_mapped_collection_id": None,
        "destination_endpoint": dst if dst is None else f"sandbox#{dst}",
        "destination_endpoint_id": dst,
        "destination_endpoint_display_name": dst_name,
        "destination_host_endpoint": None,
        "destination_host_endpoint_display_name": None,
        "destination_host_endpoint_id": None,
        "destination_host_path": None,
        "destination_base_path": None,
        "destination_local_user": None,
        "destination_local_user_status": None,
        "destination_mapped_collection_display_name": None,
        "destination_mapped_collection_id": None,
        "sync_level": extra.get("sync_level"),
        "verify_checksum": bool(extra.get("verify_checksum", False)),
        "encrypt_data": bool(extra.get("encrypt_data", False)),
        "preserve_timestamp": bool(extra.get("preserve_timestamp", False)),
        "delete_destination_extra": bool(extra.get("delete_destination_extra", False)),
        "skip_source_errors": bool(extra.get("skip_source_errors", False)),
        "fail_on_quota_errors": bool(extra.get("fail_on_quota_errors", False)),
        "recursive_symlinks": "ignore",
        "filter_rules": None,
        "files": files_total,
        "directories": int(stats.get("directories", 0)),
        "symlinks": 0,
        "files_skipped": int(stats.get("files_skipped", 0)),
        "files_transferred": int(stats.get("files_transferred", 0)),
        "bytes_transferred": bytes_transferred,
        "bytes_checksummed": int(stats.get("bytes_checksummed", 0)),
        "effective_bytes_per_second": (
            int(bytes_transferred / duration) if duration is not None else 0
        ),
        "subtasks_total": int(stats.get("subtasks", 0)),
        "subtasks_succeeded": int(stats.get("subtasks", 0)) if status == "SUCCEEDED" else 0,
        "subtasks_failed": 1 if status == "FAILED" else 0,
        "subtasks_pending": 0 if status in FINAL_STATUSES else int(stats.get("subtasks", 0)),
        "subtasks_retrying": 0,
        "subtasks_canceled": 0,
        "subtasks_expired": 0,
        "subtasks_skipped_errors": 0,
        "faults": 0,
        "fatal_error": extra.get("fatal_error"),
        "is_ok": True if status == "ACTIVE" else None,
        "is_paused": False,
        "history_deleted": history_deleted(row, now),
        "canceled_by_admin": None,
        "canceled_by_admin_message": None,
        "nice_status": "Queued" if queued else ("OK" if status == "ACTIVE" else None),
        "nice_status_details": None,
        "nice_status_expires_in": None,
        "nice_status_short_description": "Queued" if queued else None,
    }


def _task_row(conn: sqlite3.Connection, task_id: str) -> sqlite3.Row:
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM tasks WHERE task_id = ?", (task_id,)
    ).fetchone()
    if row is None:
        raise ApiError(404, "TaskNotFound", f"Task '{task_id}' not found")
    return row


# --- scheduling -----------------------------------------------------------------------


def _start_or_queue(
    conn: sqlite3.Connection, task_id: str, owner: str, kind: str, now: float
) -> None:
    cfg = settings.load(conn)
    (running,) = conn.execute(
        "SELECT COUNT(*) FROM tasks WHERE owner_id = ? AND type = ? AND status = 'ACTIVE'"
        " AND started_at IS NOT NULL",
        (owner, kind),
    ).fetchone()
    if running < cfg.max_active_tasks:
        conn.execute(
            "UPDATE tasks SET started_at = ?, due_at = ? WHERE task_id = ?",
            (now, now + cfg.task_seconds, task_id),
        )


def settle(conn: sqlite3.Connection, now: float) -> None:
    """Complete every task due by ``now`` in due order, starting queued ones as slots free."""
    while True:
        row = conn.execute(
            "SELECT * FROM tasks WHERE status = 'ACTIVE' AND started_at IS NOT NULL"
            " AND due_at <= ? ORDER BY due_at, seq LIMIT 1",
            (now,),
        ).fetchone()
        if row is None:
            return
        at = float(row["due_at"])
        _complete(conn, row, at)
        waiting = conn.execute(
            "SELECT task_id FROM tasks WHERE owner_id = ? AND type = ? AND status = 'ACTIVE'"
            " AND started_at IS NULL ORDER BY seq LIMIT 1",
            (row["owner_id"], row["type"]),
        ).fetchone()
        if waiting is not None:
            _start_or_queue(
                conn, str(waiting["task_id"]), str(row["owner_id"]), str(row["type"]), at
            )


def _complete(conn: sqlite3.Connection, row: sqlite3.Row, at: float) -> None:
    extra: dict[str, Any] = json.loads(row["doc"])
    items: list[dict[str, Any]] = json.loads(row["items"])
    copied: list[CopiedFile] = []
    try:
        if row["type"] == "TRANSFER":
            stats, copied = _run_transfer(conn, row, items, extra, at)
        else:
            stats = _run_delete(conn, row, items, extra)
        status = "SUCCEEDED"
    except TaskFailure as failure:
        status = "FAILED"
        stats = {"subtasks": len(items)}
        extra["fatal_error"] = {"code": failure.code, "description": failure.description}
    extra["stats"] = stats
    conn.execute(
        "UPDATE tasks SET status = ?, completion_time = ?, doc = ? WHERE task_id = ?",
        (status, at, json.dumps(extra), row["task_id"]),
    )
    _record_successes(conn, str(row["task_id"]), copied)


def _record_successes(conn: sqlite3.Connection, task_id: str, copied: Iterable[CopiedFile]) -> None:
    conn.executemany(
        "INSERT INTO successful_transfers (task_id, seq, source_path, destination_path, size)"
        " VALUES (?, ?, ?, ?, ?)",
        [
            (task_id, index, item.source_path, item.destination_path, item.size)
            for index, item in enumerate(copied)
        ],
    )


def _require_access(
    conn: sqlite3.Connection, collection_id: str, owner: str, path: str, *, need: str, at: float
) -> None:
    if find_collection(conn, collection_id) is None:
        raise TaskFailure("ENDPOINT_NOT_FOUND", f"Collection {collection_id} no longer exists")
    have = effective_permission(conn, collection_id, owner, path, at)
    if have is None or (need == "rw" and have != "rw"):
        raise TaskFailure(
            "PERMISSION_DENIED", f"Permission denied: '{need}' needed on {collection_id}:{path}"
        )


def _run_transfer(
    conn: sqlite3.Connection,
    row: sqlite3.Row,
    items: list[dict[str, Any]],
    extra: dict[str, Any],
    at: float,
) -> tuple[dict[str, Any], list[CopiedFile]]:
    src, dst, owner = (
        str(row["source_endpoint_id"]),
        str(row["destination_endpoint_id"]),
        str(row["owner_id"]),
    )
    plan: list[tuple[str, str, int, str | None, str]] = []  # kind, source, size, sum, target
    for item in items:
        source, target = str(item["source_path"]), str(item["destination_path"])
        _require_access(conn, src, owner, source, need="r", at=at)
        _require_access(conn, dst, owner, target, need="rw", at=at)
        if not transfer_fs.exists(conn, src, source):
            raise TaskFailure("FILE_NOT_FOUND", f"No such file or directory: {src}:{source}")
        if transfer_fs.is_dir(conn, src, source):
            if not item.get("recursive"):
                raise TaskFailure("IS_A_DIRECTORY", f"{source} is a directory; use recursive")
            plan.append(("dir", source, 0, None, target))
            base = len(source.rstrip("/"))
            for entry in transfer_fs.subtree(conn, src, source):
                path = str(entry["path"])
                if path == source:
                    continue
                plan.append(
                    (
                        str(entry["type"]),
                        path,
                        int(entry["size"]),
                        entry["checksum"],
                        target.rstrip("/") + path[base:],
                    )
                )
        else:
            single = transfer_fs.entry(conn, src, source)
            assert single is not None
            plan.append(("file", source, int(single["size"]), single["checksum"], target))
    sync_level = extra.get("sync_level")
    verify = bool(extra.get("verify_checksum"))
    copied: list[CopiedFile] = []
    skipped = checksummed = directories = 0
    for kind, source_path, size, checksum, target in plan:
        if kind == "dir":
            directories += 1
            transfer_fs.make_dirs(conn, dst, target, now=at)
            continue
        if verify or sync_level == 3:
            checksummed += size
        if _in_sync(transfer_fs.entry(conn, dst, target), size, checksum, sync_level):
            skipped += 1
            continue
        transfer_fs.put_file(conn, dst, target, size=size, checksum=checksum, now=at)
        copied.append(CopiedFile(source_path, target, size))
    stats = {
        "files": len(copied) + skipped,
        "directories": directories,
        "files_transferred": len(copied),
        "files_skipped": skipped,
        "bytes_transferred": sum(item.size for item in copied),
        "bytes_checksummed": checksummed,
        "subtasks": len(copied) + skipped + directories,
    }
    return stats, copied


def _in_sync(existing: sqlite3.Row | None, size: int, checksum: str | None, level: Any) -> bool:
    if existing is None or existing["type"] != "file" or level is None:
        return False
    if level == 0:
        return True
    if level in (1, 2):
        return bool(existing["size"] == size)
    return bool(existing["checksum"] == checksum and existing["size"] == size)


def _run_delete(
    conn: sqlite3.Connection, row: sqlite3.Row, items: list[dict[str, Any]], extra: dict[str, Any]
) -> dict[str, Any]:
    endpoint, owner = str(row["source_endpoint_id"]), str(row["owner_id"])
    at = float(row["due_at"])
    recursive = bool(extra.get("recursive"))
    ignore_missing = bool(extra.get("ignore_missing"))
    targets: list[str] = []
    for item in items:
        path = str(item["path"])
        _require_access(conn, endpoint, owner, path, need="rw", at=at)
        if not transfer_fs.exists(conn, endpoint, path):
            if ignore_missing:
                continue
            raise TaskFailure("FILE_NOT_FOUND", f"No such file or directory: {endpoint}:{path}")
        non_empty_dir = transfer_fs.is_dir(conn, endpoint, path) and transfer_fs.children(
            conn, endpoint, path
        )
        if non_empty_dir and not recursive:
            raise TaskFailure("DIRECTORY_NOT_EMPTY", f"{path} is a non-empty directory")
        targets.append(path)
    files = directories = 0
    for path in targets:
        for entry in transfer_fs.subtree(conn, endpoint, path):
            if entry["type"] == "file":
                files += 1
            else:
                directories += 1
        transfer_fs.delete_tree(conn, endpoint, path)
    return {"files": files, "directories": directories, "subtasks": files + directories}


# --- submission -----------------------------------------------------------------------


def get_submission_id(req: Request) -> Response:
    caller = req.require_caller()
    value = str(uuid.uuid4())
    req.conn.execute(
        "INSERT INTO submission_ids (id, issued_to, issued_at) VALUES (?, ?, ?)",
        (value, caller.identity_id, req.now),
    )
    return ok({"value": value})


def _submission_result(
    req: Request, data_type: str, row: sqlite3.Row, *, duplicate: bool
) -> Response:
    kind = "transfer" if data_type == "transfer_result" else "delete"
    task_id = str(row["task_id"])
    return ok(
        {
            "DATA_TYPE": data_type,
            "code": "Duplicate" if duplicate else "Accepted",
            "message": (
                f"A {kind} with this submission id was already accepted"
                if duplicate
                else f"The {kind} has been accepted and a task has been created and queued"
                " for execution"
            ),
            "request_id": req.request_id,
            "resource": req.resource(),
            "submission_id": row["submission_id"],
            "task_id": task_id,
            "task_link": {
                "DATA_TYPE": "link",
                "href": f"/v0.10/task/{task_id}?format=json",
                "rel": "related",
                "resource": "task",
                "title": "related task",
            },
        },
        status=200 if duplicate else 202,
    )


def _check_label(label: Any) -> str | None:
    if label is None:
        return None
    if not isinstance(label, str) or len(label) > 128 or label != label.strip() or "\n" in label:
        raise ApiError(400, "ClientError.BadRequest", "label must be at most 128 characters")
    return label


def _existing_submission(req: Request, body: dict[str, Any]) -> tuple[str, sqlite3.Row | None]:
    submission_id = body.get("submission_id")
    if not isinstance(submission_id, str) or not submission_id:
        raise ApiError(400, "ClientError.BadRequest", "submission_id is required")
    row: sqlite3.Row | None = req.conn.execute(
        "SELECT * FROM tasks WHERE submission_id = ?", (submission_id,)
    ).fetchone()
    return submission_id, row


def _insert_task(
    req: Request,
    caller: Caller,
    *,
    kind: str,
    submission_id: str,
    source: str | None,
    destination: str | None,
    items: list[dict[str, Any]],
    extra: dict[str, Any],
) -> sqlite3.Row:
    task_id = str(uuid.uuid4())
    req.conn.execute(
        "INSERT INTO tasks (task_id, submission_id, type, owner_id, status, source_endpoint_id,"
        " destination_endpoint_id, request_time, items, doc) VALUES (?, ?, ?, ?, 'ACTIVE', ?, ?,"
        " ?, ?, ?)",
        (
            task_id,
            submission_id,
            kind,
            caller.identity_id,
            source,
            destination,
            req.now,
            json.dumps(items),
            json.dumps(extra),
        ),
    )
    _start_or_queue(req.conn, task_id, caller.identity_id, kind, req.now)
    return _task_row(req.conn, task_id)


def submit_transfer(req: Request) -> Response:
    caller = req.require_caller()
    body = req.json_object()
    if body.get("DATA_TYPE", "transfer") != "transfer":
        raise ApiError(400, "ClientError.BadRequest", "DATA_TYPE must be 'transfer'")
    submission_id, existing = _existing_submission(req, body)
    if existing is not None:
        return _submission_result(req, "transfer_result", existing, duplicate=True)
    source = str(collection_row(req.conn, str(body.get("source_endpoint")))["id"])
    destination = str(collection_row(req.conn, str(body.get("destination_endpoint")))["id"])
    raw_items = body.get("DATA")
    if not isinstance(raw_items, list) or not raw_items:
        raise ApiError(
            400,
            "ClientError.BadRequest.NoTransferItems",
            "A transfer requires at least one item",
        )
    items: list[dict[str, Any]] = []
    for raw in raw_items:
        if not isinstance(raw, dict) or raw.get("DATA_TYPE", "transfer_item") != "transfer_item":
            raise ApiError(
                400, "ClientError.BadRequest", "DATA items must be transfer_item objects"
            )
        items.append(
            {
                "source_path": transfer_fs.normalize(raw.get("source_path")),
                "destination_path": transfer_fs.normalize(raw.get("destination_path")),
                "recursive": bool(raw.get("recursive")),
            }
        )
    sync_level = body.get("sync_level")
    if isinstance(sync_level, str):
        sync_level = _SYNC_LEVELS.get(sync_level)
    if sync_level not in (None, 0, 1, 2, 3):
        raise ApiError(400, "ClientError.BadRequest", "sync_level must be 0-3")
    extra = {
        "label": _check_label(body.get("label")),
        "sync_level": sync_level,
        "deadline": _optional_time(body.get("deadline")),
        **{
            flag: bool(body.get(flag))
            for flag in (
                "verify_checksum",
                "encrypt_data",
                "preserve_timestamp",
                "delete_destination_extra",
                "skip_source_errors",
                "fail_on_quota_errors",
            )
        },
    }
    row = _insert_task(
        req,
        caller,
        kind="TRANSFER",
        submission_id=submission_id,
        source=source,
        destination=destination,
        items=items,
        extra=extra,
    )
    return _submission_result(req, "transfer_result", row, duplicate=False)


def submit_delete(req: Request) -> Response:
    caller = req.require_caller()
    body = req.json_object()
    if body.get("DATA_TYPE", "delete") != "delete":
        raise ApiError(400, "ClientError.BadRequest", "DATA_TYPE must be 'delete'")
    submission_id, existing = _existing_submission(req, body)
    if existing is not None:
        return _submission_result(req, "delete_result", existing, duplicate=True)
    endpoint = str(collection_row(req.conn, str(body.get("endpoint")))["id"])
    raw_items = body.get("DATA")
    if not isinstance(raw_items, list) or not raw_items:
        raise ApiError(
            400, "ClientError.BadRequest.NoDeleteItems", "A delete requires at least one item"
        )
    items: list[dict[str, Any]] = []
    for raw in raw_items:
        if not isinstance(raw, dict) or raw.get("DATA_TYPE", "delete_item") != "delete_item":
            raise ApiError(400, "ClientError.BadRequest", "DATA items must be delete_item objects")
        items.append({"path": transfer_fs.normalize(raw.get("path"))})
    extra = {
        "label": _check_label(body.get("label")),
        "deadline": _optional_time(body.get("deadline")),
        "recursive": bool(body.get("recursive")),
        "ignore_missing": bool(body.get("ignore_missing")),
    }
    row = _insert_task(
        req,
        caller,
        kind="DELETE",
        submission_id=submission_id,
        source=endpoint,
        destination=None,
        items=items,
        extra=extra,
    )
    return _submission_result(req, "delete_result", row, duplicate=False)


def _optional_time(value: Any) -> float | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ApiError(400, "ClientError.BadRequest", "deadline must be an ISO 8601 string")
    try:
        return clock.parse_iso(value)
    except ValueError as err:
        raise ApiError(400, "ClientError.BadRequest", f"Invalid deadline {value!r}") from err


# --- the caller's own tasks -----------------------------------------------------------


def _own_task(req: Request) -> sqlite3.Row:
    caller = req.require_caller()
    row = _task_row(req.conn, req.params["task_id"])
    if row["owner_id"] != caller.identity_id:
        raise ApiError(403, "PermissionDenied", "The task belongs to another identity")
    return row


def get_task(req: Request) -> Response:
    return ok(task_doc(req.conn, _own_task(req), now=req.now))


def _int_query(req: Request, name: str, default: int, maximum: int) -> int:
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
    limit = _int_query(req, "limit", 10, MAX_PAGE)
    offset = _int_query(req, "offset", 0, 10**9)
    clauses = _parse_task_filter(req.query.get("filter", ""))
    rows = req.conn.execute(
        "SELECT * FROM tasks WHERE owner_id = ? ORDER BY request_time DESC, seq DESC",
        (caller.identity_id,),
    ).fetchall()
    docs = [task_doc(req.conn, row, now=req.now) for row in rows]
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


def _successful_transfers(req: Request, row: sqlite3.Row) -> Response:
    marker = _int_query(req, "marker", 0, 10**12)
    limit = _int_query(req, "limit", MAX_PAGE, MAX_PAGE) or MAX_PAGE
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
    return ok(
        {
            "DATA_TYPE": "successful_transfers",
            "marker": marker,
            "next_marker": int(rows[limit]["seq"]) if more else None,
            "DATA": [
                {
                    "DATA_TYPE": "successful_transfer",
                    "source_path": item["source_path"],
                    "destination_path": item["destination_path"],
                    "size": item["size"],
                }
                for item in page
            ],
        }
    )


def own_successful_transfers(req: Request) -> Response:
    return _successful_transfers(req, _own_task(req))


# --- activity monitoring (endpoint_manager) -------------------------------------------


def _monitored_task(req: Request) -> sqlite3.Row:
    caller = req.require_caller()
    row = _task_row(req.conn, req.params["task_id"])
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
    return _successful_transfers(req, _monitored_task(req))


def _completion_window(raw: str) -> tuple[float | None, float | None]:
    since_raw, sep, until_raw = raw.partition(",")
    if not sep or (not since_raw.strip() and not until_raw.strip()):
        raise ApiError(
            400,
            "ClientError.BadRequest",
            "filter_completion_time must be 'start,end' (one may be blank)",
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
    limit = _int_query(req, "limit", MAX_PAGE, MAX_PAGE) or MAX_PAGE

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
    rows = _filter_rows(rows, query, statuses)
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
    rows: list[sqlite3.Row], query: dict[str, str], statuses: set[str]
) -> list[sqlite3.Row]:
    if statuses:
        rows = [row for row in rows if row["status"] in statuses]
    owner = query.get("filter_owner_id")
    if owner:
        rows = [row for row in rows if row["owner_id"] == owner]
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


# --- simulated downloads (control plane) ----------------------------------------------


def personal_endpoint_for(identity_id: str) -> str:
    return str(uuid.uuid5(_PERSONAL_NAMESPACE, identity_id))


def record_download(
    conn: sqlite3.Connection,
    *,
    now: float,
    owner_id: str,
    owner_username: str,
    collection_id: str,
    path: str,
    files: list[str] | None = None,
    count: int | None = None,
) -> dict[str, Any]:
    """A SUCCEEDED transfer task from ``collection_id`` to the user's personal endpoint,
    with a successful-transfer row for each file under ``path`` (or the chosen subset)."""
    canonical = transfer_fs.normalize(path)
    if not transfer_fs.exists(conn, collection_id, canonical):
        raise ValueError(f"{canonical} does not exist on collection {collection_id}")
    available = [
        str(row["path"]) for row in transfer_fs.files_under(conn, collection_id, canonical)
    ]
    entry = transfer_fs.entry(conn, collection_id, canonical)
    if entry is not None and entry["type"] == "file":
        available = [canonical]
    chosen = available
    if files is not None:
        wanted = {transfer_fs.normalize(item) for item in files}
        unknown = wanted - set(available)
        if unknown:
            raise ValueError(f"not files under {canonical}: {', '.join(sorted(unknown))}")
        chosen = [item for item in available if item in wanted]
    if count is not None:
        chosen = chosen[:count]
    sizes = {
        str(row["path"]): int(row["size"])
        for row in transfer_fs.files_under(conn, collection_id, canonical)
    }
    home = f"/~/downloads/{transfer_fs.name_of(canonical)}"
    copied = [
        CopiedFile(item, home + item[len(canonical) :] if item != canonical else home, sizes[item])
        for item in chosen
    ]
    task_id = str(uuid.uuid4())
    is_dir = entry is None or entry["type"] == "dir"
    extra = {
        "label": f"download of {canonical}",
        "sync_level": None,
        "verify_checksum": True,
        "destination_display_name": f"Personal endpoint of {owner_username}",
        "stats": {
            "files": len(copied),
            "directories": 1 if is_dir else 0,
            "files_transferred": len(copied),
            "files_skipped": 0,
            "bytes_transferred": sum(item.size for item in copied),
            "bytes_checksummed": sum(item.size for item in copied),
            "subtasks": len(copied),
        },
    }
    items = [{"source_path": canonical, "destination_path": home, "recursive": is_dir}]
    conn.execute(
        "INSERT INTO tasks (task_id, submission_id, type, owner_id, status, source_endpoint_id,"
        " destination_endpoint_id, request_time, started_at, due_at, completion_time, items, doc)"
        " VALUES (?, ?, 'TRANSFER', ?, 'SUCCEEDED', ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            task_id,
            str(uuid.uuid4()),
            owner_id,
            collection_id,
            personal_endpoint_for(owner_id),
            now - 1,
            now - 1,
            now,
            now,
            json.dumps(items),
            json.dumps(extra),
        ),
    )
    _record_successes(conn, task_id, copied)
    return task_doc(conn, _task_row(conn, task_id), now=now)


_TASK = "(?P<task_id>[^/]+)"

ROUTES: list[Route] = [
    route(
        "GET",
        "/v0.10/submission_id",
        get_submission_id,
        service="transfer",
        resource_server=TRANSFER_RS,
    ),
    route(
        "POST", "/v0.10/transfer", submit_transfer, service="transfer", resource_server=TRANSFER_RS
    ),
    route("POST", "/v0.10/delete", submit_delete, service="transfer", resource_server=TRANSFER_RS),
    route("GET", "/v0.10/task_list", task_list, service="transfer", resource_server=TRANSFER_RS),
    route("GET", f"/v0.10/task/{_TASK}", get_task, service="transfer", resource_server=TRANSFER_RS),
    route(
        "GET",
        f"/v0.10/task/{_TASK}/successful_transfers",
        own_successful_transfers,
        service="transfer",
        resource_server=TRANSFER_RS,
    ),
    route(
        "GET",
        "/v0.10/endpoint_manager/task_list",
        manager_task_list,
        service="transfer",
        resource_server=TRANSFER_RS,
    ),
    route(
        "GET",
        f"/v0.10/endpoint_manager/task/{_TASK}",
        manager_get_task,
        service="transfer",
        resource_server=TRANSFER_RS,
    ),
    route(
        "GET",
        f"/v0.10/endpoint_manager/task/{_TASK}/successful_transfers",
        manager_successful_transfers,
        service="transfer",
        resource_server=TRANSFER_RS,
    ),
]
