"""Following data around grants, with I/O: the status of staging tasks and of directory
removals, and (through ``reconciler.downloading``) the downloads that consume
revoke-after-download grants. Observations go into the state store; the result is the
``Lifecycle`` planning needs.

Costs: one ``get_task`` per staging or removal in flight; per collection with
revoke-after-download grants in force, one paged task-history read, then calls only for
new downloads.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from reconciler.core.intent import Intent
from reconciler.core.lifecycle import (
    BLOCKED_RETRY,
    NEEDS_ACTION,
    Lifecycle,
    LocatedError,
    RuleKey,
    Staging,
)
from reconciler.core.live import LiveState
from reconciler.downloading import Journal, follow_downloads
from reconciler.errors import GlobusError
from reconciler.globus.connecting import GlobusClients
from reconciler.globus.listing import fetch_directory_state
from reconciler.globus.sources import compute_mapping_remedy
from reconciler.globus.tasks import TaskStatus, fetch_task_status
from reconciler.planning.desired import compute_desired
from reconciler.recording import settle_reserved_directory
from reconciler.state import JournalEntry, StateStore

RETRY_BASE = timedelta(minutes=1)
RETRY_CAP = timedelta(hours=1)


def compute_retry_at(attempts: int, now: datetime) -> datetime:
    """Exponential backoff for failed staging: 1, 2, 4 ... minutes, at most an hour."""
    delay: timedelta = min(RETRY_CAP, RETRY_BASE * (2 ** max(0, attempts)))
    return now + delay


def fetch_lifecycle(
    clients: GlobusClients,
    store: StateStore,
    intent: Intent,
    live: LiveState,
    *,
    now: datetime,
    pass_id: str = "",
    record_progress: bool = True,
) -> Lifecycle:
    """Update the store from Globus, then return what planning needs from it.
    ``record_progress``: see ``reconciler.downloading.follow_downloads``."""
    journal = _journal(store, now, pass_id)
    names = _names(intent, live)
    if record_progress:
        _settle_reserved_directories(clients, store, now)
    _follow_removals(clients, store, journal, names=names)
    _follow_stagings(clients, store, now, journal, names=names)
    errors = follow_downloads(
        clients,
        store,
        intent=intent,
        live=live,
        now=now,
        journal=journal,
        record_progress=record_progress,
    )
    loaded = store.load_lifecycle()
    errors.extend(_blocked_stagings(intent, live, loaded.stagings, now))
    return replace(loaded, errors=tuple(errors))


def _journal(store: StateStore, now: datetime, pass_id: str) -> Journal:
    def write(event: str, where: str, principal: str, reason: str, detail: str) -> None:
        store.append_journal(
            JournalEntry(now, event, where, principal, reason, detail, pass_id, "done")
        )

    return write


def _settle_reserved_directories(clients: GlobusClients, store: StateStore, now: datetime) -> None:
    """Reservations left by a run that stopped around a mkdir: the directory is
    claimed if it is empty, released if it is missing or holds anything (one ``ls``
    each; only after a crash). Done only by the process that holds the apply lock, the
    only one that makes directories. A failed ``ls`` leaves the reservation: planning
    never removes a merely reserved directory, so waiting is safe."""
    for collection_id, path in sorted(store.load_lifecycle().pending_directories):
        try:
            state = fetch_directory_state(clients.transfer, collection_id, path)
        except GlobusError:
            continue
        settle_reserved_directory(store, collection_id, path, state, now=now)


def _follow_removals(
    clients: GlobusClients, store: StateStore, journal: Journal, *, names: dict[str, str]
) -> None:
    """Finish the bookkeeping of delete tasks: a removed directory is forgotten; one
    whose task failed stays the reconciler's to clean up, and is tried again."""
    by_task: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for collection_id, path, task_id in store.pending_removals():
        by_task[task_id].append((collection_id, path))
    for task_id, paths in by_task.items():
        try:
            status = fetch_task_status(clients.transfer, task_id)
        except GlobusError as err:
            if err.retryable:
                continue
            status = TaskStatus(task_id, "FAILED", f"task unreadable: {err}")
        if status.status not in ("SUCCEEDED", "FAILED"):
            continue
        succeeded = status.status == "SUCCEEDED"
        for collection_id, path in paths:
            store.finish_removal(collection_id, path, succeeded=succeeded)
            if not succeeded:
                journal(
                    "cleanup_failed",
                    f"{names.get(collection_id, collection_id)}:{path}",
                    "",
                    f"delete task failed: {status.detail or 'no detail'}; tried again",
                    f"task {task_id}",
                )


def _names(intent: Intent, live: LiveState) -> dict[str, str]:
    """Collection and identity ids to the names people know them by, for the journal."""
    names = {c.id: c.name for c in intent.collections}
    names.update((i.id, i.username) for i in live.identities.values())
    return names


def _follow_stagings(
    clients: GlobusClients,
    store: StateStore,
    now: datetime,
    journal: Journal,
    *,
    names: dict[str, str],
) -> None:
    for key, staging in store.load_lifecycle().stagings.items():
        if staging.status != "submitted" or staging.task_id is None:
            continue
        try:
            status = fetch_task_status(clients.transfer, staging.task_id)
        except GlobusError as err:
            if err.retryable:
                continue  # look again next pass; other stagings and the plan go on
            # The task is unknown to Globus (purged history, reset world...): stage again.
            status = TaskStatus(staging.task_id, "FAILED", f"task unreadable: {err}")
        where = f"{names.get(key[0], key[0])}:{key[3]}"
        principal = f"{key[1]}:{names.get(key[2], key[2])}"
        if status.status == "SUCCEEDED":
            store.record_staging(key, "succeeded", now=now)
            journal("staging_succeeded", where, principal, "data staged", f"task {status.task_id}")
        elif status.status == "FAILED":
            retry = compute_retry_at(staging.attempts, now)
            error = status.detail or "task failed"
            remedy = compute_mapping_remedy(
                clients, staging.source_collection_id, staging.source_path, status
            )
            if remedy is not None:  # only a person can fix it: hourly, reported on the grant
                retry, error = now + BLOCKED_RETRY, NEEDS_ACTION + remedy
            store.record_staging(key, "failed", now=now, error=error, next_attempt=retry)
            journal(
                "staging_failed",
                where,
                principal,
                f"staging task failed: {error}",
                f"task {status.task_id}; retry after {retry.isoformat()}",
            )


def _blocked_stagings(
    intent: Intent, live: LiveState, stagings: Mapping[RuleKey, Staging], now: datetime
) -> list[LocatedError]:
    """A located error on each grant whose staging waits for a person (consent, an
    identity mapping), with the remedy and when it is tried again."""
    blocked = {key: s for key, s in stagings.items() if s.needs_action}
    grants = tuple(g for g in intent.grants if g.stage is not None)
    if not blocked or not grants:
        return []
    desired = compute_desired(
        replace(intent, grants=grants, memberships=()), live.identities, now=now
    )
    errors = []
    for key, staging in sorted(blocked.items()):
        rule = desired.rules.get(key)
        if rule is None or rule.grant.stage is None:
            continue
        if not staging.same_source(rule.grant.stage.collection_id, rule.grant.stage.path):
            continue
        remedy = (staging.error or "").removeprefix(NEEDS_ACTION)
        when = staging.next_attempt.isoformat() if staging.next_attempt else "the next pass"
        errors.append(
            LocatedError(
                f"the data for {rule.path} cannot be staged: {remedy} (tried again after "
                f"{when}; the rule is created once the data is there)",
                rule.grant.origin,
            )
        )
    return errors
