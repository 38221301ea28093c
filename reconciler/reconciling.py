"""One reconciliation pass, shared by ``plan``, ``apply``, ``status`` and the daemon:
read specs, read Globus, compute the plan, and (when asked) carry it out.

This module wires the layers together; the decisions live in ``planning`` and the
calls in ``globus``. Functions named ``fetch_*`` and ``apply_*`` touch the network.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from reconciler.core.intent import Intent
from reconciler.core.live import LiveState
from reconciler.core.plan import GuardPolicy, Plan
from reconciler.executing import DEFAULT_CONCURRENCY, ApplyResult, Outcome, execute
from reconciler.globus.acting import GlobusActions
from reconciler.globus.connecting import GlobusClients
from reconciler.globus.reading import fetch_live_state
from reconciler.planning import RuleKey, compute_plan
from reconciler.spec import LoadResult, load_spec_set


def load_specs(paths: Sequence[Path], *, now: datetime) -> LoadResult:
    """Read and validate the spec set; the result carries located diagnostics."""
    return load_spec_set(paths, now=now)


def fetch_plan(
    clients: GlobusClients,
    intent: Intent,
    *,
    now: datetime,
    guard: GuardPolicy | None = None,
    consumed: frozenset[RuleKey] = frozenset(),
) -> tuple[Plan, LiveState]:
    """Read the live state (one access_list per collection, one get_group per group,
    identity lookups) and plan against it."""
    live = fetch_live_state(clients, intent)
    return compute_plan(intent, live, now=now, guard=guard, consumed=consumed), live


def apply_plan(
    clients: GlobusClients,
    plan: Plan,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_outcome: Callable[[Outcome], None] | None = None,
    stop: threading.Event | None = None,
) -> ApplyResult:
    return execute(
        plan, GlobusActions(clients), concurrency=concurrency, on_outcome=on_outcome, stop=stop
    )
