"""Each collection's virtual directory tree, and the ls / stat / mkdir operations.

Entries are rows ``(collection, path, type, size, checksum, mtime)`` with canonical paths
(``/a/b``, no trailing slash; ``/`` always exists). Files carry a size and a checksum so
transfers can sync by checksum and downloads can be recorded; neither ls nor stat shows
the checksum, as Globus does not. Data-access checks use the caller's roles and rules.
"""

from __future__ import annotations

import posixpath
import sqlite3
from typing import Any

from reconciler.sandbox import clock
from reconciler.sandbox.routing import (
    TRANSFER_RS,
    ApiError,
    Request,
    Response,
    Route,
    ok,
    route,
)
from reconciler.sandbox.transfer_endpoints import collection_row, require_data_access

ROOT = "/"
HOME = "/~/"


def normalize(raw: Any) -> str:
    """Canonical form of a path given to a file operation; 400 if it is malformed."""
    if not isinstance(raw, str) or not raw.strip():
        raise ApiError(400, "ClientError.BadRequest", "A path is required")
    path = raw.strip()
    if path.startswith("~"):
        path = "/" + path[1:]
    elif path == "/~" or path.startswith("/~/"):
        path = path[2:] or ROOT
    if not path.startswith("/"):
        raise ApiError(400, "ClientError.BadRequest", f"Path must be absolute: {raw!r}")
    parts = [part for part in path.split("/") if part]
    if any(part in (".", "..") for part in parts):
        raise ApiError(400, "ClientError.BadRequest", f"Path may not contain '.' or '..': {raw!r}")
    return "/" + "/".join(parts)


def parent_of(path: str) -> str:
    return posixpath.dirname(path) if path != ROOT else ROOT


def name_of(path: str) -> str:
    return posixpath.basename(path) or "/"


def entry(conn: sqlite3.Connection, collection_id: str, path: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM fs_entries WHERE collection_id = ? AND path = ?", (collection_id, path)
    ).fetchone()
    return row


def is_dir(conn: sqlite3.Connection, collection_id: str, path: str) -> bool:
    if path == ROOT:
        return True
    row = entry(conn, collection_id, path)
    return row is not None and row["type"] == "dir"


def exists(conn: sqlite3.Connection, collection_id: str, path: str) -> bool:
    return path == ROOT or entry(conn, collection_id, path) is not None


def make_dirs(conn: sqlite3.Connection, collection_id: str, path: str, *, now: float) -> None:
    """``mkdir -p``: create ``path`` and its missing parents (files in the way are replaced)."""
    if path == ROOT:
        return
    make_dirs(conn, collection_id, parent_of(path), now=now)
    current = entry(conn, collection_id, path)
    if current is not None and current["type"] == "dir":
        return
    conn.execute(
        "INSERT OR REPLACE INTO fs_entries (collection_id, path, type, size, checksum, mtime)"
        " VALUES (?, ?, 'dir', 0, NULL, ?)",
        (collection_id, path, now),
    )


def put_file(
    conn: sqlite3.Connection,
    collection_id: str,
    path: str,
    *,
    size: int,
    checksum: str | None,
    now: float,
) -> None:
    if path == ROOT:
        raise ValueError("a file cannot be the root directory")
    make_dirs(conn, collection_id, parent_of(path), now=now)
    conn.execute(
        "INSERT OR REPLACE INTO fs_entries (collection_id, path, type, size, checksum, mtime)"
        " VALUES (?, ?, 'file', ?, ?, ?)",
        (collection_id, path, size, checksum, now),
    )


def subtree(conn: sqlite3.Connection, collection_id: str, path: str) -> list[sqlite3.Row]:
    """The entry at ``path`` (unless root) and everything below it, sorted by path."""
    if path == ROOT:
        rows = conn.execute(
            "SELECT * FROM fs_entries WHERE collection_id = ? ORDER BY path", (collection_id,)
        )
        return list(rows)
    prefix = path + "/"
    rows = conn.execute(
        "SELECT * FROM fs_entries WHERE collection_id = ? AND (path = ? OR substr(path, 1, ?) = ?)"
        " ORDER BY path",
        (collection_id, path, len(prefix), prefix),
    )
    return list(rows)


def files_under(conn: sqlite3.Connection, collection_id: str, path: str) -> list[sqlite3.Row]:
    return [row for row in subtree(conn, collection_id, path) if row["type"] == "file"]


def delete_tree(conn: sqlite3.Connection, collection_id: str, path: str) -> int:
    """Remove ``path`` and everything under it; the root itself stays. Returns the count."""
    doomed = [str(row["path"]) for row in subtree(conn, collection_id, path)]
    conn.executemany(
        "DELETE FROM fs_entries WHERE collection_id = ? AND path = ?",
        [(collection_id, doomed_path) for doomed_path in doomed],
    )
    return len(doomed)


def children(conn: sqlite3.Connection, collection_id: str, path: str) -> list[sqlite3.Row]:
    return [
        row
        for row in subtree(conn, collection_id, path)
        if row["path"] != path and parent_of(str(row["path"])) == path
    ]


def file_doc(row: sqlite3.Row | None, *, path: str, now: float) -> dict[str, Any]:
    kind = "dir" if row is None else str(row["type"])
    return {
        "DATA_TYPE": "file",
        "name": name_of(path),
        "type": kind,
        "size": 0 if row is None else int(row["size"]),
        "last_modified": clock.to_listing_time(now if row is None else float(row["mtime"])),
        "permissions": "0755" if kind == "dir" else "0644",
        "user": "sandbox",
        "group": "sandbox",
        "link_target": None,
        "link_group": None,
        "link_last_modified": None,
        "link_size": None,
        "link_user": None,
    }


def _not_found(path: str, *, code: str = "ClientError.NotFound") -> ApiError:
    return ApiError(404, code, f"Path not found: '{path}'. No such file or directory")


# --- routes ---------------------------------------------------------------------------


def mkdir(req: Request) -> Response:
    caller = req.require_caller()
    collection_id = str(collection_row(req.conn, req.params["endpoint_id"])["id"])
    body = req.json_object()
    path = normalize(body.get("path"))
    require_data_access(req.conn, collection_id, caller, path, need="rw", now=req.now)
    if exists(req.conn, collection_id, path):
        raise ApiError(
            502,
            "ExternalError.MkdirFailed.Exists",
            f"Directory '{path}/' already exists on collection {collection_id}",
        )
    parent = parent_of(path)
    if not exists(req.conn, collection_id, parent):
        raise _not_found(parent)
    if not is_dir(req.conn, collection_id, parent):
        raise ApiError(502, "ExternalError.MkdirFailed", f"'{parent}' is not a directory")
    make_dirs(req.conn, collection_id, path, now=req.now)
    return ok(
        {
            "DATA_TYPE": "mkdir_result",
            "code": "DirectoryCreated",
            "message": "The directory was created successfully",
            "request_id": req.request_id,
            "resource": req.resource(),
        }
    )


def ls(req: Request) -> Response:
    caller = req.require_caller()
    collection_id = str(collection_row(req.conn, req.params["endpoint_id"])["id"])
    # Without a path Globus lists the default directory, `/~/`, which on a guest
    # collection is its root.
    asked = req.query.get("path") or HOME
    path = normalize(asked)
    require_data_access(req.conn, collection_id, caller, path, need="r", now=req.now)
    if not exists(req.conn, collection_id, path):
        raise _not_found(path)
    if not is_dir(req.conn, collection_id, path):
        raise ApiError(
            502, "ExternalError.DirListingFailed.NotDirectory", f"'{path}' is not a directory"
        )
    show_hidden = req.query.get("show_hidden", "true").lower() not in ("false", "0")
    docs = [
        file_doc(row, path=str(row["path"]), now=req.now)
        for row in children(req.conn, collection_id, path)
    ]
    if not show_hidden:
        docs = [doc for doc in docs if not str(doc["name"]).startswith(".")]
    total = len(docs)
    offset = _int_param(req, "offset", 0)
    limit = _int_param(req, "limit", 100000)
    page = docs[offset : offset + limit]
    return ok(
        {
            "DATA_TYPE": "file_list",
            "DATA": page,
            "path": HOME if asked == HOME else (path if path == ROOT else path + "/"),
            "absolute_path": path if path == ROOT else path + "/",
            "endpoint": collection_id,
            "rename_supported": True,
            "symlink_supported": False,
            "length": len(page),
            "total": total,
        }
    )


def stat(req: Request) -> Response:
    caller = req.require_caller()
    collection_id = str(collection_row(req.conn, req.params["endpoint_id"])["id"])
    path = normalize(req.query.get("path"))
    require_data_access(req.conn, collection_id, caller, path, need="r", now=req.now)
    if not exists(req.conn, collection_id, path):
        raise _not_found(path, code="NotFound")
    return ok(file_doc(entry(req.conn, collection_id, path), path=path, now=req.now))


def _int_param(req: Request, name: str, default: int) -> int:
    raw = req.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as err:
        raise ApiError(400, "ClientError.BadRequest", f"{name} must be an integer") from err
    if value < 0:
        raise ApiError(400, "ClientError.BadRequest", f"{name} must not be negative")
    return value


_OP = "/v0.10/operation/endpoint/(?P<endpoint_id>[^/]+)"

ROUTES: list[Route] = [
    route("POST", f"{_OP}/mkdir", mkdir, service="transfer", resource_server=TRANSFER_RS),
    route("GET", f"{_OP}/ls", ls, service="transfer", resource_server=TRANSFER_RS),
    route("GET", f"{_OP}/stat", stat, service="transfer", resource_server=TRANSFER_RS),
]
