"""Test doubles for the daemon loop: a virtual clock and a scripted pass function.

``FakeClock.wait`` never sleeps: it returns pending triggers at once, else jumps virtual
time to the next scheduled trigger or to the end of the timeout.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from reconciler.daemon.reports import PassReport, PassResult
from reconciler.daemon.triggers import Inbox

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, start: datetime = T0) -> None:
        self.current = start
        self.waits: list[float] = []
        self._scheduled: list[tuple[datetime, int, Callable[[Inbox], None]]] = []

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)

    def at(self, seconds: float, action: Callable[[Inbox], None]) -> None:
        """Run ``action(inbox)`` when virtual time reaches ``T0 + seconds`` (while the loop
        waits), as a signal handler or the file watcher would."""
        self._scheduled.append((T0 + timedelta(seconds=seconds), len(self._scheduled), action))
        self._scheduled.sort(key=lambda item: (item[0], item[1]))

    def post_at(self, seconds: float, trigger: str) -> None:
        self.at(seconds, lambda inbox: inbox.post(trigger))

    def wait(self, inbox: Inbox, timeout: float) -> frozenset[str]:
        self.waits.append(timeout)
        taken = inbox.drain()
        if taken:
            return taken
        deadline = self.current + timedelta(seconds=timeout)
        if self._scheduled and self._scheduled[0][0] <= deadline:
            when = self._scheduled[0][0]
            self.current = max(self.current, when)
            while self._scheduled and self._scheduled[0][0] <= when:
                self._scheduled.pop(0)[2](inbox)
            return inbox.drain()
        self.current = deadline
        return frozenset()


@dataclass
class Call:
    at: datetime
    triggers: frozenset[str]


Step = Callable[[str, datetime], PassReport]


def report(
    result: PassResult = "success",
    *,
    pass_id: str = "p",
    started: datetime = T0,
    finished: datetime | None = None,
    next_expiry: datetime | None = None,
    planned: bool = True,
    error: str | None = None,
) -> PassReport:
    return PassReport(
        pass_id,
        result,
        started,
        finished or started,
        spec_valid=result != "invalid_spec",
        planned=planned,
        applied=result == "success",
        next_expiry=next_expiry,
        error=error,
    )


@dataclass
class ScriptedPasses:
    """``run_pass`` for the loop: each call takes ``duration`` virtual seconds, runs the
    next ``during`` hook (to post triggers mid-pass) and returns the next scripted result
    (the last one repeats). Sets ``stop`` after ``limit`` calls."""

    clock: FakeClock
    stop: threading.Event
    limit: int
    results: list[PassResult | Exception] = field(default_factory=lambda: ["success"])
    expiries: list[datetime | None] = field(default_factory=list)
    duration: float = 1.0
    during: dict[int, Callable[[], None]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)

    def __call__(self, pass_id: str, triggers: frozenset[str]) -> PassReport:
        index = len(self.calls)
        started = self.clock.now()
        self.calls.append(Call(started, triggers))
        self.clock.advance(self.duration)
        if index in self.during:
            self.during[index]()
        if len(self.calls) >= self.limit:
            self.stop.set()
        outcome = self.results[min(index, len(self.results) - 1)]
        if isinstance(outcome, Exception):
            raise outcome
        expiry = self.expiries[index] if index < len(self.expiries) else None
        return report(
            outcome,
            pass_id=pass_id,
            started=started,
            finished=self.clock.now(),
            next_expiry=expiry,
            planned=outcome != "failed",
        )
