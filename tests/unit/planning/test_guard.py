"""The deletion guard counts prunes only, refuses above its thresholds and, at any size,
prunes that empty a collection or group or that come with a vanished spec file; each
refusal names the check that tripped and the option that changes it."""

from __future__ import annotations

from datetime import timedelta

from reconciler.core.live import LiveMember
from reconciler.core.plan import GuardPolicy, SpecFiles
from reconciler.planning import compute_plan
from tests.unit.planning.builders import (
    ADMIN,
    ADMIN_ROLE,
    ALICE,
    BOB,
    NOW,
    grant,
    intent,
    live,
    made,
    membership,
    rule,
)

KEPT = rule(ALICE, f"/disthome/{ALICE}/", expires=NOW + timedelta(days=30))
"""Alice's rule, which her grant keeps: the collection is never emptied."""


def strays(n: int) -> tuple[object, ...]:
    return tuple(rule(f"{i:08d}-0000-4000-8000-000000000000", f"/disthome/u{i}/") for i in range(n))


def keeping(n: int, **kwargs: object) -> object:
    """A plan that prunes ``n`` strays while alice's grant keeps its rule."""
    return compute_plan(intent((grant(),)), live((ADMIN_ROLE, KEPT, *strays(n))), now=NOW, **kwargs)  # type: ignore[arg-type]


def test_deleting_everything_trips_the_fraction_guard() -> None:
    plan = compute_plan(intent(()), live((ADMIN_ROLE, *strays(10))), now=NOW)  # type: ignore[arg-type]
    assert plan.guard.tripped
    assert plan.blocked
    assert plan.guard.pruned == 10
    assert plan.guard.tripped_by == ("max_deletion_fraction", "emptied")
    assert "--allow-mass-deletion" in plan.guard.explanation


def test_a_few_prunes_pass_when_the_collection_keeps_something() -> None:
    plan = keeping(3)
    assert not plan.guard.tripped, plan.guard.explanation
    assert plan.guard.pruned == 3


def test_a_single_prune_that_empties_a_collection_is_refused() -> None:
    plan = compute_plan(intent(()), live((ADMIN_ROLE, *strays(1))), now=NOW)  # type: ignore[arg-type]
    assert plan.guard.tripped
    assert plan.guard.tripped_by == ("emptied",)
    explanation = plan.guard.explanation
    assert "collection petrel (1 managed)" in explanation
    assert "only --allow-mass-deletion allows it" in explanation
    assert "--max-deletions" not in explanation


def test_prunes_that_empty_an_exclusive_group_are_refused() -> None:
    members = (
        LiveMember(ADMIN, "admin@example.org", "admin", "active"),
        LiveMember(BOB, "bob@example.org", "member", "active"),
    )
    plan = compute_plan(intent((), mode="exclusive"), live(members=members), now=NOW)
    assert plan.guard.tripped_by == ("emptied",)
    assert "group tutorial (1 managed)" in plan.guard.explanation
    # Keeping one listed member, the same prune passes.
    kept = (*members, LiveMember(ALICE, "alice@example.org", "member", "active"))
    plan = compute_plan(
        intent((), (membership("alice@example.org"),), mode="exclusive"),
        live(members=kept),
        now=NOW,
    )
    assert not plan.guard.tripped


def test_a_drift_repair_that_replaces_an_intruder_is_no_emptying() -> None:
    """The exclusive group's only member was swapped out of band: removing the intruder
    and adding back the listed member leaves the group with a managed member."""
    members = (
        LiveMember(ADMIN, "admin@example.org", "admin", "active"),
        LiveMember(BOB, "bob@example.org", "member", "active"),
    )
    plan = compute_plan(
        intent((), (membership("alice@example.org"),), mode="exclusive"),
        live(members=members),
        now=NOW,
    )
    assert [a.kind for a in plan.actions] == ["remove_member", "add_member"]
    assert not plan.guard.tripped, plan.guard.explanation


def test_expiry_that_empties_a_collection_is_never_refused() -> None:
    expired = rule(ALICE, f"/disthome/{ALICE}/", expires=NOW - timedelta(days=1))
    plan = compute_plan(
        intent((grant(days=-1),)),
        live((ADMIN_ROLE, expired)),
        now=NOW,
        lifecycle=made(f"/disthome/{ALICE}/"),
    )
    assert [a.kind for a in plan.actions] == ["delete_rule", "remove_directory"]
    assert not plan.guard.tripped


def test_the_count_limit_names_its_option_and_the_override_lets_it_through() -> None:
    policy = GuardPolicy(max_deletions=2, max_fraction=1.0)
    plan = keeping(3, guard=policy)
    assert plan.guard.tripped
    assert plan.guard.tripped_by == ("max_deletions",)
    assert "more than --max-deletions 2" in plan.guard.explanation
    assert "raise --max-deletions to 3 or pass --allow-mass-deletion" in plan.guard.explanation
    assert "--max-deletion-fraction" not in plan.guard.explanation

    allowed = GuardPolicy(max_deletions=2, max_fraction=1.0, allow_mass_deletion=True)
    strays_made = made(*(f"/disthome/u{i}/" for i in range(3)))
    plan = keeping(3, guard=allowed, lifecycle=strays_made)
    assert not plan.guard.tripped
    # Three rules go now; their directories are only scheduled, first.
    kinds = [a.kind for a in plan.actions]
    assert kinds == ["schedule_removal"] * 3 + ["delete_rule"] * 3


def test_the_fraction_limit_names_its_own_option_not_the_count() -> None:
    """The hint used to say "raise --max-deletions" whichever limit tripped."""
    wanted = tuple(
        grant(f"{i:08d}-0000-4000-8000-00000000000a", path=f"/disthome/k{i}/", line=i)
        for i in range(4)
    )
    kept = tuple(rule(g.principal.value, g.path) for g in wanted)
    plan = compute_plan(intent(wanted), live((ADMIN_ROLE, *kept, *strays(6))), now=NOW)  # type: ignore[arg-type]
    assert plan.guard.tripped_by == ("max_deletion_fraction",)
    explanation = plan.guard.explanation
    assert "60% of the 10 managed rules and memberships" in explanation
    assert "more than --max-deletion-fraction 0.5 (checked above 5 prunes" in explanation
    assert "raise --max-deletion-fraction to 0.6 or pass --allow-mass-deletion" in explanation
    assert "--max-deletions" not in explanation
    # Five prunes or fewer are never refused for their fraction alone.
    few = compute_plan(intent(wanted), live((ADMIN_ROLE, *kept, *strays(5))), now=NOW)  # type: ignore[arg-type]
    assert not few.guard.tripped


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


def test_a_vanished_spec_file_that_held_grants_refuses_prunes_at_any_size() -> None:
    files = SpecFiles(
        current={"collections.yaml": 0, "alice.yaml": 1},
        previous={"collections.yaml": 0, "alice.yaml": 1, "tutorial.yaml": 2},
    )
    plan = keeping(1, spec_files=files)
    assert plan.guard.tripped_by == ("vanished_spec_files",)
    assert "tutorial.yaml (2 in force)" in plan.guard.explanation
    assert "restore them, or pass --allow-mass-deletion" in plan.guard.explanation
    allowed = keeping(1, spec_files=files, guard=GuardPolicy(allow_mass_deletion=True))
    assert not allowed.guard.tripped


def test_a_vanished_spec_file_without_prunes_or_entries_is_harmless() -> None:
    # Renamed with the same grants inside: nothing is pruned, nothing to refuse.
    renamed = SpecFiles(current={"alice-2.yaml": 1}, previous={"alice.yaml": 1})
    assert not keeping(0, spec_files=renamed).guard.tripped
    # A file that held nothing in force (only expired grants, or only a collection).
    empty = SpecFiles(current={"alice.yaml": 1}, previous={"alice.yaml": 1, "old.yaml": 0})
    assert not keeping(1, spec_files=empty).guard.tripped
