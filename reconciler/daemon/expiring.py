"""What an expiry wake must look at: pure arithmetic over the intent's expiry instants.

At an expiry the daemon need not read every collection: only the collections holding a
grant, and the groups holding a membership, that expired since the last pass. This module
indexes the intent's expiry instants once per spec set (``compute_expiry_index``), says
which collections and groups fell due in an interval (``compute_due``) and when the next
expiry comes (``compute_next_expiry``), and cuts the intent down to what fell due
(``compute_partial_intent``), so that planning that part is planning it in full.

No clock and no I/O: every function takes its instants as arguments.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from reconciler.core.intent import Intent


@dataclass(frozen=True, slots=True)
class ExpiryIndex:
    instants: tuple[datetime, ...]
    """Every grant and membership expiry, ascending, each once."""
    collections: tuple[frozenset[str], ...]
    """Per instant, the collections (ids) with a grant expiring then."""
    groups: tuple[frozenset[str], ...]
    """Per instant, the groups (ids) with a membership expiring then."""


def compute_expiry_index(intent: Intent) -> ExpiryIndex:
    collections: dict[datetime, set[str]] = defaultdict(set)
    groups: dict[datetime, set[str]] = defaultdict(set)
    for grant in intent.grants:
        collections[grant.expires].add(grant.collection_id)
    for membership in intent.memberships:
        groups[membership.expires].add(membership.group_id)
    instants = tuple(sorted(collections.keys() | groups.keys()))
    return ExpiryIndex(
        instants=instants,
        collections=tuple(frozenset(collections.get(t, ())) for t in instants),
        groups=tuple(frozenset(groups.get(t, ())) for t in instants),
    )


def compute_due(
    index: ExpiryIndex, *, after: datetime, until: datetime
) -> tuple[frozenset[str], frozenset[str]]:
    """Collections and groups with an expiry in ``(after, until]``."""
    first = bisect_right(index.instants, after)
    last = bisect_right(index.instants, until)
    return (
        frozenset().union(*index.collections[first:last]),
        frozenset().union(*index.groups[first:last]),
    )


def compute_next_expiry(index: ExpiryIndex, now: datetime) -> datetime | None:
    """The first expiry strictly after ``now``."""
    position = bisect_right(index.instants, now)
    return index.instants[position] if position < len(index.instants) else None


def compute_partial_intent(
    intent: Intent, collection_ids: Iterable[str], group_ids: Iterable[str]
) -> Intent:
    """The part of ``intent`` about ``collection_ids`` and ``group_ids``: their grants and
    memberships whole, plus every group a kept grant names (so its principal keeps its
    name), with that group's memberships too (a group is always planned whole)."""
    collections = frozenset(collection_ids)
    grants = tuple(g for g in intent.grants if g.collection_id in collections)
    named = {g.principal.value for g in grants if g.principal.kind == "group"}
    groups = frozenset(group_ids) | (named & {g.id for g in intent.groups})
    return Intent(
        collections=tuple(c for c in intent.collections if c.id in collections),
        groups=tuple(g for g in intent.groups if g.id in groups),
        grants=grants,
        memberships=tuple(m for m in intent.memberships if m.group_id in groups),
    )
