"""Pure report and event derivations: the pass result, counts, action event fields."""

from __future__ import annotations

from datetime import timedelta

import pytest

from reconciler.core.actions import AddMember, DeleteRule, MakeDirectory, Principal, RemoveMember
from reconciler.core.lifecycle import Lifecycle
from reconciler.core.plan import GuardVerdict, Plan, Problem
from reconciler.daemon.accounting import (
    compute_action_fields,
    compute_blocked_reasons,
    compute_diagnostic_lines,
    compute_managed_counts,
    compute_outcome_counts,
    compute_overdue_revocations,
    compute_result,
)
from reconciler.daemon.reports import PassReport, compute_summary
from reconciler.daemon.scheduling import Wake
from reconciler.executing import Outcome
from reconciler.planning import compute_plan
from reconciler.spec import Diagnostic
from tests.unit.planning.builders import (
    ALICE,
    BOB,
    COLL,
    GROUP,
    NOW,
    ORIGIN,
    grant,
    intent,
    live,
    membership,
    rule,
)

ALICE_P = Principal("identity", ALICE, "alice@example.org")


@pytest.mark.parametrize(
    ("spec_valid", "blocked", "applied", "expected"),
    [
        (True, False, True, "success"),
        (True, False, False, "failed"),
        (True, True, False, "blocked"),
        (False, False, True, "invalid_spec"),
        (False, True, False, "blocked"),
        (False, False, False, "failed"),
    ],
)
def test_result_names_the_most_urgent_problem(
    spec_valid: bool, blocked: bool, applied: bool, expected: str
) -> None:
    assert compute_result(spec_valid=spec_valid, blocked=blocked, applied=applied) == expected


def test_action_event_fields() -> None:
    delete = DeleteRule(
        "petrel", COLL, "r1", ALICE_P, "/disthome/a/", "r", reason="grant expired", pruned=False
    )
    assert compute_action_fields(delete) == {
        "kind": "delete_rule",
        "collection": "petrel",
        "principal": "identity:alice@example.org",
        "path": "/disthome/a/",
        "pruned": "no",
        "reason": "grant expired",
    }
    add = AddMember("tutorial", GROUP, ALICE_P, reason="listed")
    assert compute_action_fields(add) == {
        "kind": "add_member",
        "group": "tutorial",
        "principal": "identity:alice@example.org",
        "reason": "listed",
    }
    mkdir = MakeDirectory("petrel", COLL, "/disthome/a/", reason="for a grant")
    assert compute_action_fields(mkdir) == {
        "kind": "make_directory",
        "collection": "petrel",
        "path": "/disthome/a/",
        "reason": "for a grant",
    }


def test_outcome_counts_by_kind_and_status() -> None:
    mkdir = MakeDirectory("petrel", COLL, "/disthome/a/", reason="r")
    outcomes = [Outcome(mkdir, "done"), Outcome(mkdir, "done"), Outcome(mkdir, "failed", "500")]
    assert compute_outcome_counts(outcomes) == {
        ("make_directory", "done"): 2,
        ("make_directory", "failed"): 1,
    }


def test_managed_counts_are_what_the_specs_keep_in_force() -> None:
    wanted = intent(
        (grant("alice@example.org"), grant("bob@example.org"), grant(ALICE, days=-1, line=9)),
        (membership(ALICE), membership(BOB, days=-2)),
    )
    rules, members = compute_managed_counts(wanted, live(), now=NOW)
    assert rules == {"petrel": 2}
    assert members == {"tutorial": 1}


def test_diagnostics_are_located() -> None:
    lines = compute_diagnostic_lines(
        [
            Diagnostic(
                "specs/a.yaml", 3, 7, "error", "unknown field `expire`", "did you mean `expires`?"
            ),
            Diagnostic("specs", 0, 0, "error", "no spec files"),
        ]
    )
    assert lines == [
        "specs/a.yaml:3:7: error: unknown field `expire` (hint: did you mean `expires`?)",
        "specs: error: no spec files",
    ]


def test_blocked_reasons_list_problems_then_the_guard() -> None:
    plan = Plan(
        now=NOW,
        actions=(),
        problems=(Problem("identity nobody@example.org not found", ORIGIN),),
        notes=(),
        guard=GuardVerdict(30, 40, tripped=True, explanation="the deletion guard refuses"),
        live_fingerprint="x",
        next_expiry=None,
    )
    assert compute_blocked_reasons(plan) == [
        "specs/t.yaml:1:1: identity nobody@example.org not found",
        "the deletion guard refuses",
    ]


def test_summary_is_one_line_with_what_comes_next() -> None:
    report = PassReport(
        "p",
        "failed",
        NOW,
        NOW + timedelta(seconds=2.25),
        actions={("create_rule", "done"): 3, ("delete_rule", "failed"): 1},
        error="transfer 503\nServiceUnavailable",
    )
    wake = Wake(NOW + timedelta(seconds=5), "retry")
    assert compute_summary(report, wake) == (
        "last pass failed in 2.2s; 3 done, 1 failed, 0 skipped; "
        "transfer 503 ServiceUnavailable; next retry pass at 2026-11-26 12:00:05Z"
    )
    suspended = PassReport("q", "suspended", NOW, NOW, error="flag file")
    assert compute_summary(suspended, None) == "last pass suspended; flag file"


def test_overdue_revocations_count_expiries_not_done_but_never_prunes() -> None:
    alice = Principal("identity", ALICE, "alice@example.org")
    expired = DeleteRule("petrel", COLL, "r1", alice, "/disthome/a/", "r", "grant expired", False)
    pruned = DeleteRule("petrel", COLL, "r2", alice, "/disthome/b/", "r", "not in any spec", True)
    member = RemoveMember("tutorial", GROUP, alice, "membership expired", False)
    verdict = GuardVerdict(0, 0, False, "")
    plan = Plan(NOW, (expired, pruned, member), (), (), verdict, "f", None)
    assert compute_overdue_revocations(plan, ()) == 2  # blocked or not applied: both due
    done = [Outcome(expired, "done"), Outcome(pruned, "failed"), Outcome(member, "failed")]
    assert compute_overdue_revocations(plan, done) == 1
    assert compute_overdue_revocations(plan, [Outcome(a, "done") for a in plan.actions]) == 0


def test_managed_counts_leave_out_consumed_grants_as_the_plan_does() -> None:
    wanted = intent((grant("alice@example.org"), grant("bob@example.org")))
    consumed = frozenset({(COLL, "identity", ALICE, f"/disthome/{ALICE}/")})
    rules, _ = compute_managed_counts(wanted, live(), now=NOW, consumed=consumed)
    assert rules == {"petrel": 1}
    # The plan after a converged pass manages the same: bob's rule, not alice's.
    converged = live((rule(BOB, f"/disthome/{BOB}/", expires=NOW + timedelta(days=30)),))
    plan = compute_plan(wanted, converged, now=NOW, lifecycle=Lifecycle(consumed=consumed))
    assert plan.actions == ()
    assert plan.managed_rules == rules["petrel"]
