"""One reconciliation pass, shared by ``plan``, ``apply``, ``status`` and the daemon:
read specs, read Globus (and follow staging and downloads when a state store is
given), compute the plan, and (when asked) carry it out, journalling every outcome.

This module wires the layers together; the decisions live in ``planning`` and the
calls in ``globus``. Functions named ``fetch_*`` and ``apply_*`` touch the network.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple, ParamSpec

from reconciler.core.actions import Action, StageData
from reconciler.core.intent import Intent
from reconciler.core.lifecycle import Lifecycle
from reconciler.core.live import LiveState
from reconciler.core.plan import GuardPolicy, Plan, SpecFiles
from reconciler.executing import DEFAULT_CONCURRENCY, ActionPort, ApplyResult, Outcome, execute
from reconciler.following import fetch_lifecycle
from reconciler.globus.acting import GlobusActions
from reconciler.globus.connecting import GlobusClients
from reconciler.globus.reading import IdentityResolver, fetch_live_state
from reconciler.globus.sources import require_source_scopes
from reconciler.globus.tokens import fetch_tokens
from reconciler.planning import compute_plan
from reconciler.planning.clock import compute_observed_at
from reconciler.planning.inventory import compute_spec_inventory
from reconciler.recording import RecordingPort
from reconciler.spec import LoadOptions, LoadResult, load_spec_set
from reconciler.spec.caching import SpecCache
from reconciler.state import JournalEntry, StateStore


def load_specs(
    paths: Sequence[Path],
    *,
    now: datetime,
    options: LoadOptions | None = None,
    cache: SpecCache | None = None,
) -> LoadResult:
    """Read and validate the spec set; the result carries located diagnostics. A
    ``cache`` kept from load to load (the daemon's) re-reads only changed files."""
    return load_spec_set(paths, now=now, options=options or LoadOptions(), cache=cache)


def compute_inventory(
    loaded: LoadResult, intent: Intent, paths: Sequence[Path], *, now: datetime
) -> dict[str, int]:
    """The spec files ``loaded`` read, keyed relative to the spec paths given, with the
    grants and memberships in force each holds (for the deletion guard)."""
    return compute_spec_inventory(
        [str(f) for f in loaded.files], intent, roots=[str(p) for p in paths], now=now
    )


P = ParamSpec("P")


class Planned(NamedTuple):
    """A plan with what it was computed from."""

    plan: Plan
    live: LiveState
    lifecycle: Lifecycle


def fetch_planned(
    clients: GlobusClients,
    intent: Intent,
    *,
    now: datetime,
    guard: GuardPolicy | None = None,
    store: StateStore | None = None,
    pass_id: str = "",
    max_clock_skew: timedelta | None = None,
    spec_files: Mapping[str, int] | None = None,
    record_progress: bool = True,
    identities: IdentityResolver | None = None,
) -> Planned:
    """Read the live state (one access_list per collection, one get_group per group,
    identity lookups unless ``identities`` answers them), follow staging and downloads
    when there is a store, and plan.

    ``max_clock_skew`` blocks the plan when ``now`` and Globus's clock differ by more
    (give it whenever the plan may be applied); ``spec_files`` (see
    ``compute_inventory``) lets the deletion guard compare them with the inventory of
    the last successful pass in ``store``. Without ``record_progress`` (a process that
    holds no apply lock: ``plan``, ``status``, ``apply``'s preview), how far the task
    history has been read is not moved on in ``store``: the specs read here may watch
    fewer downloads than the daemon's (a pull request), and what they skip must not be
    put past it."""
    live = fetch_live_state(clients, intent, identities=identities)
    # What Globus reports (tasks done, downloads) is recorded at a time no later than
    # Globus's own: a preview as of --now, or a clock running ahead, must not put off a
    # failed staging's retry (and its grant) by years.
    observed_at = compute_observed_at(now, live.clocks)
    lifecycle = (
        fetch_lifecycle(
            clients,
            store,
            intent,
            live,
            now=observed_at,
            pass_id=pass_id,
            record_progress=record_progress,
        )
        if store is not None
        else Lifecycle()
    )
    files = None
    if spec_files is not None:
        previous = store.load_spec_inventory() if store is not None else {}
        files = SpecFiles(current=dict(spec_files), previous=previous)
    plan = compute_plan(
        intent,
        live,
        now=now,
        guard=guard,
        lifecycle=lifecycle,
        max_clock_skew=max_clock_skew,
        spec_files=files,
    )
    return Planned(plan, live, lifecycle)


def _plan_and_live(fetch: Callable[P, Planned]) -> Callable[P, tuple[Plan, LiveState]]:
    @functools.wraps(fetch)
    def plan_and_live(*args: P.args, **kwargs: P.kwargs) -> tuple[Plan, LiveState]:
        planned = fetch(*args, **kwargs)
        return planned.plan, planned.live

    return plan_and_live


fetch_plan = _plan_and_live(fetch_planned)
"""``fetch_planned``'s plan and live state: what most callers need."""


def record_successful_pass(
    store: StateStore, spec_files: Mapping[str, int], *, now: datetime
) -> None:
    """After a pass whose plan was not blocked and was carried out: its spec files are
    the inventory the deletion guard compares later passes with."""
    store.record_spec_inventory(spec_files, now=now)


def apply_plan(
    clients: GlobusClients,
    plan: Plan,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_outcome: Callable[[Outcome], None] | None = None,
    stop: threading.Event | None = None,
    store: StateStore | None = None,
    pass_id: str = "",
) -> ApplyResult:
    """Carry out ``plan``; with a store, remember what later passes need and journal
    every outcome (who got or lost access to what, when and why). Staging sources are
    read first, so copies from mapped collections ask for their ``data_access`` scope."""
    fetch_tokens(clients)  # a saved plan is applied without reading first
    sources = {a.source_collection_id for a in plan.actions if isinstance(a, StageData)}
    if sources:
        require_source_scopes(clients, sources)
        fetch_tokens(clients)  # the data_access tokens those sources added, if any
    actions = GlobusActions(clients, stop=stop)
    port: ActionPort = actions
    report = on_outcome
    if store is not None:
        port = RecordingPort(actions, store, clock=lambda: datetime.now(UTC))
        report = _journalling(store, pass_id, on_outcome)
    return execute(plan, port, concurrency=concurrency, on_outcome=report, stop=stop)


def compute_journal_entry(outcome: Outcome, *, at: datetime, pass_id: str) -> JournalEntry:
    action: Action = outcome.action
    where = (
        getattr(action, "group", None)
        or f"{getattr(action, 'collection', '')}:{getattr(action, 'path', '')}"
    )
    principal = getattr(action, "principal", None)
    return JournalEntry(
        at=at,
        event=action.kind,
        where=str(where),
        principal=str(principal) if principal is not None else "",
        reason=action.reason,
        detail=outcome.detail,
        pass_id=pass_id,
        status=outcome.status,
    )


def _journalling(
    store: StateStore, pass_id: str, then: Callable[[Outcome], None] | None
) -> Callable[[Outcome], None]:
    lock = threading.Lock()

    def record(outcome: Outcome) -> None:
        with lock:
            store.append_journal(
                compute_journal_entry(outcome, at=datetime.now(UTC), pass_id=pass_id)
            )
        if then is not None:
            then(outcome)

    return record
