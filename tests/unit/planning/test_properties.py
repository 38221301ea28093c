"""Properties of planning over generated intents and live states."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.core.actions import AddMember, CreateRule, DeleteRule, RemoveMember, UpdateRule
from reconciler.core.intent import Intent
from reconciler.core.live import LiveMember, LiveRule, LiveState
from reconciler.core.plan import GuardPolicy
from reconciler.planning import compute_plan
from tests.unit.planning.builders import (
    ADMIN,
    ALICE,
    BOB,
    CAROL,
    COLL,
    GROUP,
    NOW,
    collection,
    grant,
    group,
    live,
    membership,
    rule,
    simulate,
)

PEOPLE = ["alice@example.org", "bob@example.org", ALICE, BOB, CAROL]
IDS = [ALICE, BOB, CAROL, ADMIN]
PATHS = [
    "/disthome/{identity_id}/",
    "/disthome/run42/{identity_id}/",
    "/disthome/shared/",
    "/disthome/run42/",
]
LIVE_PATHS = [
    "/",
    "/disthome/",
    "/elsewhere/",
    "/disthome/shared/",
    "/disthome/run42/",
    *(f"/disthome/{i}/" for i in IDS),
]
NO_GUARD = GuardPolicy(allow_mass_deletion=True)

grants = st.builds(
    lambda who, path, days, perm, line: grant(
        who, path=path, days=days, permissions=perm, line=line
    ),
    st.sampled_from(PEOPLE),
    st.sampled_from(PATHS),
    st.integers(-3, 3).filter(lambda d: d != 0),
    st.sampled_from(["r", "rw"]),
    st.integers(1, 10_000),
)
memberships = st.builds(
    lambda who, days: membership(who, days=days),
    st.sampled_from(PEOPLE),
    st.integers(-3, 3).filter(lambda d: d != 0),
)
live_rules = st.builds(
    lambda who, path, perm, days, role: rule(
        who,
        path,
        permissions=perm,
        expires=NOW + timedelta(days=days),
        role=role,
        rule_id=f"{who}-{path}-{perm}",
    ),
    st.sampled_from(IDS),
    st.sampled_from(LIVE_PATHS),
    st.sampled_from(["r", "rw"]),
    st.integers(-3, 3),
    st.booleans(),
)
live_members = st.builds(
    LiveMember,
    st.sampled_from(IDS),
    st.none(),
    st.sampled_from(["member", "manager", "admin"]),
    st.sampled_from(["active", "invited", "left", "removed"]),
)


@st.composite
def worlds(draw: st.DrawFn) -> tuple[Intent, LiveState]:
    mode = draw(st.sampled_from(["additive", "exclusive"]))
    gs = tuple(draw(st.lists(grants, max_size=8)))
    # Keep one grant per (principal, path): conflicting duplicates are a validation error
    # caught before planning, so they are not planning inputs.
    seen: dict[tuple[str, str], object] = {}
    unique = tuple(g for g in gs if seen.setdefault((g.principal.value, g.path), g) is g)
    ms = tuple(draw(st.lists(memberships, max_size=5)))
    intent = Intent((collection(),), (group(mode),), unique, ms)
    rules_drawn = draw(st.lists(live_rules, max_size=8))
    by_key: dict[tuple[str, str], LiveRule] = {}
    for r in rules_drawn:
        by_key.setdefault((r.principal, r.path), r)
    members = {m.identity_id: m for m in draw(st.lists(live_members, max_size=5))}
    return intent, live(tuple(by_key.values()), tuple(members.values()))


@settings(max_examples=300, deadline=None)
@given(worlds())
def test_applying_a_plan_then_replanning_gives_an_empty_plan(
    world: tuple[Intent, LiveState],
) -> None:
    intent, state = world
    plan = compute_plan(intent, state, now=NOW, guard=NO_GUARD)
    if plan.problems:
        return
    after = simulate(state, plan)
    again = compute_plan(intent, after, now=NOW, guard=NO_GUARD)
    assert again.actions == (), again.actions


@settings(max_examples=300, deadline=None)
@given(worlds())
def test_no_plan_touches_role_entries_outside_root_or_admins(
    world: tuple[Intent, LiveState],
) -> None:
    intent, state = world
    plan = compute_plan(intent, state, now=NOW, guard=NO_GUARD)
    rules = {r.id: r for r in state.collections[COLL].rules}
    roles = {m.identity_id: m.role for m in state.groups[GROUP].members}
    for action in plan.actions:
        if isinstance(action, DeleteRule | UpdateRule):
            target = rules[action.rule_id]
            assert not target.is_role_derived
            assert target.path.startswith("/disthome/")
            assert target.path != "/disthome/"
        if isinstance(action, CreateRule):
            assert action.path.startswith("/disthome/")
            assert action.path != "/disthome/"
        if isinstance(action, RemoveMember | AddMember):
            assert roles.get(action.principal.id, "member") == "member"
        path = getattr(action, "path", None)
        if path is not None:
            assert path.startswith("/disthome/")
            assert path != "/disthome/"


@settings(max_examples=200, deadline=None)
@given(worlds())
def test_planning_is_deterministic(world: tuple[Intent, LiveState]) -> None:
    intent, state = world
    assert compute_plan(intent, state, now=NOW) == compute_plan(intent, state, now=NOW)


@settings(max_examples=300, deadline=None)
@given(worlds())
def test_after_applying_globus_holds_exactly_the_grants_in_force(
    world: tuple[Intent, LiveState],
) -> None:
    intent, state = world
    plan = compute_plan(intent, state, now=NOW, guard=NO_GUARD)
    if plan.problems:
        return
    after = simulate(state, plan)
    owned = {
        (r.principal, r.path): (r.permissions, r.expires)
        for r in after.collections[COLL].rules
        if not r.is_role_derived and r.path.startswith("/disthome/") and r.path != "/disthome/"
    }
    expected = {}
    for g in intent.grants:
        if g.expires <= NOW:
            continue
        ident = state.identities.get(g.principal.value)
        pid = ident.id if ident else g.principal.value
        expected[(pid, g.path.replace("{identity_id}", pid))] = (g.permissions, g.expires)
    assert owned == expected
