"""The deletion guard: refuse a plan that prunes too much, or prunes the way an accident
does (a deleted or renamed spec file, a mistyped root).

Only prunes count (rules and memberships deleted because no spec asks for them any
more): revocations the specs declare (expiry, consumption) always go ahead, because
access must end on time. The guard refuses the whole plan when its prunes are

- more than ``--max-deletions``;
- more than ``--max-deletion-fraction`` of the managed rules and memberships, once
  there are more than ``fraction_floor`` prunes;
- at any size, enough to leave a collection or group with none of the managed objects
  it had (all of them removed, and nothing granted there instead);
- at any size, made while a spec file that held grants or memberships at the last
  successful pass is gone.

``--allow-mass-deletion`` lets all of them through. Every reason names the check that
tripped and the option that changes it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from reconciler.core.actions import Action, AddMember, CreateRule, DeleteRule, RemoveMember
from reconciler.core.plan import GuardPolicy, GuardVerdict, SpecFiles

ALLOW = "--allow-mass-deletion"


@dataclass(frozen=True, slots=True)
class Holding:
    """A collection or group, and how many managed objects it holds before the plan."""

    kind: Literal["collection", "group"]
    id: str
    name: str
    managed: int


def compute_guard(
    actions: Iterable[Action],
    *,
    holdings: Sequence[Holding],
    policy: GuardPolicy,
    spec_files: SpecFiles | None = None,
) -> GuardVerdict:
    actions = tuple(actions)
    removals = [a for a in actions if isinstance(a, DeleteRule | RemoveMember)]
    pruned = sum(1 for a in removals if a.pruned)
    managed = sum(h.managed for h in holdings)
    reasons: list[tuple[str, str]] = []
    if pruned > policy.max_deletions:
        reasons.append(
            (
                "max_deletions",
                f"that is more than --max-deletions {policy.max_deletions} "
                f"(to allow it, raise --max-deletions to {pruned} or pass {ALLOW})",
            )
        )
    fraction = pruned / managed if managed else 0.0
    if pruned > policy.fraction_floor and fraction > policy.max_fraction:
        reasons.append(
            (
                "max_deletion_fraction",
                f"that is {fraction:.0%} of the {managed} managed rules and memberships, more "
                f"than --max-deletion-fraction {policy.max_fraction:g} (checked above "
                f"{policy.fraction_floor} prunes; to allow it, raise --max-deletion-fraction "
                f"to {_ceil_fraction(fraction):g} or pass {ALLOW})",
            )
        )
    emptied = _emptied(actions, holdings)
    if emptied:
        reasons.append(
            (
                "emptied",
                f"it would leave {_join(emptied)} with none of the managed objects it had "
                f"(refused at any size; only {ALLOW} allows it)",
            )
        )
    vanished = spec_files.vanished() if spec_files is not None and pruned else ()
    if vanished:
        files = _join(f"{name} ({held} in force)" for name, held in vanished)
        reasons.append(
            (
                "vanished_spec_files",
                f"spec file(s) that held grants or memberships at the last successful pass "
                f"are gone: {files}; deleted, renamed, or no longer named *.yaml/*.yml "
                f"(refused at any size; restore them, or pass {ALLOW} if they are meant "
                "to go)",
            )
        )
    if not reasons:
        return GuardVerdict(pruned, managed, tripped=False, explanation="")
    explanation = (
        f"the deletion guard refuses this plan: it would prune {pruned} rule(s) or "
        f"membership(s) that no spec asks for; " + "; ".join(text for _, text in reasons) + ". "
        "A deleted or renamed spec file, or a mistyped root, looks like this. Pruned grants' "
        "directories are kept for their collection's policy.prune_grace either way."
    )
    return GuardVerdict(
        pruned,
        managed,
        tripped=not policy.allow_mass_deletion,
        explanation=explanation,
        tripped_by=tuple(name for name, _ in reasons),
    )


def _emptied(actions: Sequence[Action], holdings: Sequence[Holding]) -> list[str]:
    """Collections and groups this plan would leave holding none of their managed
    objects: every one it had removed, at least one of them pruned (expiry alone never
    trips the guard), and nothing granted there instead (a drift repair that replaces
    an intruder with the member the specs list is no accident)."""
    removed: Counter[str] = Counter()
    prunes: Counter[str] = Counter()
    added: Counter[str] = Counter()
    for action in actions:
        if isinstance(action, DeleteRule | RemoveMember):
            where = action.collection_id if isinstance(action, DeleteRule) else action.group_id
            removed[where] += 1
            prunes[where] += action.pruned
        elif isinstance(action, CreateRule):
            added[action.collection_id] += 1
        elif isinstance(action, AddMember):
            added[action.group_id] += 1
    return [
        f"{h.kind} {h.name} ({h.managed} managed)"
        for h in holdings
        if h.managed and prunes[h.id] and removed[h.id] >= h.managed and not added[h.id]
    ]


def _ceil_fraction(fraction: float) -> float:
    """The smallest two-decimal limit that lets ``fraction`` through."""
    return min(1.0, -(-round(fraction * 100, 6) // 1) / 100)


def _join(items: Iterable[str]) -> str:
    return ", ".join(items)
