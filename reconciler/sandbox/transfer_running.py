"""What a transfer or delete task does to the world when it completes.

A transfer copies file entries (skipping those already in sync at the task's
``sync_level``); a delete removes subtrees. Access is checked again at completion time.
Any problem (missing source, lost permission, vanished collection) raises
``TaskFailure`` before anything changes, so a FAILED task has no effect. This module
must not decide when a task runs or write the task row; ``transfer_scheduling`` does.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from reconciler.sandbox import transfer_fs, transfer_mapped
from reconciler.sandbox.transfer_endpoints import effective_permission, find_collection
from reconciler.sandbox.transfer_tasks import CopiedFile


class TaskFailure(Exception):
    """Raised while running a task; the task ends FAILED with this fatal_error."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def _require_access(
    conn: sqlite3.Connection, collection_id: str, owner: str, path: str, *, need: str, at: float
) -> None:
    if find_collection(conn, collection_id) is None:
        raise TaskFailure("ENDPOINT_NOT_FOUND", f"Collection {collection_id} no longer exists")
    have = effective_permission(conn, collection_id, owner, path, at)
    if have is None and transfer_mapped.kind_of(conn, collection_id).mapped:
        raise TaskFailure(
            "PERMISSION_DENIED",
            f"Identity mapping failed: {owner} maps to no local account on mapped "
            f"collection {collection_id}",
        )
    if have is None or (need == "rw" and have != "rw"):
        raise TaskFailure(
            "PERMISSION_DENIED", f"Permission denied: '{need}' needed on {collection_id}:{path}"
        )


def run_transfer(
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


def run_delete(
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
