"""One daemon pass, with I/O: reload the specs (only when a file changed), seed the
sandbox (sandbox mode only, once per spec set), read Globus (following staging and
downloads through the target's state store; identities through a TTL cache), plan, and
apply unless the plan is blocked (journalling each outcome in the store); log each step
and each action outcome; return a ``PassReport``. A wake for an expiry alone reads and
plans only the collections and groups where something expired.

Trust no clock blindly: a plan whose ``now`` differs from Globus's clock by more than
``max_clock_skew`` is blocked like any other (logged as ``plan_blocked`` naming both
clocks, nothing written); the daemon keeps running and tries again at its next pass.
After every full pass whose plan was not blocked, its spec files become the inventory
the deletion guard compares later passes with.

Fail closed: when the spec set does not validate, the last valid intent stays in force
(it is planned and applied as before, so nothing is pruned because of a parse error) and
the located diagnostics are logged. The decisions live in ``planning``; this module
only sequences the calls of ``reconciling`` and reports.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import structlog

from reconciler.core.actions import DeleteRule, RemoveMember
from reconciler.core.intent import Intent
from reconciler.core.lifecycle import RuleKey
from reconciler.core.live import Identity, LiveState
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
from reconciler.daemon.expiring import (
    ExpiryIndex,
    compute_due,
    compute_expiry_index,
    compute_next_expiry,
    compute_partial_intent,
)
from reconciler.daemon.identities import DEFAULT_TTL, IdentityCache
from reconciler.daemon.reports import PassReport
from reconciler.daemon.viewing import View, compute_merged_view
from reconciler.errors import ReconcilerError
from reconciler.executing import DEFAULT_CONCURRENCY, Outcome
from reconciler.globus.connecting import GlobusClients
from reconciler.globus.identities import fetch_identities
from reconciler.globus.reading import fetch_live_state
from reconciler.planning import compute_plan
from reconciler.planning.clock import DEFAULT_MAX_CLOCK_SKEW
from reconciler.planning.inventory import compute_spec_inventory
from reconciler.reconciling import apply_plan, fetch_planned, load_specs, record_successful_pass
from reconciler.spec import Diagnostic
from reconciler.spec.caching import SpecCache
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
    identity_ttl: float = DEFAULT_TTL
    """Seconds a username's resolution is used before it must be looked up again
    (refreshed in the background at half that age)."""


FOREVER = datetime.max.replace(tzinfo=UTC)
EXPIRY_ONLY = frozenset({"expiry"})
"""The triggers of a wake for an expiry and nothing else (``scheduling.Wake.reason``)."""


class Reconciler:
    """Runs passes against one target; remembers between them the last valid intent,
    the spec files' signature, resolved identities and what the last passes did."""

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
        identities: IdentityCache | None = None,
    ) -> None:
        self._target = target
        self._turn = turn
        self._settings = settings
        self._clock = clock
        self._stop = stop
        self._on_progress = on_progress
        self._watcher = watcher
        self.identities = identities or IdentityCache(
            lambda refs: fetch_identities(target.clients.auth, refs), ttl=settings.identity_ttl
        )
        self.last_intent: Intent | None = None
        self._last_files: tuple[str, ...] = ()
        """The files the last valid intent was read from (for the inventory)."""
        self._spec_cache = SpecCache()
        self._last_warnings: tuple[Diagnostic, ...] = ()
        self._seeded: Intent | None = None
        self._retained: Intent | None = None
        self._expiries: tuple[Intent, ExpiryIndex] | None = None
        self._acted_until: datetime | None = None
        """The planning instant of the last pass after which Globus matched the specs."""
        self._next_check: datetime | None = None
        self._view: View | None = None
        """What the status page was last shown: the live state, plan and outcomes of the
        whole spec set (an expiry pass updates the part it read)."""
        self._managed: tuple[dict[str, int], dict[str, int]] = ({}, {})
        self._managed_cache: _Managed | None = None

    def run_pass(self, pass_id: str, triggers: frozenset[str]) -> PassReport:
        """One pass. Errors Globus or the sandbox raise become a ``failed`` report.

        Level-triggered: what a pass does depends on the specs and Globus, not on why it
        runs, with one saving: a wake for an expiry alone, with no spec file changed
        since a pass that succeeded, reads and plans only the collections and groups
        where something expired (``_expire``); anything unusual there widens it to a
        full pass, and the resync timer still runs full passes."""
        started = self._clock.now()
        spec_valid, changed = self._reload(started)
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
                    # What the leader did meanwhile is unknown here: the first pass
                    # after leading again is a full one.
                    self._acted_until = None
                    return PassReport(
                        pass_id, "standby", started, self._clock.now(), spec_valid=spec_valid
                    )
                if triggers == EXPIRY_ONLY and not changed and spec_valid:
                    report = self._expire(pass_id, intent, started)
                    if report is not None:
                        return report
                return self._reconcile(pass_id, intent, started, spec_valid=spec_valid)
        except ReconcilerError as err:
            error = str(err)
        except Exception as err:  # a bug must not kill the loop; the traceback helps fix it
            log.exception("pass_crashed")
            error = f"unexpected {type(err).__name__}: {err}"
        return PassReport(
            pass_id, "failed", started, self._clock.now(), spec_valid=spec_valid, error=error
        )

    def _reload(self, now: datetime) -> tuple[bool, bool]:
        """Load the specs through the pass-to-pass ``SpecCache`` (no file changed: one
        stat per file, nothing read or parsed; a file changed: that file parsed again);
        returns whether the spec set is valid and whether the intent changed."""
        loaded = load_specs(self._settings.paths, now=now, cache=self._spec_cache)
        errors = [d for d in loaded.diagnostics if d.severity == "error"]
        warnings = tuple(d for d in loaded.diagnostics if d.severity == "warning")
        if warnings != self._last_warnings and warnings:
            log.warning("spec_warnings", diagnostics=compute_diagnostic_lines(warnings))
        self._last_warnings = warnings
        if self._watcher is not None:
            self._watcher.specs_loaded(loaded.diagnostics, valid=loaded.intent is not None)
        if loaded.intent is not None:
            self._last_files = tuple(str(f) for f in loaded.files)
            # The cache gives the same intent back while nothing changed; an equal one
            # (a file touched, rewritten alike) keeps the one every cache here is keyed on.
            changed = loaded.intent is not self.last_intent and loaded.intent != self.last_intent
            if changed:
                self.last_intent = loaded.intent
            return True, changed
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
        return False, True

    @property
    def spec_files_parsed(self) -> int:
        """Spec files parsed so far: a pass with no file changed parses none."""
        return self._spec_cache.stats.files_parsed

    def _seed(self, intent: Intent) -> None:
        """Seed the sandbox (a no-op in production) once per spec set: its world keeps
        what was seeded."""
        if self._seeded is not intent:
            self._target.seed(intent)
            self._seeded = intent

    def _reconcile(
        self, pass_id: str, intent: Intent, started: datetime, *, spec_valid: bool
    ) -> PassReport:
        self._seed(intent)
        now = self._clock.now()
        inventory = compute_spec_inventory(
            self._last_files, intent, roots=[str(p) for p in self._settings.paths], now=now
        )
        plan, live, lifecycle = fetch_planned(
            self._target.clients,
            intent,
            now=now,
            guard=self._settings.guard,
            store=self._target.store,
            pass_id=pass_id,
            max_clock_skew=self._settings.max_clock_skew,
            spec_files=inventory,
            identities=self.identities.resolve,
        )
        if self._retained is not intent:  # forget names no spec uses any more
            self.identities.retain(intent.lookup_refs())
            self._retained = intent
        self._managed = self._count_managed(intent, live, now, lifecycle.consumed)
        self._next_check = plan.next_check
        self._show(intent, View(live, plan, []))
        return self._carry_out(
            pass_id,
            plan,
            started,
            spec_valid=spec_valid,
            next_expiry=plan.next_expiry,
            inventory=inventory,
        )

    def _expire(self, pass_id: str, intent: Intent, started: datetime) -> PassReport | None:
        """Revoke what expired since the last successful pass, reading only the
        collections and groups concerned; None when a full pass must run instead (the
        last pass did not succeed, nothing found due, or that part's plan would be
        blocked or would prune: drift is for a full pass and its whole deletion guard).
        No spec file changed since that pass, so the spec inventory it recorded stands."""
        if self._acted_until is None:
            return None
        index = self._expiry_index(intent)
        now = self._clock.now()
        collections, groups = compute_due(index, after=self._acted_until, until=now)
        if not collections and not groups:
            return None
        part = compute_partial_intent(intent, collections, groups)
        live = fetch_live_state(self._target.clients, part, identities=self.identities.resolve)
        # The store's record of staging, downloads and directories, as the last full
        # pass left it; following them (more calls) waits for the next full pass.
        lifecycle = self._target.store.load_lifecycle()
        plan = compute_plan(
            part,
            live,
            now=now,
            guard=self._settings.guard,
            lifecycle=lifecycle,
            max_clock_skew=self._settings.max_clock_skew,
        )
        pruned = [a for a in plan.actions if isinstance(a, DeleteRule | RemoveMember) and a.pruned]
        if plan.blocked or pruned:
            reasons = compute_blocked_reasons(plan) or [f"{len(pruned)} prune(s): drift"]
            log.info("expiry_pass_widened", reasons=reasons)
            return None
        log.info(
            "expiry_pass",
            collections=len(part.collections),
            groups=len(part.groups),
            actions=len(plan.actions),
        )
        if plan.next_check is not None:  # a part's own follow-up (rare at an expiry)
            self._next_check = min(filter(None, (self._next_check, plan.next_check)))
        rules, members = compute_managed_counts(part, live, now=now, consumed=lifecycle.consumed)
        self._managed = ({**self._managed[0], **rules}, {**self._managed[1], **members})
        # The status page shows the whole spec set: what was just read and done, over
        # what the passes before read and did elsewhere.
        self._show(intent, compute_merged_view(self._view, View(live, plan, [])))
        return self._carry_out(
            pass_id,
            plan,
            started,
            spec_valid=True,
            next_expiry=compute_next_expiry(index, now),
        )

    def _count_managed(
        self, intent: Intent, live: LiveState, now: datetime, consumed: frozenset[RuleKey]
    ) -> tuple[dict[str, int], dict[str, int]]:
        """``compute_managed_counts``, which plans the whole desired state again, only
        when its inputs changed: the spec set, the identities, the consumed grants, or an
        expiry passed."""
        cached = self._managed_cache
        if (
            cached is not None
            and cached.intent is intent
            and now < cached.until
            and cached.consumed == consumed
            and cached.identities == live.identities
        ):
            return cached.counts
        counts = compute_managed_counts(intent, live, now=now, consumed=consumed)
        until = compute_next_expiry(self._expiry_index(intent), now) or FOREVER
        self._managed_cache = _Managed(intent, live.identities, consumed, until, counts)
        return counts

    def _show(self, intent: Intent, view: View) -> None:
        self._view = view
        if self._watcher is not None:
            self._watcher.planned(intent, view.live, view.plan)
            for outcome in view.outcomes:
                self._watcher.action_finished(outcome)

    def _expiry_index(self, intent: Intent) -> ExpiryIndex:
        if self._expiries is None or self._expiries[0] is not intent:
            self._expiries = (intent, compute_expiry_index(intent))
        return self._expiries[1]

    def _carry_out(
        self,
        pass_id: str,
        plan: Plan,
        started: datetime,
        *,
        spec_valid: bool,
        next_expiry: datetime | None,
        inventory: Mapping[str, int] | None = None,
    ) -> PassReport:
        """Log the plan, apply it unless it is blocked, and report; after a full pass
        (``inventory`` given) whose plan was carried out, record the spec inventory."""
        rules, members = self._managed

        def report(*, applied: bool, outcomes: Sequence[Outcome], error: str | None) -> PassReport:
            # Only after a pass that left Globus matching the specs may the next expiry
            # wake look at a part alone.
            self._acted_until = plan.now if applied and not plan.blocked else None
            return PassReport(
                pass_id,
                compute_result(spec_valid=spec_valid, blocked=plan.blocked, applied=applied),
                started,
                self._clock.now(),
                spec_valid=spec_valid,
                planned=True,
                applied=applied,
                next_expiry=next_expiry,
                next_check=self._next_check,
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
            if inventory is not None:
                record_successful_pass(self._target.store, inventory, now=plan.now)
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
        if inventory is not None:
            record_successful_pass(self._target.store, inventory, now=plan.now)
        failed = len(result.outcomes) - len(result.with_status("done"))
        error = None if result.ok else f"{failed} of {len(result.outcomes)} action(s) not done"
        return report(applied=result.ok, outcomes=result.outcomes, error=error)

    def _log_outcome(self, outcome: Outcome) -> None:
        if self._on_progress is not None:
            self._on_progress()
        if self._view is not None:
            self._view.outcomes.append(outcome)
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


@dataclass(frozen=True, slots=True)
class _Managed:
    """The managed counts of a spec set, valid until the next expiry."""

    intent: Intent
    identities: Mapping[str, Identity]
    consumed: frozenset[RuleKey]
    until: datetime
    counts: tuple[dict[str, int], dict[str, int]]
