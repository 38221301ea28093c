"""Seed a sandbox world with everything a spec set refers to.

``compute_seed`` is pure: from an ``Intent`` it builds a seed document with the
collections (and their roots), stage-source collections holding a few sample files under
each stage path, the groups, and the identities named by username or UUID in grants and
memberships. Given a client id, that client gets access_manager and activity_monitor on
every collection and the admin role in every group; without one the world gets
``open_roles`` (any caller holds every role). ``seed_from_intent`` applies the document
through any ``ControlPlane`` (HTTP or a database file). Seeding twice changes nothing.
"""

from __future__ import annotations

from typing import Any

from reconciler.core.intent import Intent
from reconciler.sandbox.auth import is_uuid
from reconciler.sandbox.control_client import ControlPlane

SAMPLE_FILES: tuple[tuple[str, int], ...] = (
    ("README.txt", 1_024),
    ("data/part-0001.dat", 1_048_576),
    ("data/part-0002.dat", 2_097_152),
)
CLIENT_COLLECTION_ROLES = ("access_manager", "activity_monitor")


def _identity_spec(ref: str) -> dict[str, Any]:
    if is_uuid(ref):
        return {"username": f"{ref.lower()}@sandbox.invalid", "id": ref}
    return {"username": ref}


def compute_seed(intent: Intent, *, client_id: str | None) -> dict[str, Any]:
    collections: dict[str, dict[str, Any]] = {}
    for declared in intent.collections:
        collections[declared.id] = {
            "id": declared.id,
            "display_name": declared.name,
            "roots": [declared.root],
        }
    files: list[dict[str, Any]] = []
    staged: set[tuple[str, str]] = set()
    for grant in intent.grants:
        if grant.stage is None:
            continue
        source = grant.stage.collection_id
        collections.setdefault(
            source, {"id": source, "display_name": f"Stage source {source[:8]}", "roots": []}
        )
        base = "/" + grant.stage.path.strip("/")
        if (source, base) in staged:
            continue
        staged.add((source, base))
        for name, size in SAMPLE_FILES:
            path = f"{base.rstrip('/')}/{name}"
            files.append({"collection_id": source, "path": path, "size": size})

    groups: dict[str, dict[str, Any]] = {g.id: {"id": g.id, "name": g.name} for g in intent.groups}
    for grant in intent.grants:
        ref = grant.principal
        if ref.kind == "group" and is_uuid(ref.value) and ref.value not in groups:
            groups[ref.value] = {"id": ref.value, "name": f"group {ref.value[:8]}"}

    identities = [_identity_spec(ref) for ref in sorted(intent.identity_refs()) if ref]

    doc: dict[str, Any] = {
        "collections": list(collections.values()),
        "groups": list(groups.values()),
        "identities": identities,
        "files": files,
    }
    if client_id is None:
        doc["settings"] = {"open_roles": True}
        return doc
    doc["clients"] = [{"client_id": client_id}]
    doc["roles"] = [
        {"collection_id": cid, "principal": client_id, "role": role}
        for cid in collections
        for role in CLIENT_COLLECTION_ROLES
    ] + [{"group_id": gid, "principal": client_id, "role": "admin"} for gid in groups]
    return doc


def seed_from_intent(
    target: ControlPlane, intent: Intent, *, client_id: str | None = None
) -> dict[str, Any]:
    """Make the world hold what ``intent`` refers to; returns the control plane's summary."""
    return target.seed(compute_seed(intent, client_id=client_id))
