"""The control plane: seed, inspect and steer the world, outside every Globus API.

Two layers. ``apply_seed``, ``dump_world``, ``simulate_download`` and friends operate on
an open transaction and are shared by the HTTP routes below and by ``LocalControl``
(which opens the database directly). The routes live under ``/_sandbox/`` and answer
only loopback clients (enforced by the app). Faults and the request log belong to the
running server, so only the HTTP routes offer them. Errors in the input raise
ValueError, answered as 400 ``BadRequest``.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from reconciler.sandbox import auth, clock, groups, settings, store, transfer_fs, transfer_tasks
from reconciler.sandbox.routing import ApiError, Request, Response, Route, ok, route
from reconciler.sandbox.transfer_acl import list_entries
from reconciler.sandbox.transfer_endpoints import (
    COLLECTION_ROLES,
    ensure_collection,
    find_collection,
    grant_role,
)

GROUP_ROLE_KEYS = {"admins": "admin", "managers": "manager", "members": "member"}


def default_checksum(collection_id: str, path: str, size: int) -> str:
    """A stable MD5-shaped checksum for seeded files that did not give one."""
    return hashlib.md5(f"{collection_id}:{path}:{size}".encode(), usedforsecurity=False).hexdigest()


# --- operations on an open transaction ------------------------------------------------


def _require(mapping: dict[str, Any], key: str, what: str) -> Any:
    if key not in mapping or mapping[key] in (None, ""):
        raise ValueError(f"{what} needs {key!r}")
    return mapping[key]


def _as_list(doc: dict[str, Any], key: str) -> list[Any]:
    value = doc.get(key, [])
    if not isinstance(value, list):
        raise ValueError(f"{key!r} must be a list")
    return value


def _identity(conn: sqlite3.Connection, ref: Any, now: float) -> sqlite3.Row:
    if not isinstance(ref, str) or not ref.strip():
        raise ValueError(f"an identity reference must be a username or UUID, not {ref!r}")
    return auth.ensure_identity_ref(conn, ref.strip(), now=now)


def _collection_id(conn: sqlite3.Connection, ref: Any) -> str:
    row = find_collection(conn, str(ref))
    if row is None:
        raise ValueError(f"unknown collection {ref!r}; add it first")
    return str(row["id"])


def _group_id(conn: sqlite3.Connection, ref: Any) -> str:
    text = str(ref)
    row = conn.execute(
        "SELECT id FROM globus_groups WHERE id = ? OR name = ?", (text, text)
    ).fetchone()
    if row is None:
        raise ValueError(f"unknown group {ref!r}; add it first")
    return str(row["id"])


def add_identity(conn: sqlite3.Connection, spec: Any, now: float) -> dict[str, Any]:
    if isinstance(spec, str):
        spec = {"username": spec}
    if not isinstance(spec, dict):
        raise ValueError("an identity is a username or an object with 'username'")
    row = auth.ensure_identity(
        conn,
        str(_require(spec, "username", "an identity")),
        now=now,
        identity_id=spec.get("id"),
        name=spec.get("name"),
        email=spec.get("email"),
        organization=spec.get("organization"),
        status=str(spec.get("status", "used")),
    )
    return auth.identity_doc(row)


def add_client(conn: sqlite3.Connection, spec: dict[str, Any], now: float) -> dict[str, Any]:
    client_id = str(_require(spec, "client_id", "a client"))
    secret = spec.get("secret")
    if secret is not None:
        conn.execute(
            "INSERT INTO clients (client_id, secret) VALUES (?, ?) ON CONFLICT (client_id)"
            " DO UPDATE SET secret = excluded.secret",
            (client_id, str(secret)),
        )
    return auth.identity_doc(auth.ensure_client_identity(conn, client_id, now=now))


def add_collection(conn: sqlite3.Connection, spec: dict[str, Any], now: float) -> dict[str, Any]:
    raw_id = str(_require(spec, "id", "a collection"))
    if not auth.is_uuid(raw_id):
        raise ValueError(f"collection id {raw_id!r} is not a UUID")
    owner = spec.get("owner")
    owner_id = None if owner is None else str(_identity(conn, owner, now)["id"])
    collection_id = ensure_collection(
        conn,
        raw_id,
        display_name=str(spec.get("display_name") or f"Sandbox collection {raw_id[:8]}"),
        now=now,
        owner_id=owner_id,
        subscribed=bool(spec.get("subscribed", True)),
    )
    for root in _as_list(spec, "roots"):
        transfer_fs.make_dirs(conn, collection_id, transfer_fs.normalize(root), now=now)
    return {"id": collection_id}


def add_group(conn: sqlite3.Connection, spec: dict[str, Any], now: float) -> dict[str, Any]:
    group_id = str(_require(spec, "id", "a group"))
    if not auth.is_uuid(group_id):
        raise ValueError(f"group id {group_id!r} is not a UUID")
    existing = conn.execute(
        "SELECT name, description FROM globus_groups WHERE id = ?", (group_id,)
    ).fetchone()
    groups.ensure_group(
        conn,
        group_id,
        name=str(spec.get("name") or (existing["name"] if existing else f"group {group_id[:8]}")),
        description=str(spec.get("description") or (existing["description"] if existing else "")),
        now=now,
    )
    for key, role in GROUP_ROLE_KEYS.items():
        for ref in _as_list(spec, key):
            identity = _identity(conn, ref, now)
            groups.set_membership(
                conn, group_id, str(identity["id"]), role=role, status="active", now=now
            )
    return {"id": group_id}


def add_file(conn: sqlite3.Connection, spec: dict[str, Any], now: float) -> dict[str, Any]:
    collection_id = _collection_id(conn, _require(spec, "collection_id", "a file"))
    path = transfer_fs.normalize(_require(spec, "path", "a file"))
    if spec.get("type") == "dir":
        transfer_fs.make_dirs(conn, collection_id, path, now=now)
        return {"collection_id": collection_id, "path": path, "type": "dir"}
    size = spec.get("size", 0)
    if not isinstance(size, int) or size < 0:
        raise ValueError("a file's size must be a non-negative integer")
    checksum = spec.get("checksum") or default_checksum(collection_id, path, size)
    transfer_fs.put_file(conn, collection_id, path, size=size, checksum=str(checksum), now=now)
    return {"collection_id": collection_id, "path": path, "size": size, "checksum": checksum}


def add_role(conn: sqlite3.Connection, spec: dict[str, Any], now: float) -> dict[str, Any]:
    role = str(_require(spec, "role", "a role"))
    principal = _require(spec, "principal", "a role")
    if "group_id" in spec:
        group_id = _group_id(conn, spec["group_id"])
        if role not in ("admin", "manager", "member"):
            raise ValueError("a group role is admin, manager or member")
        identity = _identity(conn, principal, now)
        groups.set_membership(
            conn, group_id, str(identity["id"]), role=role, status="active", now=now
        )
        return {"group_id": group_id, "identity_id": identity["id"], "role": role}
    collection_id = _collection_id(conn, _require(spec, "collection_id", "a role"))
    if role not in COLLECTION_ROLES:
        raise ValueError(f"a collection role is one of {', '.join(COLLECTION_ROLES)}")
    principal_type = str(spec.get("principal_type", "identity"))
    principal_id = (
        _group_id(conn, principal)
        if principal_type == "group"
        else str(_identity(conn, principal, now)["id"])
    )
    role_id = grant_role(
        conn,
        collection_id,
        principal_type=principal_type,
        principal=principal_id,
        role=role,
        now=now,
    )
    return {
        "collection_id": collection_id,
        "principal": principal_id,
        "role": role,
        "role_id": role_id,
    }


def revoke_role(conn: sqlite3.Connection, spec: dict[str, Any], now: float) -> dict[str, Any]:
    role = str(_require(spec, "role", "a role"))
    principal = _require(spec, "principal", "a role")
    collection_id = _collection_id(conn, _require(spec, "collection_id", "a role"))
    principal_type = str(spec.get("principal_type", "identity"))
    principal_id = (
        _group_id(conn, principal)
        if principal_type == "group"
        else str(_identity(conn, principal, now)["id"])
    )
    removed = conn.execute(
        "DELETE FROM collection_roles WHERE collection_id = ? AND principal_type = ?"
        " AND principal = ? AND role = ?",
        (collection_id, principal_type, principal_id, role),
    ).rowcount
    return {"removed": removed}


_SEED_SECTIONS: tuple[
    tuple[str, Callable[[sqlite3.Connection, Any, float], dict[str, Any]]], ...
] = (
    ("clients", add_client),
    ("identities", add_identity),
    ("collections", add_collection),
    ("groups", add_group),
    ("files", add_file),
    ("roles", add_role),
)


def apply_seed(conn: sqlite3.Connection, doc: dict[str, Any], now: float) -> dict[str, Any]:
    """Upsert everything in a seed document; applying it twice changes nothing more.

    Sections (all optional): ``settings`` (object), ``clients``, ``identities``,
    ``collections``, ``groups``, ``files``, ``roles`` (lists, applied in that order)."""
    if not isinstance(doc, dict):
        raise ValueError("a seed document is a JSON object")
    known = {"settings"} | {name for name, _ in _SEED_SECTIONS}
    unknown = set(doc) - known
    if unknown:
        raise ValueError(f"unknown seed sections: {', '.join(sorted(unknown))}")
    counts: dict[str, Any] = {}
    if "settings" in doc:
        if not isinstance(doc["settings"], dict):
            raise ValueError("'settings' must be an object")
        settings.update(conn, doc["settings"])
    for name, apply in _SEED_SECTIONS:
        items = _as_list(doc, name)
        for item in items:
            if name != "identities" and not isinstance(item, dict):
                raise ValueError(f"each entry of {name!r} must be an object")
            apply(conn, item, now)
        counts[name] = len(items)
    return {"applied": counts, "settings": settings_doc(conn)}


def settings_doc(conn: sqlite3.Connection) -> dict[str, Any]:
    return asdict(settings.load(conn))


def clock_doc(conn: sqlite3.Connection) -> dict[str, Any]:
    now = clock.now(conn)
    return {"now": clock.to_iso(now), "now_epoch": now, "offset_seconds": clock.offset(conn)}


def move_clock(conn: sqlite3.Connection, spec: dict[str, Any]) -> dict[str, Any]:
    if "advance" in spec:
        seconds = spec["advance"]
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise ValueError("'advance' must be a number of seconds")
        clock.advance(conn, float(seconds))
    elif "set" in spec:
        try:
            clock.set_now(conn, clock.parse_iso(str(spec["set"])))
        except ValueError as err:
            raise ValueError(f"'set' must be an ISO 8601 time: {err}") from err
    else:
        raise ValueError("give 'advance' (seconds) or 'set' (ISO 8601 time)")
    return clock_doc(conn)


def simulate_download(conn: sqlite3.Connection, spec: dict[str, Any], now: float) -> dict[str, Any]:
    identity = _identity(conn, _require(spec, "identity", "a download"), now)
    collection_id = _collection_id(conn, _require(spec, "collection_id", "a download"))
    files = spec.get("files")
    if files is not None and (
        not isinstance(files, list) or not all(isinstance(f, str) for f in files)
    ):
        raise ValueError("'files' must be a list of paths")
    count = spec.get("count")
    if count is not None and (not isinstance(count, int) or count < 0):
        raise ValueError("'count' must be a non-negative integer")
    return transfer_tasks.record_download(
        conn,
        now=now,
        owner_id=str(identity["id"]),
        owner_username=str(identity["username"]),
        collection_id=collection_id,
        path=str(_require(spec, "path", "a download")),
        files=files,
        count=count,
    )


def notifications(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT * FROM notifications ORDER BY seq")
    return [
        {
            "collection_id": row["collection_id"],
            "rule_id": row["rule_id"],
            "principal_type": row["principal_type"],
            "principal": row["principal"],
            "email": row["email"],
            "message": row["message"],
            "sent_at": clock.to_iso(row["sent_at"]),
        }
        for row in rows
    ]


def dump_world(conn: sqlite3.Connection, now: float) -> dict[str, Any]:
    """The whole world as JSON-ready data (no client secrets, no tokens)."""
    collections = []
    for row in conn.execute("SELECT * FROM collections ORDER BY seq").fetchall():
        collection_id = str(row["id"])
        roles = [
            {
                "id": role["id"],
                "principal_type": role["principal_type"],
                "principal": role["principal"],
                "role": role["role"],
            }
            for role in conn.execute(
                "SELECT * FROM collection_roles WHERE collection_id = ? ORDER BY seq",
                (collection_id,),
            )
        ]
        collections.append(
            {
                "id": collection_id,
                "display_name": row["display_name"],
                "subscribed": row["subscription_id"] is not None,
                "roles": roles,
                "rules": [
                    doc for doc in list_entries(conn, collection_id) if doc["id"] is not None
                ],
                "tree": [
                    {
                        "path": entry["path"],
                        "type": entry["type"],
                        "size": entry["size"],
                        "checksum": entry["checksum"],
                    }
                    for entry in transfer_fs.subtree(conn, collection_id, transfer_fs.ROOT)
                ],
            }
        )
    group_docs = [
        {
            "id": row["id"],
            "name": row["name"],
            "description": row["description"],
            "memberships": groups.membership_docs(conn, str(row["id"])),
        }
        for row in conn.execute("SELECT * FROM globus_groups ORDER BY seq").fetchall()
    ]
    tasks = []
    for row in conn.execute("SELECT * FROM tasks ORDER BY seq").fetchall():
        doc = transfer_tasks.task_doc(conn, row, now=now)
        (transferred,) = conn.execute(
            "SELECT COUNT(*) FROM successful_transfers WHERE task_id = ?", (row["task_id"],)
        ).fetchone()
        tasks.append({**doc, "successful_transfer_count": transferred})
    return {
        "now": clock.to_iso(now),
        "clock_offset_seconds": clock.offset(conn),
        "settings": settings_doc(conn),
        "identities": [
            auth.identity_doc(row)
            for row in conn.execute("SELECT * FROM identities ORDER BY created, username")
        ],
        "clients": [str(row["client_id"]) for row in conn.execute("SELECT client_id FROM clients")],
        "collections": collections,
        "groups": group_docs,
        "tasks": tasks,
        "notifications": notifications(conn),
    }


def reset_world(conn: sqlite3.Connection) -> None:
    store.wipe(conn)


# --- HTTP routes ----------------------------------------------------------------------


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
