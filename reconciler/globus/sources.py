"""Staging sources: what kind of collection each one is, and the consent a copy from it
needs.

A copy *from* a non-high-assurance GCSv5 **mapped** collection needs that collection's
``data_access`` scope as a dependency of the Transfer scope
(``TransferClient.add_app_data_access_scope``); a guest collection must not get it
(Globus answers "Unknown Scope"), and a high-assurance one authorizes differently.
``require_source_scopes`` reads each source once per process with ``get_endpoint``
(``entity_type``, ``high_assurance``) and adds the scope where it is needed; the token
cache is keyed by scopes, so the next Transfer call asks for a token with it.

Call ``require_source_scopes`` only between requests (before the executor starts), so
no token request is in flight while the requirements change. With a hub's fixed tokens
nothing can be added: Globus answers ``ConsentRequired`` and the remedy says so.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import globus_sdk

from reconciler.errors import GlobusError, StagingBlocked
from reconciler.globus.tasks import TaskStatus
from reconciler.globus.translating import translate

if TYPE_CHECKING:
    from reconciler.globus.connecting import GlobusClients

MAPPED = "GCSv5_mapped_collection"


@dataclass(frozen=True, slots=True)
class SourceKind:
    collection_id: str
    entity_type: str | None
    high_assurance: bool

    @property
    def mapped(self) -> bool:
        return self.entity_type == MAPPED

    @property
    def needs_data_access(self) -> bool:
        return self.mapped and not self.high_assurance


class SourceBook:
    """Per process: the sources read so far and those whose scope is required."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.kinds: dict[str, SourceKind] = {}
        self.scoped: set[str] = set()

    def remember(self, kind: SourceKind) -> SourceKind:
        with self._lock:
            return self.kinds.setdefault(kind.collection_id, kind)

    def known(self, collection_id: str) -> SourceKind | None:
        with self._lock:
            return self.kinds.get(collection_id)


def fetch_source_kind(clients: GlobusClients, collection_id: str) -> SourceKind:
    """The collection's kind, read once per process (collections do not change kind)."""
    known = clients.sources.known(collection_id)
    if known is not None:
        return known
    try:
        doc = clients.transfer.get_endpoint(collection_id)
    except (globus_sdk.GlobusAPIError, globus_sdk.NetworkError) as err:
        raise translate(err, service="transfer") from err
    entity = doc.get("entity_type")
    kind = SourceKind(
        collection_id,
        entity if isinstance(entity, str) else None,
        doc.get("high_assurance") is True,
    )
    return clients.sources.remember(kind)


def require_source_scopes(
    clients: GlobusClients, collection_ids: Iterable[str]
) -> dict[str, SourceKind | GlobusError]:
    """Read each source's kind and require ``data_access`` for those that need it.

    A source that cannot be read is left as it is (its staging then fails with
    Globus's own answer); its error is returned with the kinds."""
    found: dict[str, SourceKind | GlobusError] = {}
    needing: list[str] = []
    for collection_id in sorted(set(collection_ids)):
        try:
            kind = fetch_source_kind(clients, collection_id)
        except GlobusError as err:
            found[collection_id] = err
            continue
        found[collection_id] = kind
        if kind.needs_data_access and collection_id not in clients.sources.scoped:
            needing.append(collection_id)
    if needing and clients.app is not None:
        clients.transfer.add_app_data_access_scope(needing)
        clients.sources.scoped.update(needing)
    return found


def data_access_scope(collection_id: str) -> str:
    """The Transfer scope with the collection's ``data_access`` as an optional
    dependency, as Globus names it in ``ConsentRequired`` errors."""
    return (
        "urn:globus:auth:scope:transfer.api.globus.org:all"
        f"[*https://auth.globus.org/scopes/{collection_id}/data_access]"
    )


def compute_consent_blocked(
    clients: GlobusClients, source_id: str, err: GlobusError
) -> StagingBlocked | None:
    """A ``ConsentRequired`` refusal of a staging copy, as the remedy to act on."""
    if err.code != "ConsentRequired":
        return None
    kind = clients.sources.known(source_id)
    if clients.app is None:
        remedy = (
            f"the hub's Transfer token has no consent to read collection {source_id} (a "
            "mapped collection needs its data_access scope): add "
            f"'{data_access_scope(source_id)}' to c.GlobusOAuthenticator.scope and sign in "
            "again, or use a confidential client"
        )
    else:
        read = kind.entity_type if kind is not None else "not readable with get_endpoint"
        remedy = (
            f"Globus requires consent to the data_access scope of collection {source_id} "
            f"('{data_access_scope(source_id)}'); the reconciler requests it for every "
            "non-high-assurance GCSv5 mapped collection it reads as such, and this one "
            f"reads as {read}: check that the client can read the collection's endpoint "
            "document and may request its data_access scope"
        )
    return StagingBlocked(
        f"staging from {source_id} refused: {remedy}",
        service="transfer",
        http_status=err.http_status,
        code=err.code,
        request_id=err.request_id,
    )


def compute_mapping_remedy(
    clients: GlobusClients, source_id: str, source_path: str, failure: TaskStatus
) -> str | None:
    """The remedy for a staging task that failed because the reconciler's identity has
    no (readable) local account on a mapped source; None for any other failure."""
    if failure.status != "FAILED":
        return None
    detail = failure.detail.lower()
    if failure.code != "PERMISSION_DENIED" and "mapping" not in detail:
        return None
    try:
        kind = fetch_source_kind(clients, source_id)
    except GlobusError:
        return None
    if not kind.mapped:
        return None
    who = clients.caller_id or "the reconciler's identity"
    if clients.app is not None:
        who = f"{clients.caller_id}@clients.auth.globus.org"
    return (
        f"staging from mapped collection {source_id} failed ({failure.detail.strip()}): "
        f"{who} needs an identity mapping there to a local account that can read "
        f"{source_path}; ask the collection's administrator to add one (GCS identity "
        "mapping), then it is tried again within the hour"
    )
