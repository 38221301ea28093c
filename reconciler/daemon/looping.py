"""The reconcile loop: one pass at a time, level-triggered, never dying on an exception.

Each iteration checks suspension, runs a full pass (``run_pass`` reloads every spec and
reads Globus), tells the observers (metrics, health, systemd), computes the next wake-up
(``scheduling``) and waits for it or for a trigger, whichever comes first. Triggers that
arrive during a pass wait in the inbox and are taken together: one follow-up pass.
Time only passes through the injected ``Clock``, so tests drive the loop without
sleeping. This module does not know what a pass does.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog

from reconciler.daemon.clock import Clock
from reconciler.daemon.reports import PassReport, format_instant
from reconciler.daemon.scheduling import Schedule, Wake, compute_next_wake, compute_timeout
from reconciler.daemon.suspending import Suspension
from reconciler.daemon.triggers import START, Inbox

RunPass = Callable[[str, frozenset[str]], PassReport]
"""``run_pass(pass_id, triggers)``: one full pass; may raise (the loop reports it)."""
Observer = Callable[[PassReport, Wake | None], None]
"""Told about every pass and the wake-up that follows (None when stopping)."""

log = structlog.get_logger("reconciler.daemon")


def new_pass_id() -> str:
    return uuid.uuid4().hex[:12]


def draw_jitter() -> float:
    return random.uniform(-1.0, 1.0)


@dataclass
class LoopState:
    """What the loop carries from one pass to the next."""

    failures: int = 0
    next_expiry: datetime | None = None
    next_check: datetime | None = None
    suspended: str | None = None
    passes: int = 0


class Loop:
    def __init__(
        self,
        *,
        run_pass: RunPass,
        clock: Clock,
        inbox: Inbox,
        stop: threading.Event,
        suspension: Suspension,
        schedule: Schedule,
        observers: Sequence[Observer] = (),
        jitter: Callable[[], float] = draw_jitter,
        pass_ids: Callable[[], str] = new_pass_id,
        on_pass_start: Callable[[], None] | None = None,
    ) -> None:
        self._run_pass = run_pass
        self._clock = clock
        self._inbox = inbox
        self._stop = stop
        self._suspension = suspension
        self._schedule = schedule
        self._observers = tuple(observers)
        self._jitter = jitter
        self._pass_ids = pass_ids
        self._on_pass_start = on_pass_start
        self.state = LoopState()

    def run(self) -> None:
        """Run passes until ``stop`` is set; returns after the pass in progress."""
        triggers = frozenset({START})
        while not self._stop.is_set():
            try:
                wake = self._iterate(triggers)
            except Exception:  # a bug in an observer or in scheduling must not kill the loop
                log.exception("loop_error")
                wake = self._fallback_wake()
            if self._stop.is_set():
                break
            triggers = self._wait(wake)

    def _iterate(self, triggers: frozenset[str]) -> Wake:
        pass_id = self._pass_ids()
        with structlog.contextvars.bound_contextvars(pass_id=pass_id):
            report = self._check_suspended(pass_id) or self._attempt(pass_id, triggers)
            self._remember(report)
            wake = self._next_wake(report)
            shown = None if self._stop.is_set() else wake
            self._log_end(report, shown)
            self._notify(report, shown)
        return wake

    def _check_suspended(self, pass_id: str) -> PassReport | None:
        reason = self._suspension.fetch_reason()
        if reason is None:
            if self.state.suspended is not None:
                log.info("resumed")
                self.state.suspended = None
            return None
        if self.state.suspended is None:
            log.warning("suspended", reason=reason)
        self.state.suspended = reason
        now = self._clock.now()
        return PassReport(pass_id, "suspended", now, now, error=reason)

    def _attempt(self, pass_id: str, triggers: frozenset[str]) -> PassReport:
        started = self._clock.now()
        log.info("pass_started", triggers=sorted(triggers))
        if self._on_pass_start is not None:
            self._on_pass_start()
        try:
            return self._run_pass(pass_id, triggers)
        except Exception as err:  # never let one pass kill the loop
            log.exception("pass_crashed")
            return PassReport(
                pass_id,
                "failed",
                started,
                self._clock.now(),
                error=f"{type(err).__name__}: {err}",
            )

    def _remember(self, report: PassReport) -> None:
        if report.result == "suspended":
            return
        self.state.passes += 1
        self.state.failures = self.state.failures + 1 if report.result == "failed" else 0
        if report.planned:
            self.state.next_expiry = report.next_expiry
            self.state.next_check = report.next_check

    def _next_wake(self, report: PassReport) -> Wake:
        expiry = self.state.next_expiry
        if report.result == "suspended" and expiry is not None and expiry <= report.finished:
            # It fell due while suspended: the pass after resuming revokes it. Waking for
            # it again now would spin.
            expiry = None
        return compute_next_wake(
            last_pass=report.finished,
            schedule=self._schedule,
            jitter=self._jitter(),
            next_expiry=expiry,
            failures=self.state.failures,
            next_check=None if report.result == "suspended" else self.state.next_check,
        )

    def _fallback_wake(self) -> Wake:
        now = self._clock.now()
        return compute_next_wake(
            last_pass=now, schedule=self._schedule, jitter=0.0, next_expiry=None, failures=1
        )

    def _log_end(self, report: PassReport, wake: Wake | None) -> None:
        """One closing event per pass: ``pass_failed`` (with the error and the retry
        time) or ``pass_finished``; None for ``wake`` means the daemon is stopping."""
        if report.result == "suspended":
            return
        fields: dict[str, object] = {
            "result": report.result,
            "duration": round(report.duration, 3),
            "done": report.count("done"),
            "failed": report.count("failed"),
            "skipped": report.count("skipped"),
        }
        if report.next_expiry is not None:
            fields["next_expiry"] = format_instant(report.next_expiry)
        if wake is None:
            fields["stopping"] = True
        else:
            fields["next_pass"] = format_instant(wake.at)
            fields["next_reason"] = wake.reason
        if report.result == "failed":
            retry = format_instant(wake.at) if wake is not None else None
            log.error("pass_failed", error=report.error, next_retry=retry, **fields)
        elif report.error:
            log.warning("pass_finished", error=report.error, **fields)
        else:
            log.info("pass_finished", **fields)

    def _notify(self, report: PassReport, wake: Wake | None) -> None:
        for observer in self._observers:
            try:
                observer(report, wake)
            except Exception:
                log.exception("observer_failed", observer=repr(observer))

    def _wait(self, wake: Wake) -> frozenset[str]:
        """Until ``wake`` (exactly: a wait that returns early sleeps the rest) or the
        first trigger; the triggers taken, or the wake-up's reason."""
        while True:
            taken = self._clock.wait(self._inbox, compute_timeout(wake, self._clock.now()))
            if taken:
                return taken
            if self._clock.now() >= wake.at:
                return frozenset({wake.reason})
