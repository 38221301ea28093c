"""Simulated downloads (control plane only): a user fetched files to a personal endpoint.

``record_download`` writes a task that is already SUCCEEDED, from a collection to the
user's (derived) personal endpoint, with a successful-transfer row per chosen file, so
activity monitoring sees what a real download would leave. It changes no files and
must not be reachable from the emulated Globus APIs.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from typing import Any

from reconciler.sandbox import transfer_fs
from reconciler.sandbox.transfer_tasks import CopiedFile, record_successes, task_doc, task_row

_PERSONAL_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://reconciler.invalid/sandbox/personal")


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
    record_successes(conn, task_id, copied)
    return task_doc(conn, task_row(conn, task_id), now=now)
