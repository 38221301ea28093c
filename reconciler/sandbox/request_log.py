"""The request log: one entry per Globus API request, for tests and benchmarks to count
calls by service, route and status. Control-plane requests are not logged.

Kept in memory by the running server. Indexes grow monotonically and survive
``clear()``, so a reader can remember ``next`` and later ask for what came ``since``.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

MAX_ENTRIES = 200_000


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: deque[dict[str, Any]] = deque(maxlen=MAX_ENTRIES)
        self._next = 0

    def append(self, entry: dict[str, Any]) -> int:
        with self._lock:
            index = self._next
            self._next += 1
            self._entries.append({"index": index, **entry})
            return index

    def since(self, index: int = 0) -> tuple[list[dict[str, Any]], int]:
        """Entries with ``index >= index`` and the index the next entry will get."""
        with self._lock:
            return [dict(e) for e in self._entries if e["index"] >= index], self._next

    def clear(self) -> int:
        with self._lock:
            self._entries.clear()
            return self._next
