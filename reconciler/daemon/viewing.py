"""What the status page is shown after a pass: the live state, plan and outcomes of the
whole spec set. A full pass shows its own; an expiry pass, which read and planned only
some collections and groups, lays them over what the passes before read and did
elsewhere (``compute_merged_view``). Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TypeVar

from reconciler.core.actions import Action
from reconciler.core.live import LiveState
from reconciler.core.plan import Plan
from reconciler.executing import Outcome

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class View:
    live: LiveState
    plan: Plan
    outcomes: list[Outcome]


def compute_merged_view(before: View | None, fresh: View) -> View:
    """``fresh`` (a plan of some collections and groups, on what was just read of them)
    laid over ``before`` (the whole spec set's): the rest keeps its live state, its
    actions and their outcomes."""
    if before is None:
        return fresh
    now, then = fresh.live, before.live
    collections = now.collections.keys() | now.unreadable_collections.keys()
    groups = now.groups.keys() | now.unreadable_groups.keys()

    def elsewhere(action: Action) -> bool:
        group = getattr(action, "group_id", None)
        if group is not None:
            return group not in groups
        return getattr(action, "collection_id", None) not in collections

    def over(old: Mapping[str, T], new: Mapping[str, T], part: Iterable[str]) -> dict[str, T]:
        kept = {key: value for key, value in old.items() if key not in part}
        return {**kept, **new}

    kept = tuple(a for a in before.plan.actions if elsewhere(a))
    return View(
        LiveState(
            collections=over(then.collections, now.collections, collections),
            groups=over(then.groups, now.groups, groups),
            identities={**then.identities, **now.identities},
            unreadable_collections=over(
                then.unreadable_collections, now.unreadable_collections, collections
            ),
            unreadable_groups=over(then.unreadable_groups, now.unreadable_groups, groups),
        ),
        replace(fresh.plan, actions=kept + fresh.plan.actions),
        [o for o in before.outcomes if elsewhere(o.action)],
    )
