"""A digest of the live state a plan depends on, to refuse applying a stale saved plan."""

from __future__ import annotations

import hashlib
import json

from reconciler.core.intent import Intent
from reconciler.core.live import LiveState


def compute_fingerprint(intent: Intent, live: LiveState) -> str:
    """Covers the access lists of the declared collections, the memberships of the
    declared groups and the resolved identities: everything planning reads."""
    doc: dict[str, object] = {}
    for collection in sorted(intent.collections, key=lambda c: c.id):
        found = live.collections.get(collection.id)
        rules = (
            []
            if found is None
            else sorted(
                (
                    r.id or "",
                    r.principal_type,
                    r.principal,
                    r.path,
                    r.permissions,
                    int(r.expires.timestamp()) if r.expires else None,
                )
                for r in found.rules
            )
        )
        doc[f"c:{collection.id}"] = rules
    for group in sorted(intent.groups, key=lambda g: g.id):
        found_group = live.groups.get(group.id)
        members = (
            []
            if found_group is None
            else sorted((m.identity_id, m.role, m.status) for m in found_group.members)
        )
        doc[f"g:{group.id}"] = members
    doc["identities"] = sorted((ref, i.id) for ref, i in live.identities.items())
    blob = json.dumps(doc, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
