"""The Observatory: what the loop and the pass tell it becomes the snapshot, from plain
values (no HTTP, no Globus)."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

from reconciler.daemon.observing import Observatory
from reconciler.daemon.reports import PassReport
from reconciler.daemon.scheduling import Wake
from reconciler.daemon.suspending import Suspension
from reconciler.executing import Outcome
from reconciler.planning import compute_plan
from reconciler.spec import Diagnostic
from reconciler.state import JournalEntry
from tests.unit.daemon.fakes import T0, FakeClock
from tests.unit.planning.builders import ALICE, NOW, grant, intent, live


def report(result: str, pass_id: str, *, error: str | None = None) -> PassReport:
    return PassReport(pass_id, result, T0, T0 + timedelta(seconds=2), error=error)  # type: ignore[arg-type]


def test_passes_plans_and_wake_ups_become_the_snapshot(tmp_path: Path) -> None:
    journal = [JournalEntry(NOW, "create_rule", "petrel:/x/", "identity:a", "token=abc why")]
    observatory = Observatory(
        clock=FakeClock(),
        suspension=Suspension(tmp_path / "suspended"),
        history=lambda n: journal[-n:],
    )
    assert observatory.load_snapshot().last_pass is None

    observatory.pass_started()
    observatory.specs_loaded((), valid=True)
    specs = intent((grant("alice@example.org"),))
    plan = compute_plan(specs, live(), now=NOW)
    observatory.planned(specs, live(), plan)
    for action in plan.actions:
        observatory.action_finished(Outcome(action, "done"))
    wake = Wake(T0 + timedelta(minutes=5), "resync")
    observatory.observe(report("success", "p1"), wake)
    observatory.observe(report("suspended", "p2"), wake)  # a wake-up, not a pass

    snapshot = observatory.load_snapshot()
    assert [(p.number, p.pass_id, p.result) for p in snapshot.passes] == [(1, "p1", "success")]
    assert (snapshot.next_wake, snapshot.next_wake_reason) == (wake.at, "resync")
    assert snapshot.spec_valid is True
    assert snapshot.role == "leader"
    assert snapshot.planned_at == NOW
    assert [g.path for g in snapshot.collections[0].grants] == [f"/disthome/{ALICE}/"]
    assert snapshot.history[0].reason == "token=[REDACTED] why"
    assert snapshot.problems == ()

    observatory.role = lambda: "standby"
    assert observatory.load_snapshot().role == "standby"


def test_invalid_specs_a_failed_pass_and_an_unreadable_journal_are_problems(
    tmp_path: Path,
) -> None:
    def broken(_n: int) -> list[JournalEntry]:
        raise OSError("database is locked")

    (tmp_path / "suspended").write_text("by hand\n")
    observatory = Observatory(
        clock=FakeClock(), suspension=Suspension(tmp_path / "suspended"), history=broken
    )
    observatory.pass_started()
    observatory.specs_loaded(
        (
            Diagnostic("specs/a.yaml", 3, 1, "error", "unknown field", hint="did you mean x"),
            Diagnostic("specs/a.yaml", 9, 1, "warning", "unused group"),
        ),
        valid=False,
    )
    observatory.observe(
        report("failed", "p1", error="GlobusAPIError Authorization: Bearer abc.def"), None
    )
    snapshot = observatory.load_snapshot()
    assert snapshot.suspended is not None
    assert snapshot.spec_valid is False
    assert snapshot.diagnostics == (
        "specs/a.yaml:3:1: error: unknown field (hint: did you mean x)",
        "specs/a.yaml:9:1: warning: unused group",
    )
    assert [(p.kind, p.location) for p in snapshot.problems] == [
        ("spec", "specs/a.yaml:3:1"),
        ("pass", None),
        ("pass", None),
    ]
    assert "abc.def" not in snapshot.problems[1].message
    assert "database is locked" in snapshot.problems[2].message
    assert snapshot.passes[0].error is not None
    assert "abc.def" not in snapshot.passes[0].error
    assert snapshot.collections == ()  # no plan was made


def test_a_slow_page_view_never_holds_up_the_pass(tmp_path: Path) -> None:
    """The HTTP thread reads the journal (and builds the overview) outside the lock the
    pass reports through: while a page view waits on a slow store, the pass goes on."""
    reading = threading.Event()
    release = threading.Event()

    def slow_history(_n: int) -> list[JournalEntry]:
        reading.set()
        release.wait(10)
        return []

    observatory = Observatory(
        clock=FakeClock(), suspension=Suspension(tmp_path / "suspended"), history=slow_history
    )
    viewer = threading.Thread(target=observatory.load_snapshot)
    viewer.start()
    try:
        assert reading.wait(5)
        told = threading.Thread(
            target=lambda: (
                observatory.pass_started(),
                observatory.specs_loaded((), valid=True),
                observatory.observe(report("success", "p1"), None),
            )
        )
        told.start()
        told.join(5)
        assert not told.is_alive(), "the pass waited for a page view"
    finally:
        release.set()
        viewer.join(5)
    assert observatory.load_snapshot(history_rows=0).last_pass is not None
