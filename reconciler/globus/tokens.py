"""Fetch a client's tokens once, in one request, before anything runs in parallel.

The SDK fetches a client's token lazily, per resource server, on the first request
that needs it. A pass starts with parallel reads (Transfer, Groups and Auth at once, and
several of each), and each of those first requests, finding no token, asks Globus Auth
for its own: 8 or 9 token requests for a new process where 1 is enough. ``fetch_tokens``
runs first: when any of the app's tokens is missing or about to expire, it asks for all
of them in one client-credentials request (Globus answers with one token per resource
server) and stores them, so that every later request finds its token.
"""

from __future__ import annotations

import threading
import time
import weakref

import globus_sdk

from reconciler.globus.connecting import GlobusClients
from reconciler.globus.translating import translate

REFRESH_BEFORE = 300.0
"""Tokens expiring within this many seconds are fetched again, ahead of the SDK's own
per-request renewal (60 s before expiry), so that it never races across threads."""

_lock = threading.Lock()
_fresh_until: weakref.WeakKeyDictionary[globus_sdk.ClientApp, float] = weakref.WeakKeyDictionary()
"""Per app, until when its stored tokens were last seen fresh: the store (a file, for
the CLI and the daemon) is read again only after that."""


def fetch_tokens(clients: GlobusClients, *, now: float | None = None) -> bool:
    """Make sure every token the clients need is stored and fresh; True when a token
    request was made. With access tokens given directly there is nothing to fetch."""
    app = clients.app
    if app is None:
        return False
    at = time.time() if now is None else now
    with _lock:
        if at < _fresh_until.get(app, 0.0):
            return False
        until = _fresh_until_of(app)
        if at < until:
            _fresh_until[app] = until
            return False
        try:
            app.login(force=True)
        except (globus_sdk.GlobusAPIError, globus_sdk.NetworkError) as err:
            raise translate(err, service="auth") from err
        _fresh_until[app] = _fresh_until_of(app)
        return True


def _fresh_until_of(app: globus_sdk.ClientApp) -> float:
    """When the first of the app's stored tokens is due for renewal (0: one is missing)."""
    storage = app.token_storage.token_storage  # the plain store: no validation errors
    until = float("inf")
    for resource_server in app.scope_requirements:
        data = storage.get_token_data(resource_server)
        if data is None:
            return 0.0
        until = min(until, data.expires_at_seconds - REFRESH_BEFORE)
    return until
