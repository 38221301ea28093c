"""Build the three Globus clients the reconciler uses, the production way.

Base URLs come from the SDK's own ``GLOBUS_SDK_SERVICE_URL_*`` variables (that is how the
sandbox is reached; there is no other switch). All clients share one rate limiter
(``throttling``: Globus's 10 s window, optionally shared with other processes of the same
client) and one request counter, mounted on their HTTP sessions.

A confidential client gets its tokens through a ``ClientApp`` whose token cache is keyed
by client, secret and scopes (``reconciler.globus.caching``). A hub's tokens
(``GLOBUS_DATA``) are used as they are; a call that needs a token the hub did not pass
on, or one that has expired, fails before it is sent with a ``ConfigurationError`` that
says which token is missing and which hub setting brings it.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from pathlib import Path

import globus_sdk
from globus_sdk.authorizers import GlobusAuthorizer
from globus_sdk.scopes import GroupsScopes
from globus_sdk.token_storage import TokenStorage

from reconciler.credentials import ClientCredentials, Credentials, TokenCredentials
from reconciler.errors import ConfigurationError
from reconciler.globus.caching import (
    CachingTokenStorage,
    ExtrasMemoryTokenStorage,
    ScopeKeyedTokenStorage,
    compute_cache_namespace,
)
from reconciler.globus.retrying import OnRetry, install_retry_notices
from reconciler.globus.sources import SourceBook
from reconciler.globus.throttling import RateLimiter, RequestStats, ThrottledAdapter
from reconciler.hub import compute_expired_token_message, compute_missing_token_message
from reconciler.private import make_private_dir

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
    app: globus_sdk.ClientApp | None = None
    """The confidential client's app, whose scope requirements can grow (staging from
    a mapped collection); None with a hub's fixed tokens."""
    sources: SourceBook = field(default_factory=SourceBook)
    """Staging sources read so far (``reconciler.globus.sources``)."""
    limiter: RateLimiter | None = None

    def close(self) -> None:
        for client in (self.transfer, self.groups, self.auth):
            client.transport.close()
        if self.limiter is not None:
            self.limiter.close()


def _throttle(
    client: globus_sdk.BaseClient, limiter: RateLimiter, stats: RequestStats, service: str
) -> None:
    adapter = ThrottledAdapter(limiter, stats, service)
    client.transport.session.mount("http://", adapter)
    client.transport.session.mount("https://", adapter)


def connect(
    credentials: Credentials,
    *,
    rate: float = DEFAULT_RATE,
    token_cache: Path | None = None,
    limiter: RateLimiter | None = None,
    on_retry: OnRetry | None = None,
) -> GlobusClients:
    """Create clients (no network yet: tokens are fetched on the first call).

    ``token_cache`` is a JSON file written with mode 0600 in a 0700 directory, safe for
    threads and crashes and keyed by client, secret and scopes
    (``reconciler.globus.caching``); None keeps tokens in memory only (keyed by scopes).
    ``on_retry`` is told about each retry the SDK is about to make
    (``reconciler.globus.retrying``). ``limiter`` defaults to one of ``rate``
    requests/s for this process alone.
    """
    limiter = limiter or RateLimiter(rate)
    stats = RequestStats()
    transfer: globus_sdk.TransferClient
    groups: globus_sdk.GroupsClient
    auth: globus_sdk.AuthClient
    app: globus_sdk.ClientApp | None = None
    if isinstance(credentials, ClientCredentials):
        inner: TokenStorage = ExtrasMemoryTokenStorage()
        if token_cache is not None:
            make_private_dir(token_cache.parent)
            namespace = compute_cache_namespace(credentials.client_id, credentials.client_secret)
            inner = CachingTokenStorage(token_cache, namespace=namespace)
        storage = ScopeKeyedTokenStorage(inner)
        # The login client fetches tokens; throttling it too means every request the
        # process makes is under the budget and counted.
        login = globus_sdk.ConfidentialAppAuthClient(
            client_id=credentials.client_id, client_secret=credentials.client_secret
        )
        _throttle(login, limiter, stats, "auth")
        if on_retry is not None:
            install_retry_notices(login, "auth", on_retry)
        app = client_app = globus_sdk.ClientApp(
            "reconciler",
            login_client=login,
            config=globus_sdk.GlobusAppConfig(token_storage=storage, request_refresh_tokens=False),
        )
        storage.bind(lambda: client_app.scope_requirements)
        transfer = globus_sdk.TransferClient(app=client_app)
        groups = globus_sdk.GroupsClient(app=client_app, app_scopes=[GroupsScopes.all])
        auth = globus_sdk.AuthClient(app=client_app)
        caller: str | None = credentials.client_id
    else:
        hub = functools.partial(HubTokenAuthorizer, credentials)
        transfer = globus_sdk.TransferClient(authorizer=hub(TRANSFER_RS))
        groups = globus_sdk.GroupsClient(authorizer=hub(GROUPS_RS))
        auth = globus_sdk.AuthClient(authorizer=hub(AUTH_RS))
        caller = credentials.identity_id
    for client, service in ((transfer, "transfer"), (groups, "groups"), (auth, "auth")):
        _throttle(client, limiter, stats, service)
        if on_retry is not None:
            install_retry_notices(client, service, on_retry)
    return GlobusClients(transfer, groups, auth, stats, caller, app, limiter=limiter)


class HubTokenAuthorizer(GlobusAuthorizer):
    """A hub's access token for one resource server, or, when the hub passed on none or
    it has expired, a ``ConfigurationError`` saying so before anything is sent."""

    def __init__(self, credentials: TokenCredentials, server: str) -> None:
        self._server = server
        self._token = credentials.tokens.get(server)
        self._expires_at = credentials.expires_at.get(server)

    def get_authorization_header(self) -> str:
        if not self._token:
            raise ConfigurationError(compute_missing_token_message(self._server))
        if self._expires_at is not None and self._expires_at <= time.time():
            raise ConfigurationError(compute_expired_token_message(self._server, self._expires_at))
        return f"Bearer {self._token}"
