"""Say what the SDK is retrying while it retries, and name the host and the cause of a
network error.

globus-sdk retries a failed request five times with a growing backoff (about 15 s in
all) and then raises a bare ``GlobusConnectionError``. Each of its retry checks is
wrapped here (flags kept) so that a decision to retry also produces a ``RetryNotice``
for whoever is listening: the command line prints it, the daemon logs it. A token
refresh after a 401 is routine and is not reported.
"""

from __future__ import annotations

import functools
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import globus_sdk
from globus_sdk.transport import RetryCheck, RetryCheckCollection, RetryCheckResult, RetryContext

TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class RetryNotice:
    """One retry about to happen: ``attempt`` of ``retries`` for ``service`` at ``host``."""

    service: str
    host: str
    cause: str
    attempt: int
    retries: int

    def __str__(self) -> str:
        return (
            f"{self.service}: {self.host}: {self.cause}; retrying "
            f"({self.attempt} of {self.retries})"
        )


OnRetry = Callable[[RetryNotice], None]


def install_retry_notices(client: globus_sdk.BaseClient, service: str, on_retry: OnRetry) -> None:
    """Make ``client`` call ``on_retry`` before each retry it decides on."""
    config = client.retry_config
    wrapped = RetryCheckCollection()
    for check in config.checks:
        wrapped.register_check(_noticing(check, service, lambda: config.max_retries, on_retry))
    config.checks = wrapped


def _noticing(
    check: RetryCheck, service: str, retries: Callable[[], int], on_retry: OnRetry
) -> RetryCheck:
    @functools.wraps(check)  # keeps the check's flags (RUN_ONCE) for the SDK's runner
    def run(ctx: RetryContext) -> RetryCheckResult:
        result = check(ctx)
        if result is RetryCheckResult.do_retry and ctx.attempt < retries():
            notice = compute_notice(ctx, service, retries())
            if notice is not None:
                on_retry(notice)
        return result

    return run


def compute_notice(ctx: RetryContext, service: str, retries: int) -> RetryNotice | None:
    if ctx.exception is not None:
        request = getattr(ctx.exception, "request", None)
        url = str(getattr(request, "url", "") or "")
        cause = compute_network_cause(ctx.exception)
    elif ctx.response is not None and ctx.response.status_code in TRANSIENT_STATUS:
        url = str(ctx.response.url or "")
        cause = f"HTTP {ctx.response.status_code} {ctx.response.reason or ''}".rstrip()
    else:
        return None
    return RetryNotice(service, compute_host(url), cause, ctx.attempt + 1, retries)


def compute_host(url: str) -> str:
    """``host:port`` of ``url``: never the user information a service URL may carry
    (``https://user:password@proxy/``), nor the path and query."""
    return urlsplit(url).netloc.rpartition("@")[2] or "?"


def compute_network_cause(err: BaseException) -> str:
    """The innermost reason a request failed, in a few words: ``connection refused``,
    ``name not resolved (...)``, ``timed out``, ``TLS: ...``."""
    for inner in _chain(err):
        if isinstance(inner, socket.gaierror):
            return f"host name not resolved ({inner.strerror})"
        if isinstance(inner, ssl.SSLError):
            return f"TLS: {inner.reason or inner}"
        if isinstance(inner, TimeoutError) or type(inner).__name__.endswith("Timeout"):
            return "timed out"
        if isinstance(inner, ConnectionRefusedError):
            return "connection refused"
        if isinstance(inner, ConnectionResetError):
            return "connection reset"
        if isinstance(inner, OSError) and inner.strerror:
            return inner.strerror.lower()
    innermost = list(_chain(err))[-1]
    return f"{type(innermost).__name__}: {innermost}"


def _chain(err: BaseException) -> Iterator[BaseException]:
    """``err`` and what it wraps, outermost first (causes, contexts, urllib3 reasons)."""
    seen: set[int] = set()
    queue = [err]
    while queue:
        current = queue.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for inner in (
            getattr(current, "underlying_exception", None),
            getattr(current, "reason", None),
            *current.args,
            current.__cause__,
            current.__context__,
        ):
            if isinstance(inner, BaseException):
                queue.append(inner)
