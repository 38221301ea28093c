"""Transfer collections: lookup, roles, effective data access, and ``GET /endpoint/{id}``.

Every sandbox collection is a subscribed GCSv5 guest collection with its own virtual
directory tree. Roles are granted through the control plane to identities or groups
(membership in a group holding a role confers it). Data access follows Globus: the
``administrator`` and ``access_manager`` roles imply ``rw /``; otherwise the union of the
caller's live (unexpired) access rules decides.
"""

from __future__ import annotations

import sqlite3
import uuid
from typing import Any

from reconciler.sandbox import settings, transfer_mapped
from reconciler.sandbox.auth import is_uuid
from reconciler.sandbox.groups import active_group_ids
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

COLLECTION_ROLES = (
    "administrator",
    "access_manager",
    "activity_manager",
    "activity_monitor",
    "restricted_administrator",
)
DATA_ROLES = ("administrator", "access_manager")
"""Roles that Globus lists as implicit ``rw /`` entries and that grant data access."""
DEFAULT_SUBSCRIPTION = "00000000-5a4d-4b0c-9000-5a4db0c5a4db"
_HOST_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://reconciler.invalid/sandbox/host")


def host_endpoint_for(collection_id: str) -> str:
    return str(uuid.uuid5(_HOST_NAMESPACE, collection_id))


def host_path_for(collection_id: str) -> str:
    """Where a guest collection's root lies on its mapped (host) collection: task
    documents report it as ``source_host_path`` / ``destination_host_path``."""
    return f"/gcs/guests/{collection_id}/"


def gcs_endpoint_for(collection_id: str) -> str:
    """The GCSv5 endpoint serving a collection (a collection's ``owner_id`` in Globus)."""
    return str(uuid.uuid5(_HOST_NAMESPACE, f"endpoint:{collection_id}"))


def find_collection(conn: sqlite3.Connection, collection_id: str) -> sqlite3.Row | None:
    if not is_uuid(collection_id):
        return None
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM collections WHERE id = ?", (str(uuid.UUID(collection_id)),)
    ).fetchone()
    return row


def collection_row(conn: sqlite3.Connection, collection_id: str) -> sqlite3.Row:
    row = find_collection(conn, collection_id)
    if row is None:
        raise ApiError(404, "EndpointNotFound", f"No such endpoint or collection '{collection_id}'")
    return row


def ensure_collection(
    conn: sqlite3.Connection,
    collection_id: str,
    *,
    display_name: str,
    now: float,
    host_endpoint_id: str | None = None,
    owner_id: str | None = None,
    subscribed: bool = True,
) -> str:
    canonical = str(uuid.UUID(collection_id))
    conn.execute(
        "INSERT INTO collections (id, display_name, host_endpoint_id, owner_id, subscription_id,"
        " created) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
        " display_name = excluded.display_name, subscription_id = excluded.subscription_id,"
        " owner_id = COALESCE(excluded.owner_id, collections.owner_id)",
        (
            canonical,
            display_name,
            host_endpoint_id or host_endpoint_for(canonical),
            owner_id,
            DEFAULT_SUBSCRIPTION if subscribed else None,
            now,
        ),
    )
    return canonical


def grant_role(
    conn: sqlite3.Connection,
    collection_id: str,
    *,
    principal_type: str,
    principal: str,
    role: str,
    now: float,
) -> str:
    if role not in COLLECTION_ROLES:
        raise ValueError(f"unknown collection role {role!r}; known: {', '.join(COLLECTION_ROLES)}")
    if principal_type not in ("identity", "group"):
        raise ValueError("a role's principal_type must be 'identity' or 'group'")
    conn.execute(
        "INSERT OR IGNORE INTO collection_roles (id, collection_id, principal_type, principal,"
        " role, created) VALUES (?, ?, ?, ?, ?, ?)",
        (str(uuid.uuid4()), collection_id, principal_type, principal, role, now),
    )
    row = conn.execute(
        "SELECT id FROM collection_roles WHERE collection_id = ? AND principal_type = ?"
        " AND principal = ? AND role = ?",
        (collection_id, principal_type, principal, role),
    ).fetchone()
    return str(row["id"])


def caller_roles(conn: sqlite3.Connection, collection_id: str, identity_id: str) -> set[str]:
    if settings.load(conn).open_roles:
        return set(COLLECTION_ROLES)
    groups = active_group_ids(conn, identity_id)
    rows = conn.execute(
        "SELECT principal_type, principal, role FROM collection_roles WHERE collection_id = ?",
        (collection_id,),
    )
    return {
        str(row["role"])
        for row in rows
        if (row["principal_type"] == "identity" and row["principal"] == identity_id)
        or (row["principal_type"] == "group" and row["principal"] in groups)
    }


def require_role(
    conn: sqlite3.Connection, collection_id: str, caller: Caller, allowed: tuple[str, ...]
) -> set[str]:
    held = caller_roles(conn, collection_id, caller.identity_id)
    if not held.intersection(allowed):
        raise ApiError(
            403,
            "PermissionDenied",
            f"Identity {caller.username} needs one of the roles {', '.join(allowed)}"
            f" on collection {collection_id}",
        )
    return held


def effective_permission(
    conn: sqlite3.Connection, collection_id: str, identity_id: str, path: str, now: float
) -> str | None:
    """``rw``, ``r`` or None for ``identity_id`` on ``path`` (a file or directory)."""
    if transfer_mapped.kind_of(conn, collection_id).mapped:  # a local account, not rules
        return transfer_mapped.mapped_permission(conn, collection_id, identity_id)
    if caller_roles(conn, collection_id, identity_id).intersection(DATA_ROLES):
        return "rw"
    groups = active_group_ids(conn, identity_id)
    as_dir = path.rstrip("/") + "/"
    best: str | None = None
    rows = conn.execute(
        "SELECT principal_type, principal, path, permissions FROM acl_rules"
        " WHERE collection_id = ? AND (expiration_date IS NULL OR expiration_date > ?)",
        (collection_id, now),
    )
    for row in rows:
        kind, principal = row["principal_type"], row["principal"]
        applies = (
            (kind == "identity" and principal == identity_id)
            or (kind == "group" and principal in groups)
            or kind in ("all_authenticated_users", "anonymous")
        )
        if applies and as_dir.startswith(str(row["path"])):
            if row["permissions"] == "rw":
                return "rw"
            best = "r"
    return best


def require_data_access(
    conn: sqlite3.Connection,
    collection_id: str,
    caller: Caller,
    path: str,
    *,
    need: str,
    now: float,
) -> None:
    transfer_mapped.require_consent(conn, caller, (collection_id,))
    have = effective_permission(conn, collection_id, caller.identity_id, path, now)
    if have is None or (need == "rw" and have != "rw"):
        raise ApiError(
            403,
            "EndpointPermissionDenied",
            f"Denied by collection {collection_id}: {caller.username} lacks '{need}' on {path}",
        )


def endpoint_doc(row: sqlite3.Row) -> dict[str, Any]:
    collection_id = str(row["id"])
    # As in Globus, a GCSv5 collection is owned by its endpoint (a client identity), and
    # names its GCS Manager, which globus-cli's `collection show` needs.
    endpoint_id = gcs_endpoint_for(collection_id)
    owner_id = row["owner_id"] or endpoint_id
    owner_string = None if row["owner_id"] else f"{endpoint_id}@clients.auth.globus.org"
    return {
        "DATA_TYPE": "endpoint",
        "id": collection_id,
        "display_name": row["display_name"],
        "canonical_name": f"sandbox#{collection_id}",
        "entity_type": "GCSv5_guest_collection",
        "gcs_version": "5.4.80",
        "host_endpoint_id": row["host_endpoint_id"],
        "host_endpoint": None,
        "host_endpoint_display_name": f"Sandbox host of {row['display_name']}",
        "host_path": None,
        "mapped_collection_id": row["host_endpoint_id"],
        "mapped_collection_display_name": f"Sandbox mapped collection of {row['display_name']}",
        "owner_id": owner_id,
        "owner_string": owner_string,
        "organization": "Reconciler sandbox",
        "department": None,
        "keywords": None,
        "username": None,
        "description": "A guest collection emulated by the reconciler sandbox.",
        "contact_email": None,
        "contact_info": None,
        "info_link": None,
        "subscription_id": row["subscription_id"],
        "public": True,
        "french_english_bilingual": False,
        "is_globus_connect": False,
        "globus_connect_setup_key": None,
        "gcp_connected": None,
        "gcp_paused": None,
        "s3_url": None,
        "s3_owner_activated": False,
        "disable_verify": False,
        "disable_anonymous_writes": False,
        "force_verify": False,
        "force_encryption": False,
        "high_assurance": False,
        "mfa_required": False,
        "myproxy_server": None,
        "myproxy_dn": None,
        "non_functional": False,
        "non_functional_endpoint_display_name": None,
        "non_functional_endpoint_id": None,
        "oauth_server": None,
        "default_directory": "/",
        "activated": False,
        "expires_in": -1,
        "expire_time": None,
        "shareable": False,
        "acl_available": True,
        "acl_editable": True,
        "in_use": False,
        "https_server": f"https://{collection_id[:6]}.sandbox.invalid",
        "gcs_manager_url": f"https://{endpoint_id[:6]}.gcs.sandbox.invalid",
        "tlsftp_server": None,
        "local_user_info_available": None,
        "requester_pays": False,
        "user_message": None,
        "user_message_link": None,
        "DATA": [
            {
                "DATA_TYPE": "server",
                "id": int(uuid.UUID(endpoint_id)) % 1_000_000,
                "hostname": f"{endpoint_id[:6]}.gcs.sandbox.invalid",
                "uri": f"gsiftp://{endpoint_id[:6]}.gcs.sandbox.invalid:443",
                "port": 443,
                "scheme": "gsiftp",
                "subject": None,
            }
        ],
    }


def effective_roles(conn: sqlite3.Connection, collection_id: str, identity_id: str) -> list[str]:
    """``my_effective_roles``: the roles held, plus those an administrator implies (as in
    globus-cli's captured ``endpoint_introspect`` fixture), in ``COLLECTION_ROLES`` order."""
    held = caller_roles(conn, collection_id, identity_id)
    if "administrator" in held:
        held |= {"activity_manager", "activity_monitor"}
    return [role for role in COLLECTION_ROLES if role in held]


def get_endpoint(req: Request) -> Response:
    caller = req.require_caller()
    row = collection_row(req.conn, req.params["endpoint_id"])
    doc = {**endpoint_doc(row), **transfer_mapped.endpoint_fields(req.conn, str(row["id"]))}
    doc["my_effective_roles"] = effective_roles(req.conn, str(row["id"]), caller.identity_id)
    return ok(doc)


ROUTES: list[Route] = [
    route(
        "GET",
        "/v0.10/endpoint/(?P<endpoint_id>[^/]+)",
        get_endpoint,
        service="transfer",
        resource_server=TRANSFER_RS,
    ),
]
