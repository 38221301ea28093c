"""``--target``: a targeted plan is a subset of the full plan, never prunes outside its
target (a distribution never prunes at all), and is refused by the guard whenever it
prunes while the full plan is refused. Plain data, no Globus."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from reconciler.core.actions import AddMember, DeleteRule, RemoveMember
from reconciler.core.live import LiveMember
from reconciler.core.plan import GuardPolicy, Plan
from reconciler.planning import compute_plan
from reconciler.planning.scoping import Target, compute_target, compute_targeted_plan
from tests.unit.planning.builders import (
    ADMIN_ROLE,
    ALICE,
    BOB,
    CAROL,
    NOW,
    grant,
    intent,
    live,
    membership,
    rule,
)

SHARED = replace(grant(BOB, kind="group", path="/disthome/shared/"), distribution="shared")
STRAY = rule(CAROL, "/disthome/stray/")
WANTED = intent(
    (grant("alice@example.org"), grant(BOB, line=2), SHARED),
    (membership("alice@example.org"),),
    mode="exclusive",
)
CAROL_MEMBER = LiveMember(CAROL, "carol@example.org", "member", "active")


def full_plan(*, guard: GuardPolicy | None = None) -> tuple[Plan, object]:
    state = live((ADMIN_ROLE, STRAY), (CAROL_MEMBER,))
    return compute_plan(WANTED, state, now=NOW, guard=guard), state


def targeted(*texts: str, guard: GuardPolicy | None = None) -> Plan:
    plan, state = full_plan(guard=guard)
    return compute_targeted_plan(plan, WANTED, state, [compute_target(t) for t in texts])  # type: ignore[arg-type]


def test_targets_are_read_as_written() -> None:
    assert compute_target("run42") == Target("distribution", "run42")
    assert compute_target("collection:petrel") == Target("collection", "petrel")
    assert compute_target("group:tutorial") == Target("group", "tutorial")
    assert str(compute_target("group:tutorial")) == "group:tutorial"
    assert compute_target("other:x") == Target("distribution", "other:x")


def test_a_distribution_gets_its_grants_and_their_directories_and_never_a_prune() -> None:
    plan = targeted("run42")
    assert plan.targets == ("run42",)
    paths = {(a.kind, getattr(a, "path", None)) for a in plan.actions}
    assert paths == {
        ("make_directory", f"/disthome/{ALICE}/"),
        ("make_directory", f"/disthome/{BOB}/"),
        ("create_rule", f"/disthome/{ALICE}/"),
        ("create_rule", f"/disthome/{BOB}/"),
    }
    shared = targeted("shared")
    assert {(a.kind, getattr(a, "path", None)) for a in shared.actions} == {
        ("make_directory", "/disthome/shared/"),
        ("create_rule", "/disthome/shared/"),
    }


def test_a_collection_gets_everything_in_it_and_a_group_its_memberships() -> None:
    full, _ = full_plan()
    collection = targeted("collection:petrel")
    assert [a for a in full.actions if not isinstance(a, AddMember | RemoveMember)] == list(
        collection.actions
    )
    assert any(isinstance(a, DeleteRule) and a.pruned for a in collection.actions)
    group = targeted("group:tutorial")
    assert {a.kind for a in group.actions} == {"add_member", "remove_member"}


def test_no_target_is_the_full_plan() -> None:
    full, state = full_plan()
    assert compute_targeted_plan(full, WANTED, state, []) is full  # type: ignore[arg-type]


def test_the_guard_refuses_a_targeted_prune_when_it_refuses_the_full_plan() -> None:
    strict = GuardPolicy(max_deletions=0)
    full, _ = full_plan(guard=strict)
    assert full.guard.tripped
    collection = targeted("collection:petrel", guard=strict)
    assert collection.blocked
    assert collection.guard.tripped_by == full.guard.tripped_by
    assert "this targeted plan holds 1 of those prune(s)" in collection.guard.explanation
    distribution = targeted("run42", guard=strict)
    assert not distribution.blocked
    assert distribution.guard.pruned == 0
    # Not refused in full: not refused when targeted either.
    lenient = targeted("collection:petrel")
    assert not lenient.blocked


@given(
    st.lists(
        st.sampled_from(["run42", "shared", "collection:petrel", "group:tutorial"]),
        min_size=1,
        max_size=3,
    ),
    st.integers(min_value=0, max_value=3),
)
def test_a_targeted_plan_is_a_subset_of_the_full_plan_in_its_order(
    texts: list[str], max_deletions: int
) -> None:
    guard = GuardPolicy(max_deletions=max_deletions)
    full, state = full_plan(guard=guard)
    plan = compute_targeted_plan(full, WANTED, state, [compute_target(t) for t in texts])  # type: ignore[arg-type]
    positions = [full.actions.index(a) for a in plan.actions]
    assert positions == sorted(positions)
    prunes = [a for a in plan.actions if getattr(a, "pruned", False)]
    if not any(t.startswith(("collection:", "group:")) for t in texts):
        assert prunes == []
    assert plan.blocked >= (full.guard.tripped and bool(prunes))
    assert not plan.guard.tripped or full.guard.tripped


def test_problems_anywhere_still_block_a_targeted_plan() -> None:
    unknown = replace(grant("nobody@example.org", line=7), distribution="other")
    wanted = replace(WANTED, grants=(*WANTED.grants, unknown))
    state = live((ADMIN_ROLE,), ())
    full = compute_plan(wanted, state, now=NOW + timedelta(seconds=1))
    plan = compute_targeted_plan(full, wanted, state, [compute_target("run42")])
    assert full.problems
    assert plan.problems == full.problems
    assert plan.blocked
