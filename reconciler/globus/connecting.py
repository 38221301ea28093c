"""Build the three Globus clients the reconciler uses, the production way.

Base URLs come from the SDK's own ``GLOBUS_SDK_SERVICE_URL_*`` variables (that is how the
sandbox is reached; there is no other switch). All clients share one token bucket and
one request counter, mounted on their HTTP sessions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import globus_sdk
from globus_sdk.scopes import GroupsScopes
from globus_sdk.token_storage import MemoryTokenStorage

from reconciler.credentials import ClientCredentials, Credentials, TokenCredentials
from reconciler.globus.caching import CachingTokenStorage
from reconciler.globus.throttling import RequestStats, ThrottledAdapter, TokenBucket

TRANSFER_RS = "transfer.api.globus.org"
GROUPS_RS = "groups.api.globus.org"
AUTH_RS = "auth.globus.org"
DEFAULT_RATE = 20.0


@dataclass(frozen=True, slots=True)
class GlobusClients:
    transfer: globus_sdk.TransferClient
    groups: globus_sdk.GroupsClient
    auth: globus_sdk.AuthClient
    stats: RequestStats
    caller_id: str | None
    """The identity the reconciler acts as (a client's identity id is its client id)."""

    def close(self) -> None:
        for client in (self.transfer, self.groups, self.auth):
            client.transport.close()


def _throttle(
    client: globus_sdk.BaseClient, bucket: TokenBucket, stats: RequestStats, service: str
) -> None:
    adapter = ThrottledAdapter(bucket, stats, service)
    client.transport.session.mount("http://", adapter)
    client.transport.session.mount("https://", adapter)


def connect(
    credentials: Credentials,
    *,
    rate: float = DEFAULT_RATE,
    token_cache: Path | None = None,
    bucket: TokenBucket | None = None,
) -> GlobusClients:
    """Create clients (no network yet: tokens are fetched on the first call).

    ``token_cache`` is a JSON file written with mode 0600, safe for threads and crashes
    (``reconciler.globus.caching``); None keeps tokens in memory only.
    """
    bucket = bucket or TokenBucket(rate)
    stats = RequestStats()
    transfer: globus_sdk.TransferClient
    groups: globus_sdk.GroupsClient
    auth: globus_sdk.AuthClient
    if isinstance(credentials, ClientCredentials):
        if token_cache is not None:
            token_cache.parent.mkdir(parents=True, exist_ok=True)
        storage = (
            CachingTokenStorage(token_cache) if token_cache is not None else MemoryTokenStorage()
        )
        # The login client fetches tokens; throttling it too means every request the
        # process makes is under the budget and counted.
        login = globus_sdk.ConfidentialAppAuthClient(
            client_id=credentials.client_id, client_secret=credentials.client_secret
        )
        _throttle(login, bucket, stats, "auth")
        app = globus_sdk.ClientApp(
            "reconciler",
            login_client=login,
            config=globus_sdk.GlobusAppConfig(token_storage=storage, request_refresh_tokens=False),
        )
        transfer = globus_sdk.TransferClient(app=app)
        groups = globus_sdk.GroupsClient(app=app, app_scopes=[GroupsScopes.all])
        auth = globus_sdk.AuthClient(app=app)
        caller: str | None = credentials.client_id
    else:
        transfer = globus_sdk.TransferClient(authorizer=_bearer(credentials, TRANSFER_RS))
        groups = globus_sdk.GroupsClient(authorizer=_bearer(credentials, GROUPS_RS))
        auth = globus_sdk.AuthClient(authorizer=_bearer(credentials, AUTH_RS))
        caller = credentials.identity_id
    for client, service in ((transfer, "transfer"), (groups, "groups"), (auth, "auth")):
        _throttle(client, bucket, stats, service)
    return GlobusClients(transfer, groups, auth, stats, caller)


def _bearer(credentials: TokenCredentials, server: str) -> globus_sdk.AccessTokenAuthorizer | None:
    token = credentials.tokens.get(server)
    return globus_sdk.AccessTokenAuthorizer(token) if token else None
