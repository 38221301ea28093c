"""A plan limited to some targets, like Terraform's ``-target``: one distribution, one
collection or one group. Pure.

The full plan is computed first, from the whole spec set and the whole live state, and
then narrowed; planning itself never sees a partial spec set, so a targeted plan can
only ever hold a *subset* of what the full plan would do:

- ``collection:NAME``: every rule, directory and staging action in that collection,
  prunes included;
- ``group:NAME``: the membership changes of that group, prunes (exclusive groups)
  included;
- a distribution's name: the rules of its grants (created, updated, or revoked at
  expiry or download), their directories, staging, and the cancelled removal of a
  directory whose grant is back. A prune (and a pruned directory's scheduled removal)
  belongs to no distribution, so a distribution target never prunes anything.

Safety: the deletion guard still applies. A targeted plan that prunes anything while
the full plan is refused by the guard is refused too (the guard's checks only ever
trip more as deletions grow, so a subset of an accepted plan is accepted). Problems
anywhere in the spec set (an unknown username, an unread collection) still block, as
they do for the full plan.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from reconciler.core.actions import (
    Action,
    AddMember,
    CancelRemoval,
    CreateRule,
    DeleteRule,
    MakeDirectory,
    RemoveDirectory,
    RemoveMember,
    StageData,
    UpdateRule,
)
from reconciler.core.intent import Intent
from reconciler.core.lifecycle import RuleKey
from reconciler.core.live import LiveState
from reconciler.core.plan import GuardVerdict, Plan
from reconciler.planning.desired import compute_desired
from reconciler.planning.paths import self_and_ancestors

TargetKind = Literal["distribution", "collection", "group"]


@dataclass(frozen=True, slots=True)
class Target:
    kind: TargetKind
    name: str

    def __str__(self) -> str:
        return self.name if self.kind == "distribution" else f"{self.kind}:{self.name}"


def compute_target(text: str) -> Target:
    """``collection:NAME``, ``group:NAME`` or a distribution's name (not checked here)."""
    kind, sep, name = text.partition(":")
    if sep and kind in ("collection", "group"):
        return Target(kind, name)  # type: ignore[arg-type]
    return Target("distribution", text)


def compute_targeted_plan(
    plan: Plan, intent: Intent, live: LiveState, targets: Sequence[Target]
) -> Plan:
    """``plan`` with only the actions of ``targets`` (all of it when there are none)."""
    if not targets:
        return plan
    names = {t.name for t in targets if t.kind == "distribution"}
    keys = _distribution_keys(intent, live, names, now=plan.now)
    collections = {t.name for t in targets if t.kind == "collection"}
    groups = {t.name for t in targets if t.kind == "group"}
    key_paths = {(key[0], key[3]) for key in keys}
    direct = [a for a in plan.actions if _in_scope(a, keys, key_paths, collections, groups)]
    granted = {(a.collection_id, a.path) for a in direct if isinstance(a, CreateRule | StageData)}
    needed = {(cid, p) for cid, path in granted for p in self_and_ancestors(path)}
    chosen = {id(a) for a in direct}
    kept = [
        a
        for a in plan.actions
        if id(a) in chosen or (isinstance(a, MakeDirectory) and (a.collection_id, a.path) in needed)
    ]
    return dataclasses.replace(
        plan,
        actions=tuple(kept),
        guard=compute_targeted_guard(plan.guard, kept),
        targets=tuple(str(t) for t in targets),
    )


def compute_targeted_guard(full: GuardVerdict, actions: Iterable[Action]) -> GuardVerdict:
    """The guard of a targeted plan: refused when it prunes anything and the full
    plan is refused; never more permissive than the full plan."""
    pruned = sum(1 for a in actions if isinstance(a, DeleteRule | RemoveMember) and a.pruned)
    tripped = full.tripped and pruned > 0
    explanation = (
        f"{full.explanation} (this targeted plan holds {pruned} of those prune(s))"
        if tripped
        else ""
    )
    return GuardVerdict(
        pruned, full.managed, tripped, explanation, full.tripped_by if pruned else ()
    )


def _in_scope(
    action: Action,
    keys: frozenset[RuleKey],
    key_paths: set[tuple[str, str]],
    collections: set[str],
    groups: set[str],
) -> bool:
    if isinstance(action, AddMember | RemoveMember):
        return action.group in groups
    if action.collection in collections:
        return True
    if isinstance(action, CreateRule | UpdateRule | StageData):
        return _key(action) in keys
    if isinstance(action, DeleteRule):
        return not action.pruned and _key(action) in keys
    if isinstance(action, RemoveDirectory | CancelRemoval):
        # A pruned directory belongs to no distribution; a cancelled removal keeps the
        # data of a grant that is back.
        pruned = isinstance(action, RemoveDirectory) and action.pruned
        return not pruned and (action.collection_id, action.path) in key_paths
    # Made only for a grant in scope (see above); a scheduled removal is for a prune.
    return False


def _key(action: CreateRule | UpdateRule | StageData | DeleteRule) -> RuleKey:
    return (action.collection_id, action.principal.type, action.principal.id, action.path)


def _distribution_keys(
    intent: Intent, live: LiveState, names: set[str], *, now: datetime
) -> frozenset[RuleKey]:
    """The rule keys of the grants of distributions ``names``, in force or revoked."""
    if not names:
        return frozenset()
    desired = compute_desired(intent, live.identities, now=now)
    keys = {key for key, rule in desired.rules.items() if rule.grant.distribution in names}
    keys.update(key for key, gone in desired.revoked.items() if gone.grant.distribution in names)
    return frozenset(keys)
