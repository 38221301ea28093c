"""An optional Transfer rate limit: at most ``limit`` requests per second per identity,
metered over sliding 10-second windows on real time, answered with 429.

Off by default (``transfer_rate_limit`` 0). Turned on, it lets a test assert that the
reconciler's own throttling keeps it under Globus's documented budget (about 20/s) and
never relies on 429s. The counters live in the server's memory.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque

WINDOW_SECONDS = 10.0


class RateMeter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, deque[float]] = {}

    def admit(self, key: str, limit_per_second: float) -> int | None:
        """Count one call by ``key``; None if admitted, else the seconds to wait."""
        budget = max(1, int(limit_per_second * WINDOW_SECONDS))
        now = time.monotonic()
        with self._lock:
            calls = self._calls.setdefault(key, deque())
            while calls and calls[0] <= now - WINDOW_SECONDS:
                calls.popleft()
            if len(calls) >= budget:
                return max(1, math.ceil(calls[0] + WINDOW_SECONDS - now))
            calls.append(now)
            return None
