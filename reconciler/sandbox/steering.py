"""Seed and steer the world from control-plane documents, on an open transaction.

``apply_seed`` and the per-section ``add_*`` upserts (applying a seed twice changes
nothing more), ``revoke_role``, ``reset_world``, ``move_clock`` and
``simulate_download``. Shared by the ``/_sandbox/`` routes in ``control`` and by
``LocalControl`` (which opens the database directly). Errors in the input raise
ValueError. This module must not speak HTTP or touch server memory (faults, request log).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from typing import Any

from reconciler.sandbox import (
    auth,
    clock,
    downloads,
    groups,
    settings,
    store,
    transfer_fs,
    transfer_mapped,
)
from reconciler.sandbox.dumping import clock_doc, settings_doc
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
    identity_id = str(row["id"])
    if spec.get("linked_to") is not None:
        primary = _identity(conn, spec["linked_to"], now)
        auth.link_identity(conn, identity_id, str(primary["id"]))
    if "groups_opt_out" in spec:
        if not isinstance(spec["groups_opt_out"], bool):
            raise ValueError("'groups_opt_out' must be true or false")
        groups.set_opt_out(conn, identity_id, opted_out=spec["groups_opt_out"])
    return {**auth.identity_doc(row), "identity_set": auth.identity_set(conn, identity_id)}


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
    if "entity_type" in spec or "high_assurance" in spec or "unmapped" in spec:
        transfer_mapped.set_kind(
            conn,
            collection_id,
            entity_type=str(spec.get("entity_type") or transfer_mapped.GUEST),
            high_assurance=bool(spec.get("high_assurance", False)),
            unmapped=[str(_identity(conn, ref, now)["id"]) for ref in _as_list(spec, "unmapped")],
        )
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
    if spec.get("parent") is not None:
        groups.set_parent(conn, group_id, _group_id(conn, spec["parent"]))
    for key, role in GROUP_ROLE_KEYS.items():
        for ref in _as_list(spec, key):
            identity = _identity(conn, ref, now)
            groups.set_membership(
                conn, group_id, str(identity["id"]), role=role, status="active", now=now
            )
    for item in _as_list(spec, "memberships"):
        _add_membership(conn, group_id, item, now)
    return {"id": group_id}


def _add_membership(conn: sqlite3.Connection, group_id: str, item: Any, now: float) -> None:
    """One membership in any state: ``{"identity", "role"?, "status"?}``."""
    if not isinstance(item, dict):
        raise ValueError("each membership is an object with 'identity'")
    identity = _identity(conn, _require(item, "identity", "a membership"), now)
    role = str(item.get("role", "member"))
    status = str(item.get("status", "active"))
    if role not in groups.ROLES:
        raise ValueError(f"a membership role is one of {', '.join(groups.ROLES)}")
    if status not in groups.STATUSES:
        raise ValueError(f"a membership status is one of {', '.join(groups.STATUSES)}")
    groups.set_membership(conn, group_id, str(identity["id"]), role=role, status=status, now=now)


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
    return downloads.record_download(
        conn,
        now=now,
        owner_id=str(identity["id"]),
        owner_username=str(identity["username"]),
        collection_id=collection_id,
        path=str(_require(spec, "path", "a download")),
        files=files,
        count=count,
    )


def reset_world(conn: sqlite3.Connection) -> None:
    store.wipe(conn)
