"""Transfer access rules on guest collections: list, get, create, update, delete.

Shapes and codes follow the project's Globus facts: role holders (administrator,
access_manager) are listed as implicit ``rw /`` entries with ``id`` null; at most
``max_rules_per_collection`` rules (1000) per collection, beyond which create answers
409 ``LimitExceeded`` (code UNCONFIRMED). Expired rules are kept listed but grant nothing,
unless the world's ``expiry_mode`` is ``delete`` (UNCONFIRMED which one Globus does).
A create with ``notify_email`` records a notification instead of sending mail.
"""

from __future__ import annotations

import sqlite3
import uuid
from typing import Any

from reconciler.sandbox import clock, settings
from reconciler.sandbox.auth import is_uuid
from reconciler.sandbox.routing import (
    TRANSFER_RS,
    ApiError,
    Request,
    Response,
    Route,
    ok,
    route,
)
from reconciler.sandbox.transfer_endpoints import DATA_ROLES, collection_row, require_role

PRINCIPAL_TYPES = ("identity", "group", "all_authenticated_users", "anonymous")
PUBLIC_TYPES = ("all_authenticated_users", "anonymous")
MANAGE_ROLES = ("administrator", "access_manager")
VIEW_ROLES = ("administrator", "access_manager", "restricted_administrator")
DELETE_ROLES = VIEW_ROLES
_BAD_SEGMENTS = ("", ".", "..")


def check_rule_path(path: Any) -> str:
    """Return ``path`` unchanged if Globus would accept it as a rule path, else 400."""
    if not isinstance(path, str) or not path:
        raise ApiError(400, "InvalidPath", "path is required and must be a string")
    if not path.startswith("/") or not path.endswith("/"):
        raise ApiError(400, "InvalidPath", f"Invalid path '{path}': must start and end with '/'")
    if any(ord(char) < 32 for char in path):
        raise ApiError(400, "InvalidPath", f"Invalid path {path!r}: control characters")
    if path != "/" and any(segment in _BAD_SEGMENTS for segment in path[1:-1].split("/")):
        raise ApiError(400, "InvalidPath", f"Invalid path '{path}': empty, '.' or '..' components")
    return path


def _rule_doc(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "DATA_TYPE": "access",
        "id": row["id"],
        "principal_type": row["principal_type"],
        "principal": row["principal"],
        "path": row["path"],
        "permissions": row["permissions"],
        "create_time": clock.to_iso(row["create_time"]),
        "expiration_date": clock.to_iso(row["expiration_date"]),
        "role_id": None,
        "role_type": None,
    }


def _role_doc(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "DATA_TYPE": "access",
        "id": None,
        "principal_type": row["principal_type"],
        "principal": row["principal"],
        "path": "/",
        "permissions": "rw",
        "create_time": clock.to_iso(row["created"]),
        "expiration_date": None,
        "role_id": row["id"],
        "role_type": row["role"],
    }


def list_entries(conn: sqlite3.Connection, collection_id: str) -> list[dict[str, Any]]:
    """Role-derived entries, then rules in creation order."""
    marks = ",".join("?" * len(DATA_ROLES))
    roles = conn.execute(
        f"SELECT * FROM collection_roles WHERE collection_id = ? AND role IN ({marks})"
        " ORDER BY seq",
        (collection_id, *DATA_ROLES),
    )
    rules = conn.execute(
        "SELECT * FROM acl_rules WHERE collection_id = ? ORDER BY seq", (collection_id,)
    )
    return [_role_doc(row) for row in roles] + [_rule_doc(row) for row in rules]


def _rule_row(conn: sqlite3.Connection, collection_id: str, rule_id: str) -> sqlite3.Row:
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM acl_rules WHERE collection_id = ? AND id = ?", (collection_id, rule_id)
    ).fetchone()
    if row is None:
        raise ApiError(
            404,
            "AccessRuleNotFound",
            f"Access rule '{rule_id}' not found on endpoint '{collection_id}'",
        )
    return row


def _parse_expiration(value: Any) -> float | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(400, "BadRequest", "expiration_date must be an ISO 8601 string or null")
    try:
        return clock.parse_iso(value)
    except ValueError as err:
        raise ApiError(400, "BadRequest", f"Invalid expiration_date {value!r}: {err}") from err


def _check_permissions(value: Any) -> str:
    if value not in ("r", "rw"):
        raise ApiError(400, "BadRequest", f"permissions must be 'r' or 'rw', not {value!r}")
    return str(value)


def _check_principal(principal_type: Any, principal: Any) -> tuple[str, str]:
    if principal_type not in PRINCIPAL_TYPES:
        raise ApiError(
            400,
            "BadRequest",
            f"principal_type must be one of {', '.join(PRINCIPAL_TYPES)}, not {principal_type!r}",
        )
    if principal_type in PUBLIC_TYPES:
        if principal not in (None, ""):
            raise ApiError(400, "BadRequest", f"principal must be empty for {principal_type}")
        return str(principal_type), ""
    if not isinstance(principal, str) or not is_uuid(principal):
        raise ApiError(400, "BadRequest", f"principal for {principal_type} must be a UUID")
    return str(principal_type), str(uuid.UUID(principal))


# --- routes ---------------------------------------------------------------------------


def list_rules(req: Request) -> Response:
    collection_id = str(collection_row(req.conn, req.params["endpoint_id"])["id"])
    require_role(req.conn, collection_id, req.require_caller(), VIEW_ROLES)
    entries = list_entries(req.conn, collection_id)
    return ok(
        {
            "DATA_TYPE": "access_list",
            "endpoint": collection_id,
            "length": len(entries),
            "DATA": entries,
        }
    )


def get_rule(req: Request) -> Response:
    collection_id = str(collection_row(req.conn, req.params["endpoint_id"])["id"])
    require_role(req.conn, collection_id, req.require_caller(), VIEW_ROLES)
    return ok(_rule_doc(_rule_row(req.conn, collection_id, req.params["rule_id"])))


def create_rule(req: Request) -> Response:
    caller = req.require_caller()
    collection_id = str(collection_row(req.conn, req.params["endpoint_id"])["id"])
    require_role(req.conn, collection_id, caller, MANAGE_ROLES)
    body = req.json_object()
    if body.get("DATA_TYPE", "access") != "access":
        raise ApiError(400, "BadRequest", "DATA_TYPE must be 'access'")
    principal_type, principal = _check_principal(body.get("principal_type"), body.get("principal"))
    path = check_rule_path(body.get("path"))
    permissions = _check_permissions(body.get("permissions"))
    expiration = _parse_expiration(body.get("expiration_date"))
    notify_email = body.get("notify_email")
    notify_message = body.get("notify_message")
    if notify_email is not None and not isinstance(notify_email, str):
        raise ApiError(400, "BadRequest", "notify_email must be a string")
    if notify_message is not None and not isinstance(notify_message, str):
        raise ApiError(400, "BadRequest", "notify_message must be a string")
    existing = req.conn.execute(
        "SELECT id FROM acl_rules WHERE collection_id = ? AND principal_type = ?"
        " AND principal = ? AND path = ?",
        (collection_id, principal_type, principal, path),
    ).fetchone()
    if existing is not None:
        raise ApiError(
            409,
            "Exists",
            f"An access rule for {principal_type} '{principal}' on path '{path}' already"
            f" exists (id {existing['id']})",
        )
    limit = settings.load(req.conn).max_rules_per_collection
    (count,) = req.conn.execute(
        "SELECT COUNT(*) FROM acl_rules WHERE collection_id = ?", (collection_id,)
    ).fetchone()
    if count >= limit:
        raise ApiError(
            409,
            "LimitExceeded",
            f"Collection {collection_id} already has the maximum of {limit} access rules",
        )
    rule_id = str(uuid.uuid4())
    req.conn.execute(
        "INSERT INTO acl_rules (id, collection_id, principal_type, principal, path, permissions,"
        " create_time, expiration_date, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            rule_id,
            collection_id,
            principal_type,
            principal,
            path,
            permissions,
            req.now,
            expiration,
            caller.identity_id,
        ),
    )
    if notify_email:
        req.conn.execute(
            "INSERT INTO notifications (collection_id, rule_id, principal_type, principal, email,"
            " message, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                collection_id,
                rule_id,
                principal_type,
                principal,
                notify_email,
                notify_message,
                req.now,
            ),
        )
    return ok(
        {
            "DATA_TYPE": "access_create_result",
            "code": "Created",
            "message": "Access rule created successfully.",
            "access_id": rule_id,
            "request_id": req.request_id,
            "resource": req.resource(),
        },
        status=201,
    )


def update_rule(req: Request) -> Response:
    collection_id = str(collection_row(req.conn, req.params["endpoint_id"])["id"])
    require_role(req.conn, collection_id, req.require_caller(), MANAGE_ROLES)
    row = _rule_row(req.conn, collection_id, req.params["rule_id"])
    body = req.json_object()
    for fixed in ("principal_type", "principal", "path"):
        if (
            fixed in body
            and body[fixed] != row[fixed]
            and not (fixed == "principal" and body[fixed] in (None, "") and row[fixed] == "")
        ):
            raise ApiError(
                400,
                "BadRequest",
                f"'{fixed}' cannot be changed; delete the rule and create a new one",
            )
    permissions = (
        _check_permissions(body["permissions"]) if "permissions" in body else row["permissions"]
    )
    expiration = (
        _parse_expiration(body["expiration_date"])
        if "expiration_date" in body
        else row["expiration_date"]
    )
    req.conn.execute(
        "UPDATE acl_rules SET permissions = ?, expiration_date = ? WHERE id = ?",
        (permissions, expiration, row["id"]),
    )
    return ok(
        {
            "DATA_TYPE": "result",
            "code": "Updated",
            "message": f"Access rule '{row['id']}' updated successfully",
            "request_id": req.request_id,
            "resource": req.resource(),
        }
    )


def delete_rule(req: Request) -> Response:
    collection_id = str(collection_row(req.conn, req.params["endpoint_id"])["id"])
    require_role(req.conn, collection_id, req.require_caller(), DELETE_ROLES)
    row = _rule_row(req.conn, collection_id, req.params["rule_id"])
    req.conn.execute("DELETE FROM acl_rules WHERE id = ?", (row["id"],))
    return ok(
        {
            "DATA_TYPE": "result",
            "code": "Deleted",
            "message": f"Access rule '{row['id']}' deleted successfully",
            "request_id": req.request_id,
            "resource": req.resource(),
        }
    )


def settle_expired(conn: sqlite3.Connection, now: float) -> None:
    """In ``delete`` expiry mode, rules vanish once their expiration_date has passed."""
    if settings.load(conn).expiry_mode == "delete":
        conn.execute(
            "DELETE FROM acl_rules WHERE expiration_date IS NOT NULL AND expiration_date <= ?",
            (now,),
        )


_EP = "/v0.10/endpoint/(?P<endpoint_id>[^/]+)"

ROUTES: list[Route] = [
    route("GET", f"{_EP}/access_list", list_rules, service="transfer", resource_server=TRANSFER_RS),
    route("POST", f"{_EP}/access", create_rule, service="transfer", resource_server=TRANSFER_RS),
    route(
        "GET",
        f"{_EP}/access/(?P<rule_id>[^/]+)",
        get_rule,
        service="transfer",
        resource_server=TRANSFER_RS,
    ),
    route(
        "PUT",
        f"{_EP}/access/(?P<rule_id>[^/]+)",
        update_rule,
        service="transfer",
        resource_server=TRANSFER_RS,
    ),
    route(
        "DELETE",
        f"{_EP}/access/(?P<rule_id>[^/]+)",
        delete_rule,
        service="transfer",
        resource_server=TRANSFER_RS,
    ),
]
