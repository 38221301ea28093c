"""The world as JSON-ready data: the whole dump, notifications, settings and the clock.

Read-only, on an open transaction; shared by the ``/_sandbox/`` routes in ``control``
and by ``LocalControl``. Client secrets and tokens are never included. This module must
not change the world.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict
from typing import Any

from reconciler.sandbox import (
    auth,
    clock,
    groups,
    settings,
    transfer_fs,
    transfer_mapped,
    transfer_tasks,
)
from reconciler.sandbox.transfer_acl import list_entries


def settings_doc(conn: sqlite3.Connection) -> dict[str, Any]:
    return asdict(settings.load(conn))


def clock_doc(conn: sqlite3.Connection) -> dict[str, Any]:
    now = clock.now(conn)
    return {"now": clock.to_iso(now), "now_epoch": now, "offset_seconds": clock.offset(conn)}


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
                "entity_type": transfer_mapped.kind_of(conn, collection_id).entity_type,
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
