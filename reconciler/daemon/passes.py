"""One daemon pass, with I/O: reload every spec, seed the sandbox (sandbox mode only),
read Globus (following staging and downloads through the target's state store), plan,
and apply unless the plan is blocked (journalling each outcome in the store); log each
step and each action outcome; return a ``PassReport``.

Fail closed: when the spec set does not validate, the last valid intent stays in force
(it is planned and applied as before, so nothing is pruned because of a parse error) and
the located diagnostics are logged. The decisions live in ``planning``; this module
only sequences the calls of ``reconciling`` and reports.

Trust no clock blindly: a plan whose ``now`` differs from Globus's clock by more than
``max_clock_skew`` is blocked like any other (logged as ``plan_blocked`` naming both
clocks, nothing written); the daemon keeps running and tries again at its next pass.
After every pass whose plan was not blocked, its spec files become the inventory the
deletion guard compares later passes with.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

import structlog

from reconciler.core.intent import Intent
from reconciler.core.live import LiveState
from reconciler.core.plan import GuardPolicy, Plan
from reconciler.daemon.accounting import (
    compute_action_fields,
    compute_blocked_reasons,
    compute_diagnostic_lines,
    compute_managed_counts,
    compute_outcome_counts,
    compute_overdue_revocations,
    compute_result,
)
from reconciler.daemon.clock import Clock
from reconciler.daemon.reports import PassReport
from reconciler.errors import ReconcilerError
from reconciler.executing import DEFAULT_CONCURRENCY, Outcome
from reconciler.globus.connecting import GlobusClients
from reconciler.planning.clock import DEFAULT_MAX_CLOCK_SKEW
from reconciler.planning.inventory import compute_spec_inventory
from reconciler.reconciling import apply_plan, fetch_plan, load_specs, record_successful_pass
from reconciler.spec import Diagnostic
from reconciler.state import StateStore

log = structlog.get_logger("reconciler.daemon")

Turn = Callable[[Intent], AbstractContextManager[bool]]
"""``with turn(intent) as leading``: may this process act on the intent's target now?
(``reconciler.daemon.leading``; held for the whole pass)."""


def _always_leading(_intent: Intent) -> AbstractContextManager[bool]:
    return contextlib.nullcontext(True)


class PassWatcher(Protocol):
    """Told what a pass reads and does, for the status page (``observing``); must not
    block or raise."""

    def specs_loaded(self, diagnostics: Sequence[Diagnostic], *, valid: bool) -> None: ...

    def planned(self, intent: Intent, live: LiveState, plan: Plan) -> None: ...

    def action_finished(self, outcome: Outcome) -> None: ...


class PassTarget(Protocol):
    """What a pass needs from ``reconciler.targeting.Target``."""

    @property
    def clients(self) -> GlobusClients: ...

    @property
    def store(self) -> StateStore:
        """Staging, downloads and the journal, carried from pass to pass."""
        ...

    def seed(self, intent: Intent) -> None: ...


@dataclass(frozen=True, slots=True)
class PassSettings:
    paths: tuple[Path, ...]
    guard: GuardPolicy = field(default_factory=GuardPolicy)
    concurrency: int = DEFAULT_CONCURRENCY
    max_clock_skew: timedelta = DEFAULT_MAX_CLOCK_SKEW


class Reconciler:
    """Runs passes against one target; remembers the last valid intent between them."""

    def __init__(
        self,
        target: PassTarget,
        settings: PassSettings,
        *,
        clock: Clock,
        stop: threading.Event,
        on_progress: Callable[[], None] | None = None,
        watcher: PassWatcher | None = None,
        turn: Turn = _always_leading,
    ) -> None:
        self._target = target
        self._turn = turn
        self._settings = settings
        self._clock = clock
        self._stop = stop
        self._on_progress = on_progress
        self._watcher = watcher
        self.last_intent: Intent | None = None
        self._last_files: tuple[str, ...] = ()
        """The files the last valid intent was read from (for the inventory)."""
        self._last_warnings: tuple[Diagnostic, ...] = ()

    def run_pass(self, pass_id: str, triggers: frozenset[str]) -> PassReport:
        """One full pass. Errors Globus or the sandbox raise become a ``failed`` report."""
        del triggers  # level-triggered: why the pass runs never changes what it does
        started = self._clock.now()
        spec_valid = self._reload(started)
        intent = self.last_intent
        if intent is None:
            return PassReport(
                pass_id,
                "invalid_spec",
                started,
                self._clock.now(),
                spec_valid=False,
                error="the spec set is invalid and no valid one was loaded before",
            )
        try:
            with self._turn(intent) as leading:
                if not leading:  # another process leads this target: no Globus call at all
                    return PassReport(
                        pass_id, "standby", started, self._clock.now(), spec_valid=spec_valid
                    )
                return self._reconcile(pass_id, intent, started, spec_valid=spec_valid)
        except ReconcilerError as err:
            error = str(err)
        except Exception as err:  # a bug must not kill the loop; the traceback helps fix it
            log.exception("pass_crashed")
            error = f"unexpected {type(err).__name__}: {err}"
        return PassReport(
            pass_id, "failed", started, self._clock.now(), spec_valid=spec_valid, error=error
        )

    def _reload(self, now: datetime) -> bool:
        loaded = load_specs(self._settings.paths, now=now)
        errors = [d for d in loaded.diagnostics if d.severity == "error"]
        warnings = tuple(d for d in loaded.diagnostics if d.severity == "warning")
        if warnings != self._last_warnings and warnings:
            log.warning("spec_warnings", diagnostics=compute_diagnostic_lines(warnings))
        self._last_warnings = warnings
        if self._watcher is not None:
            self._watcher.specs_loaded(loaded.diagnostics, valid=loaded.intent is not None)
        if loaded.intent is not None:
            self.last_intent = loaded.intent
            self._last_files = tuple(str(f) for f in loaded.files)
            return True
        kept = (
            "the last valid spec set stays in force"
            if self.last_intent is not None
            else "no valid spec set has been loaded yet: nothing is planned"
        )
        log.error(
            "spec_invalid",
            diagnostics=compute_diagnostic_lines(errors or loaded.diagnostics),
            kept=kept,
            files=len(loaded.files),
        )
        return False

    def _reconcile(
        self, pass_id: str, intent: Intent, started: datetime, *, spec_valid: bool
    ) -> PassReport:
        self._target.seed(intent)
        now = self._clock.now()
        inventory = compute_spec_inventory(
            self._last_files, intent, roots=[str(p) for p in self._settings.paths], now=now
        )
        plan, live = fetch_plan(
            self._target.clients,
            intent,
            now=now,
            guard=self._settings.guard,
            store=self._target.store,
            pass_id=pass_id,
            max_clock_skew=self._settings.max_clock_skew,
            spec_files=inventory,
        )
        consumed = self._target.store.load_lifecycle().consumed
        rules, members = compute_managed_counts(intent, live, now=now, consumed=consumed)
        if self._watcher is not None:
            self._watcher.planned(intent, live, plan)

        def report(*, applied: bool, outcomes: Sequence[Outcome], error: str | None) -> PassReport:
            return PassReport(
                pass_id,
                compute_result(spec_valid=spec_valid, blocked=plan.blocked, applied=applied),
                started,
                self._clock.now(),
                spec_valid=spec_valid,
                planned=True,
                applied=applied,
                next_expiry=plan.next_expiry,
                next_check=plan.next_check,
                actions=compute_outcome_counts(outcomes),
                managed_rules=rules,
                managed_memberships=members,
                overdue_revocations=compute_overdue_revocations(plan, outcomes),
                error=error,
            )

        for note in plan.notes:
            log.info("plan_note", note=note)
        for grant_error in plan.errors:
            # Grant-level and not blocking: the rest of the pass still converges.
            log.error("grant_error", error=str(grant_error))
        if plan.blocked:
            reasons = compute_blocked_reasons(plan)
            log.error("plan_blocked", reasons=reasons, actions=len(plan.actions))
            return report(applied=False, outcomes=(), error="; ".join(reasons))
        if not plan.has_changes:
            record_successful_pass(self._target.store, inventory, now=now)
            return report(applied=True, outcomes=(), error=None)
        log.info("plan_computed", actions=len(plan.actions), counts=plan.counts())
        result = apply_plan(
            self._target.clients,
            plan,
            concurrency=self._settings.concurrency,
            on_outcome=self._log_outcome,
            stop=self._stop,
            store=self._target.store,
            pass_id=pass_id,
        )
        record_successful_pass(self._target.store, inventory, now=now)
        failed = len(result.outcomes) - len(result.with_status("done"))
        error = None if result.ok else f"{failed} of {len(result.outcomes)} action(s) not done"
        return report(applied=result.ok, outcomes=result.outcomes, error=error)

    def _log_outcome(self, outcome: Outcome) -> None:
        if self._on_progress is not None:
            self._on_progress()
        if self._watcher is not None:
            self._watcher.action_finished(outcome)
        fields = compute_action_fields(outcome.action)
        event = f"action_{outcome.status}"
        if outcome.status == "done":
            log.info(event, detail=outcome.detail, **fields)
        elif outcome.status == "failed":
            log.error(event, detail=outcome.detail, **fields)
        else:
            log.warning(event, detail=outcome.detail, **fields)
