"""Plan the removal of revoked rules' directories for one collection: which go now,
which wait out the prune grace, and which scheduled removals are dropped.

Access may end at once; data is deleted only on purpose. A directory whose grant
expired or was consumed (the specs say so) is removed in the same pass as its rule. A
directory some *pruned* grant used (no spec asks for it any more: perhaps a spec file
was deleted or renamed by mistake) is only scheduled: ``ScheduleRemoval`` is recorded in
the state store before the rule is deleted, and ``RemoveDirectory`` is planned once the
collection's ``prune_grace`` has passed. If a spec asks for the directory again first,
the schedule is dropped and the data is still there. A recorded date only ever moves
later: a lengthened grace extends it (counted from when it was scheduled), a shortened
one leaves it as it is. Without a state store nothing can
remember the schedule, so such a directory is never removed.

Pure: the schedule comes in as a value (``Lifecycle.scheduled_removals``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple, cast

from reconciler.core.actions import (
    Action,
    CancelRemoval,
    Principal,
    RemoveDirectory,
    ScheduleRemoval,
)
from reconciler.core.intent import CollectionIntent, PrincipalKind
from reconciler.core.lifecycle import Lifecycle, RuleKey, ScheduledRemoval
from reconciler.core.live import LiveRule
from reconciler.core.plan import PendingRemoval
from reconciler.planning.desired import DesiredRule, RevokedRule
from reconciler.planning.paths import (
    format_instant,
    format_span,
    is_strictly_under,
    self_and_ancestors,
)


class Cleanup(NamedTuple):
    """Why a directory may be removed: ``pruned`` when some grant that used it is no
    longer in any spec (it then waits out the grace period), else expiry or consumption."""

    pruned: bool
    reason: str
    principal: Principal | None


def merge_cleanup(cleaned: dict[str, Cleanup], path: str, cleanup: Cleanup) -> None:
    """Record ``cleanup`` for ``path``. A directory any pruned grant used waits out the
    grace even when another grant on it expired: deleting data is never urgent."""
    found = cleaned.get(path)
    if found is None or (cleanup.pruned and not found.pruned):
        cleaned[path] = cleanup


@dataclass
class CleanupPlan:
    actions: list[Action] = field(default_factory=list)
    """Schedules and cancellations, then removals (the caller orders the whole plan)."""
    pending: list[PendingRemoval] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    next_check: datetime | None = None


def compute_cleanup_actions(
    collection: CollectionIntent,
    cleaned: Mapping[str, Cleanup],
    *,
    kept_paths: Iterable[str],
    lifecycle: Lifecycle,
    now: datetime,
) -> CleanupPlan:
    """``cleaned`` holds the directories revoked rules (and the store) make candidates;
    ``kept_paths`` what grants in force, and revoked grants that keep theirs (rule or
    not), still use. Only directories the reconciler made; never the root, never outside
    it, never a directory in use or above one in use."""
    schedules = {
        path: found
        for (cid, path), found in lifecycle.scheduled_removals.items()
        if cid == collection.id
    }
    cleaned = _with_schedules(cleaned, schedules)
    for cid, path in lifecycle.removing_directories:
        if cid == collection.id:
            cleaned.pop(path, None)  # its delete task is already on the way
    # Only directories the reconciler made are ever removed: a grant (or a rule made
    # out of band) on a directory that was there before it, say a dataset shared for a
    # while, never costs that directory. Such a directory, like a kept path, is never
    # taken along by the recursive delete of a directory above it either.
    made = {path for cid, path in lifecycle.cleanable_directories if cid == collection.id}
    found_there = [path for path in cleaned if path not in made]
    # A directory is in use when it is a kept path or an ancestor of one.
    in_use = {a for kept in (*kept_paths, *found_there) for a in self_and_ancestors(kept)}
    out = CleanupPlan()
    now_removed: dict[str, Cleanup] = {}
    staying: dict[str, datetime] = {}
    unscheduled = 0
    for path in sorted(cleaned):
        cleanup = cleaned[path]
        scheduled = schedules.get(path)
        why_not = _why_kept(collection, path, cleanup, in_use, made=path in made)
        if why_not is not None:
            if scheduled is not None:
                out.actions.append(_cancel(collection, scheduled, why_not))
        elif not cleanup.pruned:
            now_removed[path] = cleanup
        elif not lifecycle.durable:
            unscheduled += 1
        else:
            due = _plan_pruned(collection, path, cleanup, scheduled, now=now, out=out)
            if due is None:
                now_removed[path] = _grace_over(collection, cleanup, scheduled)
            else:
                staying[path] = due
    # A recursive delete of a parent would take a directory still waiting along.
    above_staying = {a for path in staying for a in self_and_ancestors(path) if a != path}
    out.actions.extend(
        _remove(collection, path, cleanup)
        for path, cleanup in now_removed.items()
        if path not in above_staying
    )
    out.notes.extend(_kept_notes(collection, len(found_there), unscheduled, lifecycle.durable))
    out.next_check = min(staying.values(), default=None)
    return out


def _with_schedules(
    cleaned: Mapping[str, Cleanup], schedules: Mapping[str, ScheduledRemoval]
) -> dict[str, Cleanup]:
    """The candidates, with every scheduled directory among them as a pruned one (and
    whose it was, as the schedule remembers it, when nothing else says)."""
    out = dict(cleaned)
    for path, found in schedules.items():
        known = out.get(path)
        if known is None or not known.pruned:
            out[path] = Cleanup(True, "cleanup of a pruned grant's directory", _principal(found))
        elif known.principal is None:
            out[path] = known._replace(principal=_principal(found))
    return out


def _plan_pruned(
    collection: CollectionIntent,
    path: str,
    cleanup: Cleanup,
    scheduled: ScheduledRemoval | None,
    *,
    now: datetime,
    out: CleanupPlan,
) -> datetime | None:
    """Schedule a pruned grant's directory, extend or show its schedule, and return its
    due date; None when its grace is over (it is removed now)."""
    if scheduled is None:
        due = now + collection.prune_grace
        out.actions.append(_schedule(collection, path, cleanup, due, since=now))
        return due
    due = compute_due(scheduled, collection.prune_grace)
    if now >= due:
        return None
    if due > scheduled.due:
        # Lengthened: recorded, so that shortening it again (or dropping the setting)
        # never brings the removal forward from the date shown.
        out.actions.append(_extend(collection, scheduled, due))
    else:
        out.pending.append(
            PendingRemoval(collection.name, collection.id, path, due, _principal(scheduled))
        )
    return due


def _grace_over(
    collection: CollectionIntent, cleanup: Cleanup, scheduled: ScheduledRemoval | None
) -> Cleanup:
    assert scheduled is not None
    due = format_instant(compute_due(scheduled, collection.prune_grace))
    return Cleanup(True, f"{cleanup.reason}: its grace period ended at {due}", cleanup.principal)


def _kept_notes(
    collection: CollectionIntent, found_there: int, unscheduled: int, durable: bool
) -> list[str]:
    notes = []
    if found_there:
        why = (
            "the reconciler did not make them (they were there before their grant, or "
            "the state store has no record of them)"
            if durable
            else "without a state store nothing says the reconciler made them"
        )
        notes.append(
            f"collection {collection.name}: {found_there} revoked grant directory(ies) "
            f"kept: {why}, so they are never removed"
        )
    if unscheduled:
        notes.append(
            f"collection {collection.name}: {unscheduled} pruned grant directory(ies) kept: "
            "without a state store their removal cannot be scheduled"
        )
    return notes


def compute_due(scheduled: ScheduledRemoval, grace: timedelta) -> datetime:
    """When a scheduled directory may go: its recorded date, or later when the
    collection's grace has been lengthened since (counted from when it was scheduled;
    the later date is then recorded). A shorter grace never brings a removal forward."""
    if scheduled.scheduled_at is None:
        return scheduled.due
    return max(scheduled.due, scheduled.scheduled_at + grace)


def _why_kept(
    collection: CollectionIntent, path: str, cleanup: Cleanup, in_use: set[str], *, made: bool
) -> str | None:
    """Why ``path`` is not to be removed at all (its schedule is then dropped), or None."""
    if not is_strictly_under(path, collection.root):
        return f"it is not under the collection's root {collection.root} any more"
    if not made:
        return "the reconciler did not make it (it was there before its grant)"
    if path in in_use:
        return (
            "a grant in force uses it (or a directory below it) again, or a revoked "
            "grant with cleanup: false keeps its directory there"
        )
    if cleanup.pruned and not collection.cleanup:
        return "the collection's policy.cleanup is off"
    return None


def _principal(found: ScheduledRemoval) -> Principal | None:
    if not found.principal_type:
        return None
    kind = cast(PrincipalKind, found.principal_type)
    return Principal(kind, found.principal_id, found.principal_label)


def _schedule(
    collection: CollectionIntent, path: str, cleanup: Cleanup, due: datetime, *, since: datetime
) -> ScheduleRemoval:
    return ScheduleRemoval(
        collection=collection.name,
        collection_id=collection.id,
        path=path,
        due=due,
        reason=(
            f"{cleanup.reason}, kept for policy.prune_grace "
            f"({format_span(collection.prune_grace)}) in case a spec asks for it again"
        ),
        principal=cleanup.principal,
        since=since,
    )


def _extend(
    collection: CollectionIntent, found: ScheduledRemoval, due: datetime
) -> ScheduleRemoval:
    return ScheduleRemoval(
        collection=collection.name,
        collection_id=collection.id,
        path=found.path,
        due=due,
        reason=(
            f"policy.prune_grace is now {format_span(collection.prune_grace)}: the removal "
            f"scheduled for {format_instant(found.due)} waits until {format_instant(due)}"
        ),
        principal=_principal(found),
        since=found.scheduled_at,
    )


def _cancel(collection: CollectionIntent, found: ScheduledRemoval, why: str) -> CancelRemoval:
    return CancelRemoval(
        collection=collection.name,
        collection_id=collection.id,
        path=found.path,
        due=found.due,
        reason=f"the directory stays: {why}",
        principal=_principal(found),
    )


def _remove(collection: CollectionIntent, path: str, cleanup: Cleanup) -> RemoveDirectory:
    return RemoveDirectory(
        collection=collection.name,
        collection_id=collection.id,
        path=path,
        reason=cleanup.reason,
        pruned=cleanup.pruned,
        principal=cleanup.principal,
    )


def compute_absent_rule_cleanups(
    collection: CollectionIntent,
    live_by_key: Mapping[RuleKey, LiveRule],
    revoked: Mapping[RuleKey, RevokedRule],
    lifecycle: Lifecycle,
) -> dict[str, Cleanup]:
    """Directories the reconciler made for grants now revoked whose rule is already
    gone (Globus may drop a rule at its expiry): still cleaned up, from the store."""
    out: dict[str, Cleanup] = {}
    for key, gone in revoked.items():
        if key in live_by_key or not gone.grant.cleanup:
            continue
        if (collection.id, gone.path) in lifecycle.cleanable_directories:
            out[gone.path] = Cleanup(
                False,
                "cleanup of the revoked grant's directory (rule already gone)",
                gone.principal,
            )
    return out


def compute_unclaimed_made_directories(
    collection: CollectionIntent,
    wanted: Mapping[RuleKey, DesiredRule],
    revoked: Mapping[RuleKey, RevokedRule],
    lifecycle: Lifecycle,
) -> dict[str, Cleanup]:
    """Grant directories the reconciler made that no grant in the specs claims any more
    (neither in force nor revoked): their grant was pruned, or a run stopped between
    making a directory and creating its rule. Cleaned up like the directory of a pruned
    rule (after the grace) when the collection's cleanup applies."""
    if not collection.cleanup:
        return {}
    claimed = {rule.path for rule in wanted.values()} | {gone.path for gone in revoked.values()}
    return {
        path: Cleanup(True, "cleanup of a directory made for a grant no spec lists any more", None)
        for collection_id, path in lifecycle.cleanable_directories
        if collection_id == collection.id and path not in claimed
    }
