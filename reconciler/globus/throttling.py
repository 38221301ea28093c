"""A shared token bucket and request accounting, mounted under every SDK client.

globus-sdk sends each attempt (retries included) through ``requests.Session.send``, so an
``HTTPAdapter`` on the clients' sessions sees every request: it waits for a token before
sending and records the outcome. Globus meters about 20 requests/s per user over 10 s
windows; staying under that ourselves avoids 429 storms.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` banked; thread-safe."""

    def __init__(
        self,
        rate: float,
        *,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.burst
        self._last = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until one is available; returns the time waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= 1.0
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait


class RequestStats:
    """Counts of HTTP attempts by service and status (``"error"`` for no response)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()

    def record(self, service: str, status: str) -> None:
        with self._lock:
            self._counts[(service, status)] += 1

    def snapshot(self) -> Mapping[tuple[str, str], int]:
        with self._lock:
            return dict(self._counts)

    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())


class ThrottledAdapter(HTTPAdapter):
    """Waits on the shared bucket before each attempt and counts each outcome."""

    def __init__(self, bucket: TokenBucket, stats: RequestStats, service: str) -> None:
        super().__init__(pool_connections=4, pool_maxsize=64)
        self._bucket = bucket
        self._stats = stats
        self._service = service

    def send(self, request: PreparedRequest, *args: Any, **kwargs: Any) -> Response:
        self._bucket.acquire()
        try:
            response = super().send(request, *args, **kwargs)
        except Exception:
            self._stats.record(self._service, "error")
            raise
        self._stats.record(self._service, str(response.status_code))
        return response
