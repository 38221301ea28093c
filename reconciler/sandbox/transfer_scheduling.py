"""When transfer tasks start and finish, on sandbox time, evaluated lazily.

``settle`` (called at the start of every request) completes every task whose due time
has passed, in due-time order, and starts queued ones. A task is due ``task_seconds``
after it starts; at most ``max_active_tasks`` transfer and as many delete tasks run per
user, the rest wait with status ``ACTIVE`` and nice_status ``Queued``. Completing a task
records its outcome; what it does to the files is ``transfer_running``'s job. This
module must not parse requests or render documents.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from reconciler.sandbox import settings
from reconciler.sandbox.transfer_running import TaskFailure, run_delete, run_transfer
from reconciler.sandbox.transfer_tasks import CopiedFile, record_successes


def start_or_queue(
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
            start_or_queue(
                conn, str(waiting["task_id"]), str(row["owner_id"]), str(row["type"]), at
            )


def _complete(conn: sqlite3.Connection, row: sqlite3.Row, at: float) -> None:
    extra: dict[str, Any] = json.loads(row["doc"])
    items: list[dict[str, Any]] = json.loads(row["items"])
    copied: list[CopiedFile] = []
    try:
        if row["type"] == "TRANSFER":
            stats, copied = run_transfer(conn, row, items, extra, at)
        else:
            stats = run_delete(conn, row, items, extra)
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
    record_successes(conn, str(row["task_id"]), copied)
