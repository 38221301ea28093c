"""Liveness and readiness, as the HTTP probes and the systemd watchdog see them.

Alive: the loop thread has started and not exited, and a pass in progress has shown
progress (a start or an action outcome) within ``stall_limit`` seconds. Ready: a pass
has succeeded (Globus matched the intent in force), and the latest success is no older
than three resync periods; a standby (another process leads the target) is ready
too. Times are monotonic seconds from an injectable source. This
module only records and answers; it never probes anything itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from reconciler.daemon.reports import PassReport
from reconciler.daemon.scheduling import Wake

DEFAULT_STALL_LIMIT = 900.0
READY_PERIODS = 3


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    detail: str


class Health:
    def __init__(
        self,
        *,
        resync: float,
        stall_limit: float = DEFAULT_STALL_LIMIT,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._resync = resync
        self._stall_limit = stall_limit
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._running = False
        self._exited = False
        self._in_pass = False
        self._last_beat = monotonic()
        self._last_success: float | None = None
        self._standby = False

    def loop_started(self) -> None:
        with self._lock:
            self._running = True
            self._last_beat = self._monotonic()

    def loop_exited(self) -> None:
        with self._lock:
            self._exited = True

    def pass_started(self) -> None:
        with self._lock:
            self._in_pass = True
            self._last_beat = self._monotonic()

    def beat(self) -> None:
        """Progress inside a pass (an action finished)."""
        with self._lock:
            self._last_beat = self._monotonic()

    def observe(self, report: PassReport, _wake: Wake | None) -> None:
        with self._lock:
            self._in_pass = False
            self._last_beat = self._monotonic()
            if report.applied:
                self._last_success = self._monotonic()
            if report.result != "suspended":
                self._standby = report.result == "standby"

    def check_alive(self) -> Verdict:
        with self._lock:
            if not self._running:
                return Verdict(False, "the reconcile loop has not started")
            if self._exited:
                return Verdict(False, "the reconcile loop has exited")
            quiet = self._monotonic() - self._last_beat
            if self._in_pass and quiet > self._stall_limit:
                return Verdict(False, f"the current pass has shown no progress for {quiet:.0f}s")
            return Verdict(True, "the reconcile loop is running")

    def check_ready(self) -> Verdict:
        alive = self.check_alive()
        if not alive.ok:
            return alive
        with self._lock:
            if self._standby:
                # Ready to take over: a not-ready standby would stall rolling updates.
                return Verdict(True, "standing by: another reconciler leads this target")
            if self._last_success is None:
                return Verdict(False, "no pass has succeeded yet")
            age = self._monotonic() - self._last_success
            limit = READY_PERIODS * self._resync
            if age > limit:
                return Verdict(
                    False, f"the last successful pass was {age:.0f}s ago (> {limit:.0f}s)"
                )
            return Verdict(True, f"the last successful pass was {age:.0f}s ago")
