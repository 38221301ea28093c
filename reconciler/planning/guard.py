"""The deletion guard: refuse a plan that prunes too much (a deleted spec file, a
mistyped root). Only prunes count: revocations the specs declare (expiry, consumption)
always go ahead, because access must end on time."""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.core.actions import Action, DeleteRule, RemoveMember
from reconciler.core.plan import GuardPolicy, GuardVerdict


def compute_guard(actions: Iterable[Action], *, managed: int, policy: GuardPolicy) -> GuardVerdict:
    pruned = sum(1 for a in actions if isinstance(a, DeleteRule | RemoveMember) and a.pruned)
    too_many = pruned > policy.max_deletions
    fraction = pruned / managed if managed else 0.0
    too_large = pruned > policy.fraction_floor and fraction > policy.max_fraction
    if not (too_many or too_large):
        return GuardVerdict(pruned, managed, tripped=False, explanation="")
    why = (
        f"more than {policy.max_deletions} deletions"
        if too_many
        else f"{fraction:.0%} of the {managed} managed rules and memberships "
        f"(limit {policy.max_fraction:.0%})"
    )
    explanation = (
        f"the deletion guard refuses this plan: it would prune {pruned} rule(s) or "
        f"membership(s) that no spec asks for, {why}. A deleted spec file or a mistyped root "
        "looks like this. If it is intended, re-run with --allow-mass-deletion "
        "(or raise --max-deletions)."
    )
    if policy.allow_mass_deletion:
        return GuardVerdict(pruned, managed, tripped=False, explanation=explanation)
    return GuardVerdict(pruned, managed, tripped=True, explanation=explanation)
