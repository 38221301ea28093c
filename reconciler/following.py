"""Following data around grants, with I/O: the status of staging tasks and the downloads
that consume revoke-after-download grants. Observations go into the state store; the
result is the ``Lifecycle`` planning needs.

Costs: one ``get_task`` per staging in flight; per collection with revoke-after-download
grants in force, one paged task-history read, then calls only for new downloads.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from reconciler.core.intent import Intent
from reconciler.core.lifecycle import Lifecycle, LocatedError, RuleKey
from reconciler.core.live import LiveState
from reconciler.errors import GlobusError
from reconciler.globus.activity import (
    fetch_download_tasks,
    fetch_file_tree,
    fetch_transferred_files,
)
from reconciler.globus.connecting import GlobusClients
from reconciler.globus.tasks import TaskStatus, fetch_task_status
from reconciler.planning.desired import DesiredRule, compute_desired
from reconciler.state import JournalEntry, StateStore

HISTORY_WINDOW = timedelta(days=30)
"""Globus keeps per-file task history this long: the furthest back a fresh store looks."""
RETRY_BASE = timedelta(minutes=1)
RETRY_CAP = timedelta(hours=1)


def compute_retry_at(attempts: int, now: datetime) -> datetime:
    """Exponential backoff for failed staging: 1, 2, 4 ... minutes, at most an hour."""
    delay: timedelta = min(RETRY_CAP, RETRY_BASE * (2 ** max(0, attempts)))
    return now + delay


def relative_under(path: str, directory: str) -> str | None:
    """``path`` relative to ``directory``, accepting a prefix before the directory (in
    case Globus reports host paths rather than collection paths: unconfirmed)."""
    index = path.find(directory)
    if index < 0 or (index > 0 and path[index - 1] != "/" and not directory.startswith("/")):
        return None
    return path[index + len(directory) :]


@dataclass
class _Watched:
    key: RuleKey
    rule: DesiredRule
    created: datetime | None


def fetch_lifecycle(
    clients: GlobusClients,
    store: StateStore,
    intent: Intent,
    live: LiveState,
    *,
    now: datetime,
    pass_id: str = "",
) -> Lifecycle:
    """Update the store from Globus, then return what planning needs from it."""
    journal = _journal(store, now, pass_id)
    names = _names(intent, live)
    _follow_removals(clients, store, journal, names=names)
    _follow_stagings(clients, store, now, journal, names=names)
    errors = _follow_downloads(clients, store, intent=intent, live=live, now=now, journal=journal)
    loaded = store.load_lifecycle()
    return Lifecycle(
        stagings=loaded.stagings,
        consumed=loaded.consumed,
        made_directories=loaded.made_directories,
        pending_directories=loaded.pending_directories,
        removing_directories=loaded.removing_directories,
        errors=tuple(errors),
    )


Journal = Callable[[str, str, str, str, str], None]


def _journal(store: StateStore, now: datetime, pass_id: str) -> Journal:
    def write(event: str, where: str, principal: str, reason: str, detail: str) -> None:
        store.append_journal(
            JournalEntry(now, event, where, principal, reason, detail, pass_id, "done")
        )

    return write


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
            store.record_staging(key, "failed", now=now, error=error, next_attempt=retry)
            journal(
                "staging_failed",
                where,
                principal,
                f"staging task failed: {error}",
                f"task {status.task_id}; retry after {retry.isoformat()}",
            )


def _watched_grants(intent: Intent, live: LiveState, now: datetime) -> dict[str, list[_Watched]]:
    """Revoke-after-download grants in force whose rule exists, by collection. Only
    those grants are resolved here; planning resolves the whole intent once, later."""
    grants = tuple(g for g in intent.grants if g.revoke_after_download)
    if not grants:
        return {}
    desired = compute_desired(
        replace(intent, grants=grants, memberships=()), live.identities, now=now
    )
    created: dict[RuleKey, datetime | None] = {}
    for collection in live.collections.values():
        for found in collection.rules:
            if found.id is not None:
                key: RuleKey = (collection.id, found.principal_type, found.principal, found.path)
                created[key] = found.created
    watched: dict[str, list[_Watched]] = defaultdict(list)
    for key, rule in desired.rules.items():
        if rule.grant.revoke_after_download and key in created:
            watched[key[0]].append(_Watched(key, rule, created[key]))
    return watched


def _follow_downloads(
    clients: GlobusClients,
    store: StateStore,
    *,
    intent: Intent,
    live: LiveState,
    now: datetime,
    journal: Journal,
) -> list[LocatedError]:
    errors: list[LocatedError] = []
    for collection_id, grants in _watched_grants(intent, live, now).items():
        try:
            _follow_collection(
                clients,
                store,
                collection_id=collection_id,
                grants=grants,
                now=now,
                journal=journal,
            )
        except GlobusError as err:
            errors.extend(_download_errors(err, collection_id, grants))
    return errors


def _download_errors(
    err: GlobusError, collection_id: str, grants: Iterable[_Watched]
) -> list[LocatedError]:
    if err.code == "PermissionDenied" or err.http_status == 403:
        message = (
            f"cannot read who downloaded what from collection {collection_id}: the reconciler's "
            "client needs the activity_monitor role there (and the collection a subscription); "
            "revoke_after_download is not enforced until then"
        )
    else:
        message = f"checking downloads on collection {collection_id} failed: {err}"
    return [LocatedError(message, g.rule.grant.origin) for g in grants]


def _follow_collection(
    clients: GlobusClients,
    store: StateStore,
    *,
    collection_id: str,
    grants: list[_Watched],
    now: datetime,
    journal: Journal,
) -> None:
    earliest = min((g.created for g in grants if g.created is not None), default=None)
    since = store.download_watermark(collection_id) or earliest or now - HISTORY_WINDOW
    by_owner: dict[str, list[_Watched]] = defaultdict(list)
    for grant in grants:
        by_owner[grant.key[2]].append(grant)
    watermark = since
    progressed: set[RuleKey] = set()
    seen: list[str] = []
    for task in fetch_download_tasks(clients.transfer, collection_id, since=since):
        if task.completed is not None:
            watermark = max(watermark, task.completed)
        owned = by_owner.get(task.owner_id)
        if not owned or store.seen_download_task(task.task_id):
            continue
        files = fetch_transferred_files(clients.transfer, task.task_id)
        for grant in owned:
            if grant.created and task.completed and task.completed < grant.created:
                continue  # a download before this grant existed does not consume it
            mine = [rel for f in files if (rel := relative_under(f, grant.rule.path))]
            if mine:
                store.add_downloaded_files(grant.key, mine)
                progressed.add(grant.key)
        seen.append(task.task_id)
    for grant in grants:
        if grant.key in progressed:
            _check_consumed(clients, store, grant, now, journal)
    # Only now, after every check succeeded: a failed check leaves the tasks unseen,
    # so the next pass reads them again (their files count once) and checks again.
    for task_id in seen:
        store.mark_download_task(collection_id, task_id)
    store.set_download_watermark(collection_id, watermark)


def _check_consumed(
    clients: GlobusClients, store: StateStore, grant: _Watched, now: datetime, journal: Journal
) -> None:
    tree = fetch_file_tree(clients.transfer, grant.key[0], grant.rule.path)
    wanted = {f[len(grant.rule.path) :] for f in tree}
    done = store.downloaded_files(grant.key)
    if wanted and wanted <= done:
        store.record_consumed(grant.key, now=now)
        journal(
            "consumed",
            f"{grant.rule.grant.collection}:{grant.rule.path}",
            str(grant.rule.principal),
            "the grantee downloaded every file of the directory",
            f"{len(wanted)} file(s)",
        )
