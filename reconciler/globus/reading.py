"""Read the live state a pass needs: one ``access_list`` per declared collection, one
``get_group`` per declared group, and the identities the specs name.

This is the whole read cost of a pass; it never grows with the number of grants
(except identity lookups, 100 per call). A collection or group Globus refuses to show
(403: a missing role or subscription; 404: deleted) is reported as unreadable instead of
failing the pass, so the others still converge. Each access list and group answer also
tells Globus's clock (its HTTP ``Date``), which planning checks ``now`` against before
any write.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import globus_sdk

from reconciler.core.intent import Intent
from reconciler.core.live import (
    Identity,
    LiveCollection,
    LiveGroup,
    LiveMember,
    LiveRule,
    LiveState,
    ServerClock,
    Unreadable,
)
from reconciler.errors import GlobusError
from reconciler.globus.connecting import GlobusClients
from reconciler.globus.identities import fetch_identities
from reconciler.globus.tokens import fetch_tokens
from reconciler.globus.translating import translate

READ_CONCURRENCY = 8
UNREADABLE_STATUS = frozenset({403, 404})
"""Answers that concern one collection or group alone (its roles, its existence)."""
T = TypeVar("T")

IdentityResolver = Callable[[frozenset[str]], Mapping[str, Identity]]
"""Resolves identity references (usernames, UUIDs) to identities; unknown ones absent.
By default every reference is looked up in Globus Auth; the daemon passes a cache."""


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    return _parse_instant(value)


@functools.lru_cache(maxsize=8192)
def _parse_instant(value: str) -> datetime:
    """Thousands of rules share an expiry (and creation times repeat): parse each once."""
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_rule(doc: Mapping[str, Any]) -> LiveRule:
    rule_id = doc.get("id")
    return LiveRule(
        id=str(rule_id) if rule_id else None,
        principal_type=doc.get("principal_type") or "identity",
        principal=str(doc.get("principal") or ""),
        path=str(doc.get("path") or "/"),
        permissions="rw" if doc.get("permissions") == "rw" else "r",
        expires=parse_time(doc.get("expiration_date")),
        role_id=str(doc["role_id"]) if doc.get("role_id") else None,
        created=parse_time(doc.get("create_time")),
    )


def parse_date_header(value: str | None) -> datetime | None:
    """An HTTP ``Date`` (``Tue, 01 Dec 2026 00:11:35 GMT``) as a UTC instant; None when
    absent or unreadable."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def read_server_clock(response: globus_sdk.GlobusHTTPResponse, source: str) -> ServerClock:
    raw = response.headers.get("Date")
    return ServerClock(source, parse_date_header(raw), raw)


def fetch_collection(transfer: globus_sdk.TransferClient, collection_id: str) -> LiveCollection:
    return fetch_collection_and_clock(transfer, collection_id)[0]


def fetch_collection_and_clock(
    transfer: globus_sdk.TransferClient, collection_id: str
) -> tuple[LiveCollection, ServerClock]:
    try:
        response = transfer.endpoint_acl_list(collection_id)
    except (globus_sdk.GlobusAPIError, globus_sdk.NetworkError) as err:
        raise translate(err, service="transfer") from err
    rules = tuple(parse_rule(doc) for doc in response["DATA"])
    clock = read_server_clock(response, f"access list of collection {collection_id}")
    return LiveCollection(collection_id, rules), clock


def fetch_group_and_clock(
    groups: globus_sdk.GroupsClient, group_id: str
) -> tuple[LiveGroup, ServerClock]:
    try:
        response = groups.get_group(group_id, include="memberships")
    except (globus_sdk.GlobusAPIError, globus_sdk.NetworkError) as err:
        raise translate(err, service="groups") from err
    # An entry without a role or status is kept with an unknown one, which planning
    # never treats as a removable member (fail closed).
    members = tuple(
        LiveMember(
            identity_id=str(m["identity_id"]),
            username=m.get("username"),
            role=str(m.get("role") or "unknown"),
            status=str(m.get("status") or "unknown"),
            source_group_id=str(m["source_group_id"]) if m.get("source_group_id") else None,
            updated=parse_time(m.get("updated")),
        )
        for m in response.get("memberships") or ()
    )
    return LiveGroup(group_id, members), read_server_clock(response, f"group {group_id}")


def fetch_live_state(
    clients: GlobusClients, intent: Intent, *, identities: IdentityResolver | None = None
) -> LiveState:
    """Read everything planning needs, in parallel under the shared rate limit.
    A collection or group answered with 403 or 404 is marked unreadable (planning leaves
    it alone); any other failed read raises, since a transient fault may come back."""
    resolve = identities or (lambda refs: fetch_identities(clients.auth, refs))
    fetch_tokens(clients)  # one token request, before the parallel reads each want one
    with ThreadPoolExecutor(max_workers=READ_CONCURRENCY) as pool:
        collection_futures = {
            c.id: pool.submit(fetch_collection_and_clock, clients.transfer, c.id)
            for c in intent.collections
        }
        group_futures = {
            g.id: pool.submit(fetch_group_and_clock, clients.groups, g.id) for g in intent.groups
        }
        identities_future = pool.submit(resolve, intent.lookup_refs())
        collection_reads, unreadable_collections = _settle(collection_futures)
        group_reads, unreadable_groups = _settle(group_futures)
        found = identities_future.result()
    clocks = tuple(clock for _, clock in (*collection_reads.values(), *group_reads.values()))
    return LiveState(
        collections={cid: found for cid, (found, _) in collection_reads.items()},
        groups={gid: found for gid, (found, _) in group_reads.items()},
        identities=found,
        unreadable_collections=unreadable_collections,
        unreadable_groups=unreadable_groups,
        clocks=clocks,
    )


def _settle(futures: Mapping[str, Future[T]]) -> tuple[dict[str, T], dict[str, Unreadable]]:
    """The reads that succeeded, and what Globus said about the ones it refused."""
    read: dict[str, T] = {}
    refused: dict[str, Unreadable] = {}
    for key, future in futures.items():
        try:
            read[key] = future.result()
        except GlobusError as err:
            if err.http_status not in UNREADABLE_STATUS:
                raise
            refused[key] = Unreadable(err.http_status, str(err))
    return read, refused
