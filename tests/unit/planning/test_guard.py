"""The deletion guard counts prunes only and refuses above its thresholds."""

from __future__ import annotations

from datetime import timedelta

from reconciler.core.plan import GuardPolicy
from reconciler.planning import compute_plan
from tests.unit.planning.builders import ADMIN_ROLE, NOW, grant, intent, live, rule


def strays(n: int) -> tuple[object, ...]:
    return tuple(rule(f"{i:08d}-0000-4000-8000-000000000000", f"/disthome/u{i}/") for i in range(n))


def test_deleting_everything_trips_the_fraction_guard() -> None:
    plan = compute_plan(intent(()), live((ADMIN_ROLE, *strays(10))), now=NOW)  # type: ignore[arg-type]
    assert plan.guard.tripped
    assert plan.blocked
    assert plan.guard.pruned == 10
    assert "--allow-mass-deletion" in plan.guard.explanation


def test_a_few_prunes_pass() -> None:
    plan = compute_plan(intent(()), live((ADMIN_ROLE, *strays(3))), now=NOW)  # type: ignore[arg-type]
    assert not plan.guard.tripped


def test_count_limit_and_override() -> None:
    policy = GuardPolicy(max_deletions=2, max_fraction=1.0)
    plan = compute_plan(intent(()), live((ADMIN_ROLE, *strays(3))), now=NOW, guard=policy)  # type: ignore[arg-type]
    assert plan.guard.tripped
    allowed = GuardPolicy(max_deletions=2, max_fraction=1.0, allow_mass_deletion=True)
    plan = compute_plan(intent(()), live((ADMIN_ROLE, *strays(3))), now=NOW, guard=allowed)  # type: ignore[arg-type]
    assert not plan.guard.tripped
    assert len(plan.actions) == 6  # three deletions, three directory removals


def test_mass_expiry_is_never_blocked() -> None:
    grants = tuple(
        grant(f"{i:08d}-0000-4000-8000-000000000000", days=-1, line=i) for i in range(40)
    )
    rules = tuple(
        rule(g.principal.value, f"/disthome/{g.principal.value}/", expires=NOW - timedelta(days=1))
        for g in grants
    )
    plan = compute_plan(intent(grants), live((ADMIN_ROLE, *rules)), now=NOW)
    assert not plan.guard.tripped
    assert plan.guard.pruned == 0
    assert [a.kind for a in plan.actions].count("delete_rule") == 40
