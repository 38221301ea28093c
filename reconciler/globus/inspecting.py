"""Fetch the facts ``reconciler doctor`` judges: read-only calls, one per question.

A token request with the configured client (fresh, never from the cache, so a revoked
secret shows), ``get_endpoint`` per declared collection, ``get_group`` with the
caller's own memberships per declared group, and one ``operation_ls`` per stage source.
Nothing here writes to Globus; deciding what the answers mean is
``reconciler.core.readiness``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

import globus_sdk
from globus_sdk.scopes import AuthScopes, GroupsScopes, TransferScopes

from reconciler.core.intent import Intent, StageSource
from reconciler.core.readiness import (
    CLIENT_DOMAIN,
    CallError,
    CollectionFacts,
    GroupFacts,
    ReadinessFacts,
    SourceFacts,
    TokenFacts,
    stage_sources,
)
from reconciler.credentials import ClientCredentials, Credentials
from reconciler.errors import ConfigurationError
from reconciler.globus.connecting import AUTH_RS, GROUPS_RS, TRANSFER_RS, GlobusClients
from reconciler.globus.sources import require_source_scopes
from reconciler.globus.translating import translate

REQUESTED_SCOPES: Mapping[str, tuple[str, ...]] = {
    TRANSFER_RS: (str(TransferScopes.all),),
    GROUPS_RS: (str(GroupsScopes.all),),
    AUTH_RS: (str(AuthScopes.openid), str(AuthScopes.profile), str(AuthScopes.email)),
}
"""What ``connecting.connect`` asks for: the clients' default scopes, Groups' ``all``."""
CONCURRENCY = 8
K = TypeVar("K")
T = TypeVar("T")


def _call_error(err: Exception, *, service: str) -> CallError:
    """The failed call as a fact, worded as every other Globus error is (``translate``)."""
    if isinstance(err, ConfigurationError):  # a hub token that is missing or expired
        return CallError(None, None, str(err))
    translated = translate(err, service=service)
    return CallError(translated.http_status, translated.code, translated.message)


def fetch_token_facts(credentials: Credentials) -> TokenFacts:
    """For a confidential client, request tokens now; for handed-over tokens, say which
    services have one (their scopes are not known)."""
    if not isinstance(credentials, ClientCredentials):
        who = credentials.identity_id or "the identity of the GLOBUS_DATA tokens"
        return TokenFacts(
            "tokens",
            who,
            granted=dict.fromkeys(credentials.tokens, ()),
        )
    who = f"{credentials.client_id}@{CLIENT_DOMAIN}"
    login = globus_sdk.ConfidentialAppAuthClient(
        client_id=credentials.client_id, client_secret=credentials.client_secret
    )
    try:
        response = login.oauth2_client_credentials_tokens(
            requested_scopes=[s for scopes in REQUESTED_SCOPES.values() for s in scopes]
        )
        granted = {
            server: tuple(str(data.get("scope") or "").split())
            for server, data in response.by_resource_server.items()
        }
    except (globus_sdk.GlobusAPIError, globus_sdk.NetworkError) as err:
        return TokenFacts("client", who, REQUESTED_SCOPES, error=_call_error(err, service="auth"))
    finally:
        login.close()
    return TokenFacts("client", who, REQUESTED_SCOPES, granted)


def fetch_collection_facts(
    transfer: globus_sdk.TransferClient, collection_id: str
) -> CollectionFacts:
    try:
        doc: Mapping[str, Any] = transfer.get_endpoint(collection_id).data
    except (globus_sdk.GlobusAPIError, globus_sdk.NetworkError, ConfigurationError) as err:
        return CollectionFacts(collection_id, _call_error(err, service="transfer"))
    roles = doc.get("my_effective_roles")
    return CollectionFacts(
        collection_id,
        display_name=doc.get("display_name"),
        entity_type=doc.get("entity_type"),
        subscription_id=doc.get("subscription_id"),
        my_effective_roles=tuple(str(r) for r in roles) if isinstance(roles, list) else None,
    )


def fetch_group_facts(groups: globus_sdk.GroupsClient, group_id: str) -> GroupFacts:
    try:
        doc: Mapping[str, Any] = groups.get_group(group_id, include="my_memberships").data
    except (globus_sdk.GlobusAPIError, globus_sdk.NetworkError, ConfigurationError) as err:
        return GroupFacts(group_id, _call_error(err, service="groups"))
    mine = doc.get("my_memberships") or ()
    roles = sorted({str(m.get("role")) for m in mine if m.get("status", "active") == "active"})
    return GroupFacts(group_id, my_roles=tuple(roles))


def fetch_source_facts(transfer: globus_sdk.TransferClient, source: StageSource) -> SourceFacts:
    try:
        transfer.operation_ls(source.collection_id, path=source.path, limit=1)
    except (globus_sdk.GlobusAPIError, globus_sdk.NetworkError, ConfigurationError) as err:
        return SourceFacts(source, _call_error(err, service="transfer"))
    return SourceFacts(source)


def _gather(pool: ThreadPoolExecutor, fetch: Callable[[K], T], keys: Iterable[K]) -> dict[K, T]:
    futures = {key: pool.submit(fetch, key) for key in keys}
    return {key: future.result() for key, future in futures.items()}


def fetch_readiness_facts(
    clients: GlobusClients, credentials: Credentials, intent: Intent
) -> ReadinessFacts:
    """Every fact ``compute_checks`` needs, fetched in parallel under the shared rate
    limit. A failed call is a fact (the check that needs it fails), never an exception."""
    token = fetch_token_facts(credentials)
    if token.error is not None:
        return ReadinessFacts(token)  # every other call would fail the same way
    transfer, groups = clients.transfer, clients.groups
    sources_to_read = stage_sources(intent)
    # A mapped source is readable only with its data_access consent, which staging asks
    # for too; asked here, between requests, before the parallel reads start.
    require_source_scopes(clients, [source.collection_id for source in sources_to_read])
    with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
        collections = _gather(
            pool, partial(fetch_collection_facts, transfer), [c.id for c in intent.collections]
        )
        group_ids = [g.id for g in intent.groups]
        group_facts = _gather(pool, partial(fetch_group_facts, groups), group_ids)
        sources = _gather(pool, partial(fetch_source_facts, transfer), sources_to_read)
    return ReadinessFacts(token, collections, group_facts, sources)
