"""The grant overview after a pass, from plain data: the live state read before the
pass with the action outcomes laid over it."""

from __future__ import annotations

from dataclasses import replace

from reconciler.core.plan import GuardPolicy
from reconciler.daemon.overview import IN_FORCE, compute_overview
from reconciler.executing import Outcome
from reconciler.planning import compute_plan
from tests.unit.planning.builders import (
    ALICE,
    BOB,
    NOW,
    ORIGIN,
    grant,
    intent,
    live,
    membership,
    rule,
)


def outcomes(plan: object, status: str = "done", **overrides: str) -> list[Outcome]:
    """Every action of ``plan`` with ``status``, except kinds named in ``overrides``."""
    return [
        Outcome(a, overrides.get(a.kind, status))  # type: ignore[arg-type]
        for a in plan.actions  # type: ignore[attr-defined]
    ]


def test_rules_created_in_the_pass_are_shown_in_force_and_deleted_ones_are_gone() -> None:
    specs = intent((grant("alice@example.org"),), (membership("bob@example.org", days=10),))
    stray = rule(BOB, "/disthome/stray/", expires=None)
    before = live(rules=(stray,))
    plan = compute_plan(specs, before, now=NOW)

    view = compute_overview(specs, before, plan, outcomes(plan))

    (petrel,) = view.collections
    assert [(g.principal, g.path, g.permissions, g.state) for g in petrel.grants] == [
        ("identity:alice@example.org", f"/disthome/{ALICE}/", "r", IN_FORCE)
    ]
    assert petrel.grants[0].expires == specs.grants[0].expires
    # what the pass changed, with why and how it went (the stray rule is drift)
    changes = {(c.kind, c.outcome) for c in petrel.changes}
    assert ("delete_rule", "done") in changes
    assert ("create_rule", "done") in changes
    stray_change = next(c for c in petrel.changes if c.kind == "delete_rule")
    assert "/disthome/stray/" in stray_change.target
    assert stray_change.reason
    (tutorial,) = view.groups
    assert [(m.principal, m.state) for m in tutorial.memberships] == [
        ("identity:bob@example.org", "member (active)")
    ]
    assert [c.kind for c in tutorial.changes] == ["add_member"]
    # expiries: soonest first, rules and memberships alike
    assert [(e.kind, e.where, e.principal) for e in view.expiries] == [
        ("membership", "tutorial", "identity:bob@example.org"),
        ("rule", f"petrel:/disthome/{ALICE}/", "identity:alice@example.org"),
    ]
    assert all(e.at > NOW for e in view.expiries)
    assert view.problems == ()


def test_failed_and_unapplied_actions_leave_their_rows_marked() -> None:
    specs = intent((grant("alice@example.org"),))
    stray = rule(BOB, "/disthome/stray/")
    before = live(rules=(stray,))
    plan = compute_plan(specs, before, now=NOW)

    view = compute_overview(specs, before, plan, outcomes(plan, create_rule="failed"))
    states = {g.path: g.state for g in view.collections[0].grants}
    assert states[f"/disthome/{ALICE}/"].startswith("to be created (failed)")
    assert "/disthome/stray/" not in states  # its deletion was done

    blocked = compute_plan(specs, before, now=NOW, guard=GuardPolicy(max_deletions=0))
    assert blocked.blocked
    view = compute_overview(specs, before, blocked, ())
    states = {g.path: g.state for g in view.collections[0].grants}
    assert states["/disthome/stray/"].startswith("to be revoked (not applied)")
    assert states[f"/disthome/{ALICE}/"].startswith("to be created (not applied)")
    assert {c.outcome for c in view.collections[0].changes} == {"not applied"}
    assert [p.kind for p in view.problems] == ["blocked"]
    assert "prune" in view.problems[0].message


def test_problems_carry_their_spec_location_and_secrets_are_redacted() -> None:
    specs = intent((grant("nobody@example.org"),))
    plan = compute_plan(specs, live(), now=NOW)
    assert plan.blocked
    view = compute_overview(specs, live(), plan, ())
    (problem,) = view.problems
    assert problem.kind == "blocked"
    assert problem.location == "specs/t.yaml:1:5"
    assert "nobody@example.org" in problem.message

    leaky = replace(plan, problems=(replace(plan.problems[0], message="token=abc123 Bearer xyz"),))
    (problem,) = compute_overview(specs, live(), leaky, ()).problems
    assert "abc123" not in problem.message
    assert "xyz" not in problem.message
    assert ORIGIN.file in str(problem.location)


def test_row_limit_caps_the_rows_but_not_the_total_or_the_expiries() -> None:
    specs = intent(tuple(grant(f"user{i}@example.org", path=f"/disthome/u{i}/") for i in range(5)))
    known = {
        f"user{i}@example.org": replace(
            live().identities["bob@example.org"], id=f"id-{i}", username=f"user{i}@example.org"
        )
        for i in range(5)
    }
    state = replace(live(), identities=known)
    plan = compute_plan(specs, state, now=NOW)
    view = compute_overview(specs, state, plan, outcomes(plan), row_limit=2)
    assert len(view.collections[0].grants) == 2
    assert view.collections[0].total == 5
    assert len(view.expiries) == 5
