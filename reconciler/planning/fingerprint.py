"""A digest of the live state a plan depends on, to refuse applying a stale saved plan."""

from __future__ import annotations

import hashlib

from reconciler.core.intent import Intent
from reconciler.core.live import LiveState


def compute_fingerprint(intent: Intent, live: LiveState) -> str:
    """Covers the access lists of the declared collections, the memberships of the
    declared groups and the resolved identities: everything planning reads. Order in
    which Globus lists them does not matter."""
    lines: list[str] = []
    for collection in intent.collections:
        found = live.collections.get(collection.id)
        for r in found.rules if found else ():
            expires = int(r.expires.timestamp()) if r.expires else ""
            lines.append(
                f"c\x1f{collection.id}\x1f{r.id}\x1f{r.principal_type}\x1f{r.principal}"
                f"\x1f{r.path}\x1f{r.permissions}\x1f{expires}"
            )
    for group in intent.groups:
        found_group = live.groups.get(group.id)
        for m in found_group.members if found_group else ():
            lines.append(f"g\x1f{group.id}\x1f{m.identity_id}\x1f{m.role}\x1f{m.status}")
    lines.extend(f"i\x1f{ref}\x1f{i.id}" for ref, i in live.identities.items())
    lines.extend(f"u\x1f{cid}" for cid in live.unreadable_collections)
    lines.extend(f"u\x1f{gid}" for gid in live.unreadable_groups)
    lines.sort()
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]
