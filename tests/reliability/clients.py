"""The reconciler's own clients for in-process tests, built as production builds them
(``reconciler.globus.connecting.connect``) with the SDK's retry policy kept and its sleeps
cut, so injected faults cost milliseconds rather than the SDK's real backoff."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import globus_sdk
import requests
from globus_sdk.transport import RetryContext

from reconciler.credentials import sandbox_credentials
from reconciler.globus.connecting import GlobusClients, connect
from reconciler.globus.throttling import RateLimiter

FAST = 0.01
TEST_RATE = 500.0
"""Requests per second: the production budget (20) is tested elsewhere; here the
throttle must not make a 500-grant convergence take a minute."""


def fast_backoff(after_timeout: float) -> Callable[[RetryContext], float]:
    """10 ms between retries, except after a timed-out request: then wait
    ``after_timeout`` so the retry lands after the sandbox has carried out the request
    the client gave up on (a response lost after the change was made)."""

    def backoff(ctx: RetryContext) -> float:
        if isinstance(ctx.exception, requests.Timeout):
            return after_timeout
        return FAST

    return backoff


def _tune(client: globus_sdk.BaseClient, *, timeout: float | None, after_timeout: float) -> None:
    client.retry_config.backoff = fast_backoff(after_timeout)
    client.retry_config.max_sleep = max(FAST, after_timeout)
    if timeout is not None:
        client.transport.http_timeout = timeout


@contextmanager
def fast_clients(
    *, timeout: float | None = None, after_timeout: float = FAST
) -> Iterator[GlobusClients]:
    """The reconciler's clients against the sandbox in ``$GLOBUS_SDK_SERVICE_URL_*``,
    with ``timeout`` seconds per HTTP request (None keeps the SDK's 60 s)."""
    # A 429's Retry-After holds every request for as long as the SDK's sleeps: 10 ms.
    clients = connect(sandbox_credentials(), limiter=RateLimiter(TEST_RATE, max_hold=FAST))
    # The login client that fetches tokens is private to the app and keeps the SDK's
    # own timing: one token request per set of clients, under the same faults.
    for client in (clients.transfer, clients.groups, clients.auth):
        _tune(client, timeout=timeout, after_timeout=after_timeout)
    try:
        yield clients
    finally:
        clients.close()
