"""GCSv5 mapped collections: their kind, who maps to a local account, and the
``data_access`` consent a Transfer token must carry to use them.

Sandbox collections are guest collections unless seeded otherwise (control plane:
``{"entity_type": "GCSv5_mapped_collection", "high_assurance"?, "unmapped"?}``). On a
mapped collection access comes from the local account an identity maps to, not from
access rules: every identity maps (and may read and write) except those listed as
``unmapped``. A non-high-assurance mapped collection also needs its ``data_access``
scope as a dependency of the Transfer scope in the caller's token; without it a file
operation on it (ls, stat, mkdir) or a transfer from or to it is answered 403
``ConsentRequired``, in the shape globus-cli's tests capture from Transfer:

    {"code": "ConsentRequired", "message": "Missing required data_access consent",
     "authorization_parameters": {"required_scopes": [...], "session_message": ...},
     "required_scopes": [...], "request_id", "resource"}

What real Globus does with an identity that has no mapping is not documented: here a
task touching the collection fails with ``PERMISSION_DENIED`` and a description naming
the missing identity mapping (docs/sandbox.md). This module owns the
``collection_kinds`` table; a collection without a row is a guest collection.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from reconciler.sandbox.routing import ApiError, Caller

GUEST = "GCSv5_guest_collection"
MAPPED = "GCSv5_mapped_collection"
ENTITY_TYPES = (GUEST, MAPPED)


@dataclass(frozen=True, slots=True)
class CollectionKind:
    entity_type: str = GUEST
    high_assurance: bool = False
    unmapped: frozenset[str] = frozenset()
    """Identity ids with no local account on a mapped collection."""

    @property
    def mapped(self) -> bool:
        return self.entity_type == MAPPED

    @property
    def needs_consent(self) -> bool:
        return self.mapped and not self.high_assurance


def kind_of(conn: sqlite3.Connection, collection_id: str) -> CollectionKind:
    row = conn.execute(
        "SELECT * FROM collection_kinds WHERE collection_id = ?", (collection_id,)
    ).fetchone()
    if row is None:
        return CollectionKind()
    return CollectionKind(
        str(row["entity_type"]), bool(row["high_assurance"]), frozenset(json.loads(row["unmapped"]))
    )


def set_kind(
    conn: sqlite3.Connection,
    collection_id: str,
    *,
    entity_type: str,
    high_assurance: bool,
    unmapped: Iterable[str],
) -> None:
    if entity_type not in ENTITY_TYPES:
        raise ValueError(f"entity_type must be one of {', '.join(ENTITY_TYPES)}")
    conn.execute(
        "INSERT INTO collection_kinds (collection_id, entity_type, high_assurance, unmapped)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (collection_id) DO UPDATE SET"
        " entity_type = excluded.entity_type, high_assurance = excluded.high_assurance,"
        " unmapped = excluded.unmapped",
        (collection_id, entity_type, int(high_assurance), json.dumps(sorted(set(unmapped)))),
    )


def endpoint_fields(conn: sqlite3.Connection, collection_id: str) -> dict[str, Any]:
    """What a mapped collection's endpoint document says differently from a guest's."""
    kind = kind_of(conn, collection_id)
    if not kind.mapped:
        return {"entity_type": GUEST, "high_assurance": False}
    return {
        "entity_type": MAPPED,
        "high_assurance": kind.high_assurance,
        "mapped_collection_id": None,
        "mapped_collection_display_name": None,
        "acl_available": False,
        "acl_editable": False,
        "description": "A mapped collection emulated by the reconciler sandbox.",
    }


def mapped_permission(conn: sqlite3.Connection, collection_id: str, identity_id: str) -> str | None:
    """``rw`` for an identity with a local account on a mapped collection, None without;
    only meaningful when the collection is mapped (see ``kind_of``)."""
    return None if identity_id in kind_of(conn, collection_id).unmapped else "rw"


def data_access_scope(collection_id: str) -> str:
    return f"https://auth.globus.org/scopes/{collection_id}/data_access"


def require_consent(
    conn: sqlite3.Connection, caller: Caller, collection_ids: Iterable[str]
) -> None:
    """403 ``ConsentRequired`` unless the caller's Transfer token carries the
    ``data_access`` dependency of every non-high-assurance mapped collection named
    (file operations on it, and transfers from or to it)."""
    missing = [
        cid
        for cid in dict.fromkeys(collection_ids)
        if kind_of(conn, cid).needs_consent and data_access_scope(cid) not in caller.scope
    ]
    if not missing:
        return
    required = [
        "urn:globus:auth:scope:transfer.api.globus.org:all["
        + " ".join(f"*{data_access_scope(cid)}" for cid in missing)
        + "]"
    ]
    message = "Missing required data_access consent"
    raise ApiError(
        403,
        "ConsentRequired",
        message,
        extra={
            "authorization_parameters": {
                "required_scopes": required,
                "session_message": message,
            },
            "required_scopes": required,
        },
    )
