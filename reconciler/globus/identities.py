"""Resolve the identities the specs name (usernames and UUIDs) through Globus Auth.

Batches of 100 per call, usernames with ``provision=true`` so a user who never logged in
still gets an identity to grant to. A username's id can change over time, so this runs on
every pass; within a pass the result is reused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor

import globus_sdk

from reconciler.core.live import Identity
from reconciler.globus.translating import translate

BATCH = 100
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _batches(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]


def fetch_identities(
    auth: globus_sdk.AuthClient, refs: Iterable[str], *, concurrency: int = 8
) -> Mapping[str, Identity]:
    """Map every resolvable reference (username, lower-cased, or UUID) to its identity;
    unknown ones are simply absent. Batches go out in parallel, under the shared rate
    limit, so 10,000 usernames cost 100 calls but not 100 round trips one after another."""
    wanted = sorted(set(refs))
    ids = [r for r in wanted if _UUID.match(r)]
    usernames = [r for r in wanted if not _UUID.match(r)]
    requests = [("usernames", batch) for batch in _batches(usernames)]
    requests += [("ids", batch) for batch in _batches(ids)]

    def lookup(request: tuple[str, list[str]]) -> list[Identity]:
        kind, batch = request
        try:
            if kind == "usernames":
                response = auth.get_identities(usernames=batch, provision=True)
            else:
                response = auth.get_identities(ids=batch)
        except (globus_sdk.GlobusAPIError, globus_sdk.NetworkError) as err:
            raise translate(err, service="auth") from err
        return [_identity(doc) for doc in response["identities"]]

    found: dict[str, Identity] = {}
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        for identities in pool.map(lookup, requests):
            for identity in identities:
                found[identity.username.lower()] = identity
                found[identity.id] = identity
    # Usernames are case-insensitive in Globus Auth; answer for the spelling asked.
    return {ref: found[ref.lower()] for ref in wanted if ref.lower() in found}


def _identity(doc: Mapping[str, object]) -> Identity:
    email = doc.get("email")
    return Identity(
        id=str(doc["id"]),
        username=str(doc.get("username") or doc["id"]),
        email=email if isinstance(email, str) and email else None,
    )
