"""Planning: compare the desired state at ``now`` with the live state and produce a Plan.

Pure decision: ``compute_plan`` reads only its arguments (no network, no files, no clock),
so a fresh CI runner and the daemon plan exactly the same thing from the same inputs.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta

from reconciler.core.actions import (
    Action,
    AddMember,
    CancelRemoval,
    CreateRule,
    DeleteRule,
    MakeDirectory,
    RemoveDirectory,
    RemoveMember,
    ScheduleRemoval,
    StageData,
    UpdateRule,
)
from reconciler.core.intent import Intent
from reconciler.core.lifecycle import Lifecycle, LocatedError, RuleKey
from reconciler.core.live import LiveCollection, LiveGroup, LiveState
from reconciler.core.plan import GuardPolicy, PendingRemoval, Plan, Problem, SpecFiles
from reconciler.planning.clock import compute_clock_problems
from reconciler.planning.desired import DesiredRule, RevokedRule, compute_desired
from reconciler.planning.fingerprint import compute_fingerprint
from reconciler.planning.guard import Holding, compute_guard
from reconciler.planning.members import compute_member_actions
from reconciler.planning.rules import compute_rule_actions
from reconciler.planning.unreadable import compute_unreadable_errors

__all__ = ["RuleKey", "compute_plan"]

# A pruned grant's directory is scheduled before its rule is deleted (the executor
# waits for it), then revocations (they also free rule slots under the 1000-rule limit),
# directory cleanup, then changes, directories and grants.
_ORDER: dict[type, int] = {
    ScheduleRemoval: 0,
    DeleteRule: 1,
    RemoveMember: 2,
    RemoveDirectory: 3,
    CancelRemoval: 4,
    UpdateRule: 5,
    MakeDirectory: 6,
    StageData: 7,
    CreateRule: 8,
    AddMember: 9,
}


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Planning allocates hundreds of thousands of small acyclic objects for large spec
    sets; the cyclic garbage collector's repeated scans of them cost a third of the
    time and reclaim nothing, so it waits until planning is done."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def compute_plan(
    intent: Intent,
    live: LiveState,
    *,
    now: datetime,
    guard: GuardPolicy | None = None,
    lifecycle: Lifecycle | None = None,
    max_clock_skew: timedelta | None = None,
    spec_files: SpecFiles | None = None,
) -> Plan:
    """Everything that must change for Globus to match ``intent`` at ``now``.

    ``lifecycle`` carries what the state store remembers (staging tasks, consumed
    grants, directories made, scheduled removals); without it, planning uses specs and
    live state alone. With ``max_clock_skew``, a ``now`` that differs from Globus's
    clock (``live.clocks``) by more blocks the plan. With ``spec_files``, prunes while a
    spec file that held grants has vanished trip the deletion guard."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    with _collector_paused():
        plan = _compute_plan(
            intent, live, now=now, guard=guard, lifecycle=lifecycle, spec_files=spec_files
        )
    if max_clock_skew is None:
        return plan
    clock = compute_clock_problems(now, live.clocks, limit=max_clock_skew)
    return replace(plan, problems=(*clock, *plan.problems)) if clock else plan


def _compute_plan(
    intent: Intent,
    live: LiveState,
    *,
    now: datetime,
    guard: GuardPolicy | None,
    lifecycle: Lifecycle | None,
    spec_files: SpecFiles | None,
) -> Plan:
    lifecycle = lifecycle or Lifecycle()
    desired = compute_desired(intent, live.identities, now=now, consumed=lifecycle.consumed)
    problems: list[Problem] = list(desired.problems)
    notes: list[str] = list(desired.notes)
    actions: list[Action] = []
    errors: list[LocatedError] = [*lifecycle.errors, *compute_unreadable_errors(intent, live)]
    holdings: list[Holding] = []
    pending: list[PendingRemoval] = []
    checks: list[datetime] = []

    wanted: dict[str, dict[RuleKey, DesiredRule]] = {c.id: {} for c in intent.collections}
    for key, rule in desired.rules.items():
        wanted.setdefault(key[0], {})[key] = rule
    revoked: dict[str, dict[RuleKey, RevokedRule]] = {c.id: {} for c in intent.collections}
    for key, gone in desired.revoked.items():
        revoked.setdefault(key[0], {})[key] = gone

    for collection in intent.collections:
        if collection.id in live.unreadable_collections:
            continue  # nothing planned, nothing pruned where nothing could be seen
        found = live.collections.get(collection.id)
        if found is None:
            problems.append(
                Problem(
                    f"collection {collection.name} ({collection.id}) was not read",
                    collection.origin,
                )
            )
            found = LiveCollection(collection.id, ())
        rule_plan = compute_rule_actions(
            collection,
            found,
            wanted[collection.id],
            revoked[collection.id],
            lifecycle=lifecycle,
            now=now,
        )
        actions.extend(rule_plan.actions)
        notes.extend(rule_plan.notes)
        pending.extend(rule_plan.pending)
        if rule_plan.next_check is not None:
            checks.append(rule_plan.next_check)
        holdings.append(Holding("collection", collection.id, collection.name, rule_plan.managed))

    for group in intent.groups:
        if group.id in live.unreadable_groups:
            continue
        found_group = live.groups.get(group.id)
        if found_group is None:
            problems.append(Problem(f"group {group.name} ({group.id}) was not read", group.origin))
            found_group = LiveGroup(group.id, ())
        member_plan = compute_member_actions(
            group,
            found_group,
            desired.members,
            desired.expired_members,
            now=now,
            refusals=lifecycle.member_refusals,
        )
        actions.extend(member_plan.actions)
        errors.extend(member_plan.errors)
        holdings.append(Holding("group", group.id, group.name, member_plan.managed))
        if member_plan.note:
            notes.append(member_plan.note)

    actions.sort(key=lambda a: _ORDER[type(a)])
    verdict = compute_guard(
        actions, holdings=holdings, policy=guard or GuardPolicy(), spec_files=spec_files
    )
    managed_rules = sum(h.managed for h in holdings if h.kind == "collection")
    managed_members = sum(h.managed for h in holdings if h.kind == "group")
    return Plan(
        now=now,
        actions=tuple(actions),
        problems=tuple(problems),
        notes=tuple(notes),
        guard=verdict,
        live_fingerprint=compute_fingerprint(intent, live),
        next_expiry=desired.next_expiry,
        managed_rules=managed_rules,
        managed_members=managed_members,
        errors=tuple(errors),
        next_check=min(checks, default=None),
        pending_removals=tuple(pending),
    )
