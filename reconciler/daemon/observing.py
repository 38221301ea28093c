"""The daemon's memory of itself for people: the last passes, the last plan with its
action outcomes, the spec diagnostics and the next wake-up, assembled on request into a
``DaemonSnapshot`` for ``/api/status`` and the dashboard.

The loop and the pass tell the ``Observatory`` what happens (``pass_started``,
``specs_loaded``, ``planned``, ``action_finished``, ``observe``); the HTTP threads ask for
``load_snapshot``. It holds only immutable values behind one lock, computes the grant
overview lazily (once per plan, on the first request), and never triggers or changes
anything. Reading the snapshot reads the suspend flag file and the journal.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from reconciler import __version__
from reconciler.core.intent import Intent
from reconciler.core.live import LiveState
from reconciler.core.plan import Plan
from reconciler.daemon.accounting import compute_diagnostic_lines
from reconciler.daemon.clock import Clock
from reconciler.daemon.overview import Overview, compute_overview
from reconciler.daemon.reports import PassReport
from reconciler.daemon.scheduling import Wake
from reconciler.daemon.snapshots import DaemonSnapshot, HistoryRow, PassRecord, ProblemRow
from reconciler.daemon.suspending import Suspension
from reconciler.executing import Outcome
from reconciler.logs import redact_text
from reconciler.spec import Diagnostic
from reconciler.state import JournalEntry

KEEP_PASSES = 20
KEEP_DIAGNOSTICS = 10
HISTORY_ROWS = 20
EXPIRY_ROWS = 1000
ROW_LIMIT = 1000

History = Callable[[int], Sequence[JournalEntry]]
"""``history(n)``: the ``n`` most recent journal entries, oldest first."""


@dataclass
class _PlanRecord:
    intent: Intent
    live: LiveState
    plan: Plan
    outcomes: list[Outcome] = field(default_factory=list)
    overview: Overview | None = None


def _default_role() -> str:
    return "leader"


class Observatory:
    def __init__(
        self,
        *,
        clock: Clock,
        suspension: Suspension,
        history: History | None = None,
        role: Callable[[], str] = _default_role,
    ) -> None:
        self._clock = clock
        self._suspension = suspension
        self._history = history
        self.role = role
        """Leader election replaces this to say ``leader`` or ``standby``."""
        self._lock = threading.Lock()
        self._passes: deque[PassRecord] = deque(maxlen=KEEP_PASSES)
        self._started = 0
        self._in_pass = False
        self._wake: Wake | None = None
        self._spec_valid: bool | None = None
        self._diagnostics: tuple[Diagnostic, ...] = ()
        self._current: _PlanRecord | None = None
        """The plan of the pass in progress (outcomes still arriving)."""
        self._last: _PlanRecord | None = None

    # --- told by the loop and the pass ------------------------------------------------
    def pass_started(self) -> None:
        with self._lock:
            self._started += 1
            self._in_pass = True
            self._current = None

    def specs_loaded(self, diagnostics: Sequence[Diagnostic], *, valid: bool) -> None:
        errors = [d for d in diagnostics if d.severity == "error"]
        others = [d for d in diagnostics if d.severity != "error"]
        with self._lock:
            self._spec_valid = valid
            self._diagnostics = tuple(errors + others)

    def planned(self, intent: Intent, live: LiveState, plan: Plan) -> None:
        with self._lock:
            self._current = _PlanRecord(intent, live, plan)

    def action_finished(self, outcome: Outcome) -> None:
        with self._lock:
            if self._current is not None:
                self._current.outcomes.append(outcome)

    def observe(self, report: PassReport, wake: Wake | None) -> None:
        """The loop's observer: called after every pass and every suspended wake-up."""
        with self._lock:
            self._wake = wake
            if report.result == "suspended":
                return
            self._in_pass = False
            grant_errors: tuple[str, ...] = ()
            if self._current is not None:
                self._last = self._current
                self._current = None
                grant_errors = tuple(redact_text(str(e)) for e in self._last.plan.errors)
            self._passes.appendleft(
                PassRecord(
                    number=self._started,
                    pass_id=report.pass_id,
                    result=report.result,
                    started=report.started,
                    finished=report.finished,
                    duration=round(report.duration, 3),
                    done=report.count("done"),
                    failed=report.count("failed"),
                    skipped=report.count("skipped"),
                    error=redact_text(report.error) if report.error else None,
                    grant_errors=grant_errors,
                )
            )

    # --- asked by the HTTP threads ------------------------------------------------------
    @property
    def passes_started(self) -> int:
        with self._lock:
            return self._started

    def load_snapshot(self, *, history_rows: int = HISTORY_ROWS) -> DaemonSnapshot:
        """The daemon as it stands now (reads the suspend flag file and the journal)."""
        suspended = self._suspension.fetch_reason()
        history, history_problem = self._load_history(history_rows)
        planned_at, overview = self._compute_overview()
        role = self.role()
        with self._lock:
            passes = tuple(self._passes)
            snapshot_problems = self._problems(overview, passes)
            return DaemonSnapshot(
                now=self._clock.now(),
                version=__version__,
                role=role,
                suspended=suspended,
                in_pass=self._in_pass,
                passes_started=self._started,
                passes=passes,
                next_wake=self._wake.at if self._wake else None,
                next_wake_reason=self._wake.reason if self._wake else None,
                spec_valid=self._spec_valid,
                diagnostics=tuple(
                    redact_text(line)
                    for line in compute_diagnostic_lines(self._diagnostics[:KEEP_DIAGNOSTICS])
                ),
                planned_at=planned_at,
                collections=overview.collections if overview else (),
                groups=overview.groups if overview else (),
                expiries=overview.expiries[:EXPIRY_ROWS] if overview else (),
                problems=snapshot_problems + history_problem,
                history=history,
            )

    def _compute_overview(self) -> tuple[datetime | None, Overview | None]:
        """The last plan's overview, computed on first use outside the lock (so the pass
        in progress is never held up by a page view); two racing requests may both
        compute it, harmlessly."""
        with self._lock:
            last = self._last
            if last is None:
                return None, None
            if last.overview is not None:
                return last.plan.now, last.overview
            outcomes = tuple(last.outcomes)
        overview = compute_overview(
            last.intent, last.live, last.plan, outcomes, row_limit=ROW_LIMIT
        )
        with self._lock:
            last.overview = overview
        return last.plan.now, overview

    def _problems(
        self, overview: Overview | None, passes: Sequence[PassRecord]
    ) -> tuple[ProblemRow, ...]:
        rows: list[ProblemRow] = []
        if self._spec_valid is False:
            for d in self._diagnostics[:KEEP_DIAGNOSTICS]:
                if d.severity == "error":
                    hint = f" (hint: {d.hint})" if d.hint else ""
                    rows.append(ProblemRow("spec", redact_text(d.message + hint), d.location))
        if overview is not None:
            rows += overview.problems  # those of the last plan made, blocking or not
        last = passes[0] if passes else None
        if last is not None and last.result == "failed" and last.error:
            rows.append(ProblemRow("pass", last.error))
        return tuple(rows)

    def _load_history(self, rows: int) -> tuple[tuple[HistoryRow, ...], tuple[ProblemRow, ...]]:
        if self._history is None or rows <= 0:
            return (), ()
        try:
            entries = self._history(rows)
        except Exception as err:  # a locked or broken store must not break the page
            return (), (ProblemRow("pass", f"cannot read the journal: {redact_text(str(err))}"),)
        return (
            tuple(
                HistoryRow(e.at, e.event, e.where, e.principal, redact_text(e.reason), e.status)
                for e in reversed(entries)
            ),
            (),
        )
