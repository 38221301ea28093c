"""Transfer tasks as records: the task row, its Globus task document, and the per-file
history (successful transfers) a completed task leaves behind.

Every other task module builds on this one: ``transfer_scheduling`` advances tasks,
``transfer_running`` applies their effects, ``transfer_submission`` creates them,
``transfer_task_lists`` and ``transfer_monitoring`` serve them, ``downloads`` fabricates
finished ones. Per-file history is answered for 30 sandbox days after a task completes;
after that the task says ``history_deleted``. This module only reads and records; it
must not decide when a task runs, change files, or serve routes.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from reconciler.sandbox import clock
from reconciler.sandbox.routing import ApiError
from reconciler.sandbox.transfer_endpoints import find_collection, host_path_for

FINAL_STATUSES = ("SUCCEEDED", "FAILED")
TASK_STATUSES = ("ACTIVE", "INACTIVE", "SUCCEEDED", "FAILED")
HISTORY_SECONDS = 30 * 86400


@dataclass(frozen=True, slots=True)
class CopiedFile:
    source_path: str
    destination_path: str
    size: int


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


def _host_fields(conn: sqlite3.Connection, endpoint_id: str | None, side: str) -> dict[str, Any]:
    """``<side>_host_*`` of a task document: the mapped collection beneath a guest
    collection and the guest root's path on it (None for a personal endpoint)."""
    row = None if endpoint_id is None else find_collection(conn, endpoint_id)
    host = None if row is None else str(row["host_endpoint_id"])
    return {
        f"{side}_host_endpoint": None if host is None else f"sandbox#{host}",
        f"{side}_host_endpoint_display_name": (
            None if row is None else f"Sandbox mapped collection of {row['display_name']}"
        ),
        f"{side}_host_endpoint_id": host,
        f"{side}_host_path": None if row is None else host_path_for(str(row["id"])),
    }


def task_key(row: sqlite3.Row) -> str:
    """The task's ``key``: ``active,<request time>`` or ``complete,<completion time>``."""
    done = row["completion_time"]
    when = float(done if done is not None else row["request_time"])
    stamp = (
        datetime.fromtimestamp(when, UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
    )
    return f"{'active' if done is None else 'complete'},{stamp}"


def history_deleted(row: sqlite3.Row, now: float) -> bool:
    """Per-file history (successful transfers) is kept 30 days after completion."""
    done = row["completion_time"]
    return done is not None and now - float(done) > HISTORY_SECONDS


MANAGER_ONLY_SUFFIXES = (
    "_host_endpoint",
    "_host_endpoint_display_name",
    "_host_endpoint_id",
    "_host_path",
    "_base_path",
    "_local_user",
    "_local_user_status",
    "_mapped_collection_display_name",
    "_mapped_collection_id",
)
"""Fields only the ``endpoint_manager`` views carry (with ``owner_string`` and
``DATA_TYPE``): the owner's own ``task_list`` and ``get_task`` documents, as captured,
have none of them."""


def owner_task_doc(conn: sqlite3.Connection, row: sqlite3.Row, *, now: float) -> dict[str, Any]:
    """A task as its owner sees it (``GET /task/{id}``, ``GET /task_list``)."""
    return {
        key: value
        for key, value in task_doc(conn, row, now=now).items()
        if key not in ("DATA_TYPE", "owner_string") and not key.endswith(MANAGER_ONLY_SUFFIXES)
    }


def task_doc(conn: sqlite3.Connection, row: sqlite3.Row, *, now: float) -> dict[str, Any]:
    """A task as an activity monitor sees it (the ``endpoint_manager`` views)."""
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
    nice = "Queued" if queued else ("OK" if status == "ACTIVE" else None)
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
        **_host_fields(conn, src, "source"),
        "source_base_path": None,
        "source_local_user": None,
        "source_local_user_status": None,
        "source_mapped_collection_display_name": None,
        "source_mapped_collection_id": None,
        "destination_endpoint": dst if dst is None else f"sandbox#{dst}",
        "destination_endpoint_id": dst,
        "destination_endpoint_display_name": dst_name,
        **_host_fields(conn, dst, "destination"),
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
        "nice_status": nice,
        "nice_status_details": None,
        "nice_status_expires_in": -1 if status == "ACTIVE" else None,
        "nice_status_short_description": nice,
        "key": task_key(row),
    }


def task_row(conn: sqlite3.Connection, task_id: str) -> sqlite3.Row:
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM tasks WHERE task_id = ?", (task_id,)
    ).fetchone()
    if row is None:
        raise ApiError(404, "TaskNotFound", f"Task '{task_id}' not found")
    return row


def record_successes(conn: sqlite3.Connection, task_id: str, copied: Iterable[CopiedFile]) -> None:
    conn.executemany(
        "INSERT INTO successful_transfers (task_id, seq, source_path, destination_path, size)"
        " VALUES (?, ?, ?, ?, ?)",
        [
            (task_id, index, item.source_path, item.destination_path, item.size)
            for index, item in enumerate(copied)
        ],
    )
