"""Resolve the identities the specs name (usernames and UUIDs) through Globus Auth.

Batches of 100 per call, usernames with ``provision=true`` so a user who never logged in
still gets an identity to grant to. A username's id can change over time, so this runs on
every pass; within a pass the result is reused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import globus_sdk

from reconciler.core.live import Identity
from reconciler.globus.translating import translate

BATCH = 100
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _batches(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]


def fetch_identities(auth: globus_sdk.AuthClient, refs: Iterable[str]) -> Mapping[str, Identity]:
    """Map every resolvable reference (username, lower-cased, or UUID) to its identity;
    unknown ones are simply absent."""
    wanted = sorted(set(refs))
    ids = [r for r in wanted if _UUID.match(r)]
    usernames = [r for r in wanted if not _UUID.match(r)]
    found: dict[str, Identity] = {}
    try:
        for batch in _batches(usernames):
            response = auth.get_identities(usernames=batch, provision=True)
            for doc in response["identities"]:
                identity = _identity(doc)
                found[identity.username.lower()] = identity
        for batch in _batches(ids):
            response = auth.get_identities(ids=batch)
            for doc in response["identities"]:
                identity = _identity(doc)
                found[identity.id] = identity
    except (globus_sdk.GlobusAPIError, globus_sdk.NetworkError) as err:
        raise translate(err, service="auth") from err
    # Usernames are case-insensitive in Globus Auth; answer for the spelling asked.
    return {ref: found[ref.lower()] for ref in wanted if ref.lower() in found}


def _identity(doc: Mapping[str, object]) -> Identity:
    email = doc.get("email")
    return Identity(
        id=str(doc["id"]),
        username=str(doc.get("username") or doc["id"]),
        email=email if isinstance(email, str) and email else None,
    )
