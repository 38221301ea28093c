"""Globus Groups v2: read a group with its memberships, list my groups, batch actions.

Admins and managers are ordinary memberships with role ``admin`` or ``manager``, as in
Globus, so giving a client the admin role makes it show up in the member list. Members
of a subgroup are listed in its parent with ``source_group_id`` (implied memberships).
Batch requests answer 200 with per-item ``errors``; whole-request problems (an identity
twice, an unsupported action, a caller without a manager role) are 4xx. ``add`` is
refused for an identity that left the group or opted out of being added to groups, as
the Groups API documents. Error codes not seen in public fixtures are UNCONFIRMED
(docs/sandbox.md).
"""

from __future__ import annotations

import sqlite3
import uuid
from typing import Any

from reconciler.sandbox import clock, settings
from reconciler.sandbox.auth import find_identity, is_uuid
from reconciler.sandbox.routing import GROUPS_RS, ApiError, Request, Response, Route, ok, route

ROLES = ("member", "manager", "admin")
STATUSES = ("active", "invited", "pending", "rejected", "removed", "left", "declined")
SUPPORTED_ACTIONS = ("add", "remove", "change_role", "invite", "approve", "reject")
KNOWN_UNSUPPORTED_ACTIONS = ("accept", "decline", "join", "leave", "request_join")
MANAGING_ROLES = ("admin", "manager")


# --- world helpers (also used by the control plane and transfer roles) ---------------


def ensure_group(
    conn: sqlite3.Connection, group_id: str, *, name: str, description: str, now: float
) -> None:
    conn.execute(
        "INSERT INTO globus_groups (id, name, description, created) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET name = excluded.name,"
        " description = excluded.description",
        (group_id, name, description, now),
    )


def set_membership(
    conn: sqlite3.Connection,
    group_id: str,
    identity_id: str,
    *,
    role: str,
    status: str,
    now: float,
) -> None:
    conn.execute(
        "INSERT INTO memberships (group_id, identity_id, role, status, updated)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (group_id, identity_id) DO UPDATE SET"
        " role = excluded.role, status = excluded.status, updated = excluded.updated",
        (group_id, identity_id, role, status, now),
    )


def set_parent(conn: sqlite3.Connection, group_id: str, parent_id: str) -> None:
    """Make ``group_id`` a subgroup of ``parent_id``: its active members become implied
    members of the parent (and of the parent's parents)."""
    if parent_id == group_id or group_id in _ancestors(conn, parent_id):
        raise ValueError(f"group {group_id} cannot be a subgroup of {parent_id}: a cycle")
    conn.execute(
        "INSERT INTO subgroups (group_id, parent_id) VALUES (?, ?)"
        " ON CONFLICT (group_id) DO UPDATE SET parent_id = excluded.parent_id",
        (group_id, parent_id),
    )


def _parent_of(conn: sqlite3.Connection, group_id: str) -> str | None:
    row = conn.execute("SELECT parent_id FROM subgroups WHERE group_id = ?", (group_id,)).fetchone()
    return None if row is None else str(row["parent_id"])


def _ancestors(conn: sqlite3.Connection, group_id: str) -> list[str]:
    found: list[str] = []
    parent = _parent_of(conn, group_id)
    while parent is not None and parent not in found:
        found.append(parent)
        parent = _parent_of(conn, parent)
    return found


def set_opt_out(conn: sqlite3.Connection, identity_id: str, *, opted_out: bool) -> None:
    """Whether the identity's settings say it may not be added to any group."""
    if opted_out:
        conn.execute(
            "INSERT OR IGNORE INTO group_opt_outs (identity_id) VALUES (?)", (identity_id,)
        )
    else:
        conn.execute("DELETE FROM group_opt_outs WHERE identity_id = ?", (identity_id,))


def _opted_out(conn: sqlite3.Connection, identity_id: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM group_opt_outs WHERE identity_id = ?", (identity_id,)
    ).fetchone()
    return row is not None


def active_group_ids(conn: sqlite3.Connection, identity_id: str) -> set[str]:
    """Groups the identity is an active member of, directly or through a subgroup."""
    rows = conn.execute(
        "SELECT group_id FROM memberships WHERE identity_id = ? AND status = 'active'",
        (identity_id,),
    )
    direct = {str(row["group_id"]) for row in rows}
    return direct.union(*(_ancestors(conn, group_id) for group_id in direct))


def membership_docs(conn: sqlite3.Connection, group_id: str) -> list[dict[str, Any]]:
    """Direct memberships in listing order, then those implied by subgroups."""
    rows = conn.execute(
        "SELECT m.*, i.username FROM memberships m LEFT JOIN identities i"
        " ON i.id = m.identity_id WHERE m.group_id = ? ORDER BY m.seq",
        (group_id,),
    )
    return [_membership_doc(row) for row in rows] + _implied_docs(conn, group_id, {group_id})


def _implied_docs(
    conn: sqlite3.Connection, group_id: str, visited: set[str]
) -> list[dict[str, Any]]:
    """Active members of each subgroup (at any depth), attributed to the subgroup of
    ``group_id`` they come through; an identity is listed once per subgroup path."""
    docs: list[dict[str, Any]] = []
    seen: set[str] = set()
    children = conn.execute(
        "SELECT group_id FROM subgroups WHERE parent_id = ? ORDER BY group_id", (group_id,)
    ).fetchall()
    for child_row in children:
        child = str(child_row["group_id"])
        if child in visited:
            continue
        visited.add(child)
        rows = conn.execute(
            "SELECT m.*, i.username FROM memberships m LEFT JOIN identities i"
            " ON i.id = m.identity_id WHERE m.group_id = ? AND m.status = 'active'"
            " ORDER BY m.seq",
            (child,),
        ).fetchall()
        members = [(str(r["identity_id"]), r["username"], clock.to_iso(r["updated"])) for r in rows]
        members += [
            (d["identity_id"], d["username"], d["updated"])
            for d in _implied_docs(conn, child, visited)
        ]
        for identity_id, username, updated in members:
            if identity_id in seen:
                continue
            seen.add(identity_id)
            docs.append(
                {
                    "group_id": group_id,
                    "identity_id": identity_id,
                    "username": username,
                    "role": "member",
                    "status": "active",
                    "updated": updated,
                    "source_group_id": child,
                }
            )
    return docs


def _membership_doc(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "group_id": row["group_id"],
        "identity_id": row["identity_id"],
        "username": row["username"],
        "role": row["role"],
        "status": row["status"],
        "updated": clock.to_iso(row["updated"]),
    }


def _membership(conn: sqlite3.Connection, group_id: str, identity_id: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        "SELECT m.*, i.username FROM memberships m LEFT JOIN identities i"
        " ON i.id = m.identity_id WHERE m.group_id = ? AND m.identity_id = ?",
        (group_id, identity_id),
    ).fetchone()
    return row


def _group_row(conn: sqlite3.Connection, group_id: str) -> sqlite3.Row:
    row: sqlite3.Row | None = None
    if is_uuid(group_id):
        row = conn.execute(
            "SELECT * FROM globus_groups WHERE id = ?", (str(uuid.UUID(group_id)),)
        ).fetchone()
    if row is None:
        raise ApiError(404, "NOT_FOUND", f"Group {group_id} not found")
    return row


def _caller_role(conn: sqlite3.Connection, group_id: str, identity_id: str) -> str | None:
    row = conn.execute(
        "SELECT role FROM memberships WHERE group_id = ? AND identity_id = ? AND status = 'active'",
        (group_id, identity_id),
    ).fetchone()
    return None if row is None else str(row["role"])


def _group_doc(
    conn: sqlite3.Connection, row: sqlite3.Row, caller_id: str, *, with_members: bool
) -> dict[str, Any]:
    mine = [
        doc
        for doc in membership_docs(conn, str(row["id"]))
        if doc["identity_id"] == caller_id and doc["status"] == "active"
    ]
    doc: dict[str, Any] = {
        "name": row["name"],
        "description": row["description"],
        "parent_id": _parent_of(conn, str(row["id"])),
        "id": row["id"],
        "group_type": "regular",
        "enforce_session": False,
        "session_limit": 28800,
        "session_timeouts": {},
        "my_memberships": mine,
        "policies": {
            "group_visibility": "private",
            "group_members_visibility": "managers",
            "authentication_assurance_timeout": 28800,
            "is_high_assurance": False,
            "join_requests": False,
            "signup_fields": [],
        },
        "subscription_id": None,
        "subscription_info": None,
    }
    if with_members:
        doc["memberships"] = membership_docs(conn, str(row["id"]))
    return doc


# --- routes ---------------------------------------------------------------------------


def get_group(req: Request) -> Response:
    caller = req.require_caller()
    row = _group_row(req.conn, req.params["group_id"])
    open_roles = settings.load(req.conn).open_roles
    role = _caller_role(req.conn, str(row["id"]), caller.identity_id)
    if role is None and not open_roles:
        raise ApiError(403, "FORBIDDEN", "The caller is not an active member of this group")
    includes = {part.strip() for part in req.query.get("include", "").split(",")}
    may_see_members = open_roles or role in MANAGING_ROLES
    with_members = "memberships" in includes and may_see_members
    return ok(_group_doc(req.conn, row, caller.identity_id, with_members=with_members))


def my_groups(req: Request) -> Response:
    caller = req.require_caller()
    rows = req.conn.execute(
        "SELECT g.* FROM globus_groups g JOIN memberships m ON m.group_id = g.id"
        " WHERE m.identity_id = ? AND m.status = 'active' ORDER BY g.seq",
        (caller.identity_id,),
    ).fetchall()
    return ok([_group_doc(req.conn, row, caller.identity_id, with_members=False) for row in rows])


def batch(req: Request) -> Response:
    caller = req.require_caller()
    row = _group_row(req.conn, req.params["group_id"])
    group_id = str(row["id"])
    body = req.json_object()
    actions = _validate_batch(body)
    open_roles = settings.load(req.conn).open_roles
    caller_role = "admin" if open_roles else _caller_role(req.conn, group_id, caller.identity_id)
    if caller_role not in MANAGING_ROLES:
        raise ApiError(403, "FORBIDDEN", "Only group admins and managers can change memberships")
    result: dict[str, Any] = {}
    errors: dict[str, list[dict[str, Any]]] = {}
    for action, items in actions:
        done: list[dict[str, Any]] = []
        for item in items:
            outcome = _apply(req, group_id, action, item, caller_role=caller_role)
            if isinstance(outcome, _ItemError):
                errors.setdefault(action, []).append(
                    {
                        "identity_id": item["identity_id"],
                        "code": outcome.code,
                        "detail": outcome.detail,
                    }
                )
            else:
                done.append(outcome)
        result[action] = done
    if errors:
        result["errors"] = errors
    return ok(result)


class _ItemError:
    def __init__(self, code: str, detail: str) -> None:
        self.code = code
        self.detail = detail


def _validate_batch(body: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    seen: set[str] = set()
    actions: list[tuple[str, list[dict[str, Any]]]] = []
    for action, items in body.items():
        if action in KNOWN_UNSUPPORTED_ACTIONS:
            raise ApiError(400, "UNSUPPORTED_ACTION", f"The sandbox does not emulate {action!r}")
        if action not in SUPPORTED_ACTIONS:
            raise ApiError(400, "INVALID_REQUEST", f"Unknown membership action {action!r}")
        if not isinstance(items, list):
            raise ApiError(400, "INVALID_REQUEST", f"{action!r} must be a list")
        checked: list[dict[str, Any]] = []
        for item in items:
            identity_id = item.get("identity_id") if isinstance(item, dict) else None
            if not isinstance(identity_id, str) or not is_uuid(identity_id):
                raise ApiError(400, "INVALID_REQUEST", f"{action!r} items need an identity_id UUID")
            identity_id = str(uuid.UUID(identity_id))
            if identity_id in seen:
                raise ApiError(
                    400,
                    "DUPLICATE_IDENTITY",
                    f"Identity {identity_id} appears more than once in this request",
                )
            seen.add(identity_id)
            role = item.get("role", "member")
            if role not in ROLES:
                raise ApiError(400, "INVALID_REQUEST", f"Unknown role {role!r}")
            if action == "change_role" and "role" not in item:
                raise ApiError(400, "INVALID_REQUEST", "change_role items need a role")
            checked.append({"identity_id": identity_id, "role": role})
        actions.append((action, checked))
    return actions


def _apply(
    req: Request, group_id: str, action: str, item: dict[str, Any], *, caller_role: str
) -> dict[str, Any] | _ItemError:
    conn, identity_id, role = req.conn, str(item["identity_id"]), str(item["role"])
    current = _membership(conn, group_id, identity_id)
    status = None if current is None else str(current["status"])
    touches_admin = role == "admin" or (current is not None and current["role"] == "admin")
    if caller_role != "admin" and touches_admin and action != "approve":
        return _ItemError("FORBIDDEN", "Only admins can grant or change the admin role")
    if action in ("add", "invite"):
        refused = _refuse_add_or_invite(conn, identity_id, status, action)
        if refused is not None:
            return refused
        new_status = "active" if action == "add" else "invited"
        set_membership(conn, group_id, identity_id, role=role, status=new_status, now=req.now)
    elif action == "remove":
        caller = req.require_caller()
        if identity_id == caller.identity_id:
            return _ItemError("CANNOT_REMOVE_SELF", "Use 'leave' to remove your own membership.")
        if status not in ("active", "invited"):
            code = "INVALID_STATUS" if status == "pending" else "NO_MEMBERSHIP"
            return _ItemError(code, "Identity has no active or invited membership in group.")
        assert current is not None
        set_membership(
            conn, group_id, identity_id, role=str(current["role"]), status="removed", now=req.now
        )
    elif action == "change_role":
        if status not in ("active", "invited"):
            return _ItemError("NO_MEMBERSHIP", "Identity has no membership in group.")
        assert status is not None
        set_membership(conn, group_id, identity_id, role=role, status=status, now=req.now)
    else:  # approve / reject
        if status != "pending":
            return _ItemError("NOT_PENDING", "Identity has no pending join request.")
        assert current is not None
        set_membership(
            conn,
            group_id,
            identity_id,
            role=str(current["role"]),
            status="active" if action == "approve" else "rejected",
            now=req.now,
        )
    updated = _membership(conn, group_id, identity_id)
    assert updated is not None
    return _membership_doc(updated)


def _refuse_add_or_invite(
    conn: sqlite3.Connection, identity_id: str, status: str | None, action: str
) -> _ItemError | None:
    """Why ``add`` or ``invite`` cannot go ahead, if it cannot: the documented refusals
    of ``add`` (codes UNCONFIRMED), and the sandbox's strict answer for a pending
    request, which the Groups API says is ``approve``d."""
    if find_identity(conn, identity_id) is None:
        return _ItemError("IDENTITY_NOT_FOUND", f"No identity {identity_id}")
    if status == "active":
        return _ItemError(
            "ALREADY_ACTIVE", "The identity is already an active member of the group."
        )
    if action == "invite":
        if status == "invited":
            return _ItemError("ALREADY_INVITED", "The identity has already been invited.")
        return None
    if status == "left":
        return _ItemError(
            "PREVIOUSLY_LEFT",
            "The identity left the group; it must rejoin or be invited.",
        )
    if _opted_out(conn, identity_id):
        return _ItemError(
            "OPTED_OUT",
            "The identity's settings do not allow it to be added to groups; invite it.",
        )
    if status == "pending":
        return _ItemError(
            "INVALID_STATUS", "The identity has a pending request to join; approve it."
        )
    return None


ROUTES: list[Route] = [
    route("GET", "/v2/groups/my_groups", my_groups, service="groups", resource_server=GROUPS_RS),
    route(
        "GET",
        "/v2/groups/(?P<group_id>[^/]+)",
        get_group,
        service="groups",
        resource_server=GROUPS_RS,
    ),
    route(
        "POST", "/v2/groups/(?P<group_id>[^/]+)", batch, service="groups", resource_server=GROUPS_RS
    ),
]
