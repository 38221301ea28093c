"""Delivering notifications to webhooks without ever holding up a pass.

``WebhookSender.send`` only puts the payload in a bounded queue per URL (a full queue
drops it with a ``webhook_dropped`` warning); one background thread per URL POSTs it as
JSON, retrying network errors, 429 and 5xx with exponential backoff (``scheduling``'s
``compute_backoff``) and giving up on other 4xx. A URL is logged only as
``scheme://host/[REDACTED]``: webhook URLs carry their secret in the path or query.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import queue
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import structlog

from reconciler.daemon.scheduling import compute_backoff

log = structlog.get_logger("reconciler.daemon")

QUEUE_SIZE = 100
ATTEMPTS = 6
BACKOFF_BASE = 2.0
BACKOFF_CAP = 300.0
TIMEOUT = 10.0

Post = Callable[[str, bytes, float], int]
"""``post(url, body, timeout)`` -> HTTP status; raises ``OSError`` when no answer came
(``http.client.HTTPException`` when the answer was not HTTP)."""


def compute_safe_url(url: str) -> str:
    """What of a webhook URL may be logged: scheme, host and port; never the userinfo,
    path or query, where services put the secret."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "[an invalid URL]"
    shown = f"[{host}]" if ":" in host else host
    tail = "/[REDACTED]" if parts.path not in ("", "/") or parts.query else ""
    return f"{parts.scheme}://{shown}{port}{tail}"


def check_webhook_url(url: str) -> str | None:
    """Why ``url`` cannot be a webhook, or None when it can."""
    if any(c.isspace() or not c.isprintable() for c in url):
        return "contains spaces or control characters (no HTTP request can carry it)"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  # raises ValueError on a bad port
    except ValueError:
        return "is not a URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "is not an http:// or https:// URL"
    return None


def post_json(url: str, body: bytes, timeout: float) -> int:
    request = urllib.request.Request(
        url,
        data=body,
        headers={"Content-Type": "application/json", "User-Agent": "reconciler"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = ATTEMPTS
    base: float = BACKOFF_BASE
    cap: float = BACKOFF_CAP


class _Channel:
    """One URL: its queue and its delivery thread."""

    def __init__(self, url: str, *, post: Post, retry: RetryPolicy, stop: threading.Event) -> None:
        self.url = url
        self.safe = compute_safe_url(url)
        self.queue: queue.Queue[bytes | None] = queue.Queue(maxsize=QUEUE_SIZE)
        self._post = post
        self._retry = retry
        self._stop = stop
        self.thread = threading.Thread(target=self._run, name="webhook", daemon=True)

    def _run(self) -> None:
        while True:
            body = self.queue.get()
            if body is None:
                return
            try:
                self._deliver(body)
            except Exception as err:  # a bug must not end delivery of every later event
                # Only the type: an exception's text may quote the URL and its secret.
                log.error("webhook_gave_up", url=self.safe, error=type(err).__name__)

    def _deliver(self, body: bytes) -> None:
        for attempt in range(1, self._retry.attempts + 1):
            try:
                status = self._post(self.url, body, TIMEOUT)
                problem = None if 200 <= status < 300 else f"HTTP {status}"
            except (OSError, http.client.HTTPException) as err:
                status = 0
                problem = type(err).__name__ + (f": {err.reason}" if hasattr(err, "reason") else "")
            if problem is None:
                log.debug("webhook_sent", url=self.safe, attempt=attempt)
                return
            final = (
                attempt == self._retry.attempts
                or self._stop.is_set()
                or (400 <= status < 500 and status not in (408, 429))
            )
            delay = compute_backoff(attempt, base=self._retry.base, cap=self._retry.cap)
            log.warning(
                "webhook_failed",
                url=self.safe,
                attempt=attempt,
                error=problem,
                retry_in=None if final else delay,
            )
            if final or self._stop.wait(delay):
                log.error("webhook_gave_up", url=self.safe, attempts=attempt)
                return


class WebhookSender:
    def __init__(
        self,
        urls: Sequence[str],
        *,
        post: Post = post_json,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._stop = threading.Event()
        self._channels = [
            _Channel(url, post=post, retry=retry or RetryPolicy(), stop=self._stop) for url in urls
        ]

    @property
    def targets(self) -> list[str]:
        """The URLs as they may be logged."""
        return [c.safe for c in self._channels]

    def start(self) -> None:
        for channel in self._channels:
            channel.thread.start()

    def send(self, payload: dict[str, object]) -> None:
        """Queue ``payload`` for every URL; never blocks."""
        body = json.dumps(payload).encode()
        for channel in self._channels:
            try:
                channel.queue.put_nowait(body)
            except queue.Full:
                log.warning("webhook_dropped", url=channel.safe, queued=QUEUE_SIZE)

    def stop(self, *, timeout: float = 5.0) -> None:
        """Deliver what is queued without further retries, for up to ``timeout`` seconds."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for channel in self._channels:
            with contextlib.suppress(queue.Full):  # its thread is a daemon thread anyway
                channel.queue.put(None, timeout=max(0.0, deadline - time.monotonic()))
        for channel in self._channels:
            if channel.thread.ident is not None:  # started
                channel.thread.join(max(0.0, deadline - time.monotonic()))
