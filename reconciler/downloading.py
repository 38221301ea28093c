"""Following downloads, with I/O: which revoke-after-download grants the grantee has
consumed, from the task history of each collection (activity monitor role).

Per collection with such grants in force: one paged task-history read since the stored
watermark, for all grantees at once. A task is the grantee's when its owner is the
grantee's identity, or one linked with it (a user may sign in with any identity of their
set): a new task whose owner is none of the grantees costs one task-history read per
watched grantee of that collection, filtered by owner (Transfer's ``filter_owner_id``
matches linked identities), once, since tasks are remembered as seen. Then
``successful_transfers`` for the grantees' new tasks, and a directory listing for the
grants with new downloads. Web (HTTPS) downloads are not Transfer tasks and are never
seen: expiry stays the guarantee.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from reconciler.core.intent import Intent
from reconciler.core.lifecycle import LocatedError, RuleKey
from reconciler.core.live import LiveState
from reconciler.errors import GlobusError
from reconciler.globus.activity import (
    DownloadTask,
    fetch_download_tasks,
    fetch_file_tree,
    fetch_transferred_files,
)
from reconciler.globus.connecting import GlobusClients
from reconciler.planning.desired import DesiredRule, compute_desired
from reconciler.state import StateStore

HISTORY_WINDOW = timedelta(days=30)
"""Globus keeps per-file task history this long: the furthest back a fresh store looks."""

Journal = Callable[[str, str, str, str, str], None]


@dataclass
class Watched:
    key: RuleKey
    rule: DesiredRule
    created: datetime | None


def relative_under(path: str, directory: str, host_path: str | None = None) -> str | None:
    """``path`` relative to ``directory``: a path in the guest collection's namespace,
    or one on the mapped collection beneath it (``host_path`` + the collection path).
    Which of the two Transfer reports is not documented; both are accepted."""
    if path.startswith(directory):
        return path[len(directory) :]
    if host_path:
        on_host = host_path.rstrip("/") + directory
        if path.startswith(on_host):
            return path[len(on_host) :]
    return None


def compute_whole_seconds(when: datetime) -> datetime:
    """Watermarks are whole seconds, as Transfer's filter takes them (a stored value
    with a fraction, from an older version, is rounded down: nothing is skipped)."""
    return when.replace(microsecond=0)


def compute_task_owners(
    tasks: Iterable[DownloadTask],
    grantees: Iterable[str],
    linked: Mapping[str, frozenset[str]],
) -> dict[str, list[str]]:
    """Task id -> the watched grantees whose download it is: by owner, or by the
    owner-filtered lists (``linked``: grantee -> task ids of its identity set)."""
    watched = set(grantees)
    owners: dict[str, list[str]] = {}
    for task in tasks:
        mine = [task.owner_id] if task.owner_id in watched else []
        mine += [g for g, ids in linked.items() if task.task_id in ids and g not in mine]
        if mine:
            owners[task.task_id] = sorted(mine)
    return owners


def watched_grants(intent: Intent, live: LiveState, now: datetime) -> dict[str, list[Watched]]:
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
    watched: dict[str, list[Watched]] = defaultdict(list)
    for key, rule in desired.rules.items():
        if rule.grant.revoke_after_download and key in created:
            watched[key[0]].append(Watched(key, rule, created[key]))
    return watched


def follow_downloads(
    clients: GlobusClients,
    store: StateStore,
    *,
    intent: Intent,
    live: LiveState,
    now: datetime,
    journal: Journal,
    record_progress: bool = True,
) -> list[LocatedError]:
    """Record the files each watched grantee downloaded, and the grants consumed (facts,
    whoever observes them). With ``record_progress``, also remember the tasks read and
    move the collection's watermark on; only a process holding the apply lock does: a
    task this spec set attributes to nobody may be a download the daemon's specs watch
    (a pull request's plan removes a grant the daemon still enforces)."""
    errors: list[LocatedError] = []
    for collection_id, grants in watched_grants(intent, live, now).items():
        try:
            _follow_collection(
                clients,
                store,
                collection_id=collection_id,
                grants=grants,
                now=now,
                journal=journal,
                record_progress=record_progress,
            )
        except GlobusError as err:
            errors.extend(_download_errors(err, collection_id, grants))
    return errors


def _download_errors(
    err: GlobusError, collection_id: str, grants: Iterable[Watched]
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
    grants: list[Watched],
    now: datetime,
    journal: Journal,
    record_progress: bool,
) -> None:
    earliest = min((g.created for g in grants if g.created is not None), default=None)
    since = compute_whole_seconds(
        store.download_watermark(collection_id) or earliest or now - HISTORY_WINDOW
    )
    by_grantee: dict[str, list[Watched]] = defaultdict(list)
    for grant in grants:
        by_grantee[grant.key[2]].append(grant)
    tasks = fetch_download_tasks(clients.transfer, collection_id, since=since)
    watermark = max([since, *(t.completed for t in tasks if t.completed is not None)])
    new = [t for t in tasks if not store.seen_download_task(t.task_id)]
    owners = compute_task_owners(
        new, by_grantee, _linked_tasks(clients, collection_id, new, by_grantee)
    )
    progressed: set[RuleKey] = set()
    for task in new:
        grantees = owners.get(task.task_id)
        if not grantees:
            continue
        files = fetch_transferred_files(clients.transfer, task.task_id)
        for grant in (g for grantee in grantees for g in by_grantee[grantee]):
            if grant.created and task.completed and task.completed < grant.created:
                continue  # a download before this grant existed does not consume it
            mine = [
                rel for f in files if (rel := relative_under(f, grant.rule.path, task.host_path))
            ]
            if mine:
                store.add_downloaded_files(grant.key, mine)
                progressed.add(grant.key)
    for grant in grants:
        if grant.key in progressed:
            _check_consumed(clients, store, grant, now, journal)
    if not record_progress:
        return
    # Only now, after every check succeeded: a failed check leaves the tasks unseen,
    # so the next pass reads them again (their files count once) and checks again.
    for task in new:
        store.mark_download_task(collection_id, task.task_id)
    store.set_download_watermark(collection_id, compute_whole_seconds(watermark))


def _linked_tasks(
    clients: GlobusClients,
    collection_id: str,
    new: Sequence[DownloadTask],
    by_grantee: Mapping[str, list[Watched]],
) -> dict[str, frozenset[str]]:
    """For new tasks owned by none of the grantees (perhaps a linked identity of one):
    each grantee's own task ids over the same window, as Transfer attributes them."""
    strangers = [t for t in new if t.owner_id not in by_grantee]
    if not strangers:
        return {}
    done = [t.completed for t in strangers if t.completed is not None]
    if not done:
        return {}
    since = compute_whole_seconds(min(done))
    return {
        grantee: frozenset(
            t.task_id
            for t in fetch_download_tasks(
                clients.transfer, collection_id, since=since, owner_id=grantee
            )
        )
        for grantee in by_grantee
        if grantee
    }


def _check_consumed(
    clients: GlobusClients, store: StateStore, grant: Watched, now: datetime, journal: Journal
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
