"""The reconcile loop on a virtual clock: when passes run, how triggers coalesce, how
failures back off, and that nothing kills the loop."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from reconciler.daemon.looping import Loop, Observer
from reconciler.daemon.reports import PassReport
from reconciler.daemon.scheduling import Schedule, Wake
from reconciler.daemon.suspending import Suspension
from reconciler.daemon.triggers import RESUME, SIGHUP, SPEC_CHANGE, START, STOP, SUSPEND, Inbox
from tests.unit.daemon.fakes import T0, FakeClock, ScriptedPasses

SCHEDULE = Schedule(resync=300.0, jitter=0.1, backoff_base=5.0, backoff_cap=300.0)


def make_loop(
    passes: ScriptedPasses,
    *,
    inbox: Inbox | None = None,
    suspension: Suspension | None = None,
    observers: Sequence[Observer] = (),
    jitter: float = 0.0,
) -> Loop:
    return Loop(
        run_pass=passes,
        clock=passes.clock,
        inbox=inbox or Inbox(),
        stop=passes.stop,
        suspension=suspension or Suspension(None),
        schedule=SCHEDULE,
        observers=observers,
        jitter=lambda: jitter,
        pass_ids=iter(f"pass-{i}" for i in range(1000)).__next__,
    )


def offsets(passes: ScriptedPasses) -> list[float]:
    return [(c.at - T0).total_seconds() for c in passes.calls]


def test_first_pass_at_start_then_resync_after_each_pass_with_jitter() -> None:
    clock = FakeClock()
    passes = ScriptedPasses(clock, threading.Event(), limit=3, duration=2.0)
    make_loop(passes, jitter=0.5).run()
    # each pass takes 2 s; the next starts 300 * (1 + 0.1 * 0.5) = 315 s after it ended
    assert offsets(passes) == [0.0, 317.0, 634.0]
    assert [c.triggers for c in passes.calls] == [
        {START},
        {"resync"},
        {"resync"},
    ]


def test_triggers_during_a_pass_coalesce_into_one_follow_up_pass() -> None:
    clock = FakeClock()
    inbox = Inbox()
    passes = ScriptedPasses(clock, threading.Event(), limit=3)

    def burst() -> None:
        for trigger in (SPEC_CHANGE, SPEC_CHANGE, SIGHUP, SPEC_CHANGE):
            inbox.post(trigger)

    passes.during[0] = burst
    make_loop(passes, inbox=inbox).run()
    assert offsets(passes) == [0.0, 1.0, 302.0]
    assert passes.calls[1].triggers == {SPEC_CHANGE, SIGHUP}
    assert passes.calls[2].triggers == {"resync"}


def test_a_trigger_while_waiting_starts_a_pass_at_once() -> None:
    clock = FakeClock()
    passes = ScriptedPasses(clock, threading.Event(), limit=2)
    clock.post_at(42.5, SPEC_CHANGE)
    make_loop(passes).run()
    assert offsets(passes) == [0.0, 42.5]
    assert passes.calls[1].triggers == {SPEC_CHANGE}


def test_wakes_exactly_at_the_next_expiry_without_polling() -> None:
    clock = FakeClock()
    expiry = T0 + timedelta(seconds=42, microseconds=500_000)
    passes = ScriptedPasses(clock, threading.Event(), limit=2, expiries=[expiry, None])
    make_loop(passes).run()
    assert passes.calls[1].at == expiry
    assert passes.calls[1].triggers == {"expiry"}
    assert clock.waits == [41.5]  # one wait, straight to the instant


class EarlyClock(FakeClock):
    """A wait that times out a millisecond early once (monotonic and wall clocks drift)."""

    early = True

    def wait(self, inbox: Inbox, timeout: float) -> frozenset[str]:
        if self.early and timeout > 0.001:
            self.early = False
            self.waits.append(timeout)
            self.advance(timeout - 0.001)
            return frozenset()
        return super().wait(inbox, timeout)


def test_a_wait_that_ends_early_sleeps_the_rest_instead_of_running_early() -> None:
    clock = EarlyClock()
    expiry = T0 + timedelta(seconds=10)
    passes = ScriptedPasses(clock, threading.Event(), limit=2, expiries=[expiry, None])
    make_loop(passes).run()
    assert passes.calls[1].at == expiry
    assert len(passes.calls) == 2
    assert [round(w, 6) for w in clock.waits] == [9.0, 0.001]


def test_failures_back_off_exponentially_then_resync_resumes() -> None:
    clock = FakeClock()
    passes = ScriptedPasses(
        clock,
        threading.Event(),
        limit=6,
        duration=1.0,
        results=[RuntimeError("Globus unreachable"), "failed", "failed", "failed", "success"],
    )
    reports: list[PassReport] = []
    make_loop(passes, observers=[lambda r, _w: reports.append(r)]).run()
    starts = offsets(passes)
    gaps = [b - a - 1.0 for a, b in itertools.pairwise(starts)]
    assert gaps == [5.0, 10.0, 20.0, 40.0, 300.0]
    assert [c.triggers for c in passes.calls[1:5]] == [{"retry"}] * 4
    assert [r.result for r in reports] == ["failed"] * 4 + ["success"] * 2
    assert reports[0].error == "RuntimeError: Globus unreachable"


def test_an_exception_is_logged_with_the_retry_and_the_loop_goes_on(
    events: list[dict[str, Any]],
) -> None:
    clock = FakeClock()
    passes = ScriptedPasses(
        clock, threading.Event(), limit=2, results=[ValueError("boom"), "success"]
    )
    make_loop(passes).run()
    failed = [e for e in events if e["event"] == "pass_failed"]
    assert len(failed) == 1
    assert failed[0]["error"] == "ValueError: boom"
    assert failed[0]["next_retry"] == "2026-03-01 12:00:06Z"
    assert failed[0]["pass_id"] == "pass-0"
    assert any(e["event"] == "pass_crashed" and e["pass_id"] == "pass-0" for e in events)
    finished = [e for e in events if e["event"] == "pass_finished"]
    assert [e["pass_id"] for e in finished] == ["pass-1"]


def test_every_event_of_a_pass_carries_its_pass_id(events: list[dict[str, Any]]) -> None:
    clock = FakeClock()
    passes = ScriptedPasses(clock, threading.Event(), limit=2)
    make_loop(passes).run()
    by_id: dict[str, list[str]] = {}
    for event in events:
        by_id.setdefault(event["pass_id"], []).append(event["event"])
    assert by_id == {
        "pass-0": ["pass_started", "pass_finished"],
        "pass-1": ["pass_started", "pass_finished"],
    }


def test_an_expiry_remembered_from_an_earlier_plan_still_wakes_a_failing_loop() -> None:
    clock = FakeClock()
    expiry = T0 + timedelta(seconds=100)
    passes = ScriptedPasses(
        clock,
        threading.Event(),
        limit=7,
        results=["success", "failed", "failed", "failed", "failed", "failed", "success"],
        expiries=[expiry],
    )
    clock.post_at(10, SPEC_CHANGE)
    make_loop(passes).run()
    assert passes.calls[6].at == expiry
    assert passes.calls[6].triggers == {"expiry"}


def test_an_observer_that_raises_does_not_stop_the_loop(events: list[dict[str, Any]]) -> None:
    clock = FakeClock()
    passes = ScriptedPasses(clock, threading.Event(), limit=3)
    seen: list[str] = []

    def broken(_report: PassReport, _wake: Wake | None) -> None:
        raise RuntimeError("metrics down")

    make_loop(passes, observers=[broken, lambda r, _w: seen.append(r.result)]).run()
    assert len(passes.calls) == 3
    assert seen == ["success"] * 3
    assert sum(e["event"] == "observer_failed" for e in events) == 3


def test_the_flag_file_suspends_passes_and_logs_once(
    tmp_path: Path, events: list[dict[str, Any]]
) -> None:
    flag = tmp_path / "suspended"
    flag.touch()
    clock = FakeClock()
    passes = ScriptedPasses(clock, threading.Event(), limit=1)
    reports: list[PassReport] = []

    def observe(report: PassReport, _wake: Wake | None) -> None:
        reports.append(report)
        if len(reports) == 3:
            flag.unlink()

    make_loop(passes, suspension=Suspension(flag), observers=[observe]).run()
    assert [r.result for r in reports] == ["suspended"] * 3 + ["success"]
    assert offsets(passes) == [900.0]  # three resync periods suspended, then a pass
    names = [e["event"] for e in events]
    assert names.count("suspended") == 1
    assert names.count("resumed") == 1
    assert names.index("resumed") < names.index("pass_started")


def test_signals_suspend_and_resume_at_once(events: list[dict[str, Any]]) -> None:
    clock = FakeClock()
    inbox = Inbox()
    suspension = Suspension(None)
    passes = ScriptedPasses(clock, threading.Event(), limit=2)

    def sigusr1(box: Inbox) -> None:
        suspension.suspend()
        box.post(SUSPEND)

    def sigusr2(box: Inbox) -> None:
        suspension.resume()
        box.post(RESUME)

    clock.at(50, sigusr1)
    clock.at(70, sigusr2)
    reports: list[PassReport] = []
    loop = make_loop(
        passes, inbox=inbox, suspension=suspension, observers=[lambda r, _w: reports.append(r)]
    )
    loop.run()
    assert [r.result for r in reports] == ["success", "suspended", "success"]
    assert offsets(passes) == [0.0, 70.0]
    assert passes.calls[1].triggers == {RESUME}
    suspended = next(e for e in events if e["event"] == "suspended")
    assert "SIGUSR1" in suspended["reason"]


def test_stop_while_waiting_ends_the_loop_without_another_pass() -> None:
    clock = FakeClock()
    passes = ScriptedPasses(clock, threading.Event(), limit=99)

    def sigterm(box: Inbox) -> None:
        passes.stop.set()
        box.post(STOP)

    clock.at(12, sigterm)
    wakes: list[Wake | None] = []
    make_loop(passes, observers=[lambda _r, w: wakes.append(w)]).run()
    assert offsets(passes) == [0.0]
    assert wakes[0] is not None


def test_the_last_pass_before_stopping_reports_no_next_wake(
    events: list[dict[str, Any]],
) -> None:
    clock = FakeClock()
    passes = ScriptedPasses(clock, threading.Event(), limit=1)
    wakes: list[Wake | None] = []
    make_loop(passes, observers=[lambda _r, w: wakes.append(w)]).run()
    assert wakes == [None]
    finished = next(e for e in events if e["event"] == "pass_finished")
    assert finished["stopping"] is True
    assert "next_pass" not in finished


def test_an_expiry_falling_due_while_suspended_neither_spins_nor_is_forgotten(
    tmp_path: Path,
) -> None:
    flag = tmp_path / "suspended"
    clock = FakeClock()
    expiry = T0 + timedelta(seconds=60)
    passes = ScriptedPasses(clock, threading.Event(), limit=2, expiries=[expiry, None])
    passes.during[0] = flag.touch  # suspended right after the first pass
    reports: list[PassReport] = []

    def observe(report: PassReport, _wake: Wake | None) -> None:
        reports.append(report)
        if len(reports) == 4:
            flag.unlink()

    make_loop(passes, suspension=Suspension(flag), observers=[observe]).run()
    # woken at the expiry (suspended), then only by the resync: no busy loop
    suspended_at = [(r.started - T0).total_seconds() for r in reports if r.result == "suspended"]
    assert suspended_at == [60.0, 360.0, 660.0]
    assert offsets(passes) == [0.0, 960.0]  # resumed: the expired grant is revoked now
