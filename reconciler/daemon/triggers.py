"""Triggers: the reasons to run a pass now, posted from anywhere, taken by the loop.

Posting is safe from any thread and from signal handlers (``queue.SimpleQueue.put`` is
reentrant). The loop takes everything pending at once, so any number of triggers that
arrive during a pass coalesce into one follow-up pass. Triggers say only *when*; a pass
always recomputes everything from the specs and Globus. This module never sleeps on its
own: ``take`` blocks only for the timeout its caller gives.
"""

from __future__ import annotations

import queue
import threading
from typing import Final

START: Final = "start"
SPEC_CHANGE: Final = "spec_change"
SIGHUP: Final = "sighup"
SUSPEND: Final = "suspend"
RESUME: Final = "resume"
SUSPEND_FILE: Final = "suspend_file"
REQUEST: Final = "request"
"""``reconciler daemon reconcile`` (``POST /api/reconcile``)."""
STOP: Final = "stop"
IDENTITY_CHANGE: Final = "identity_change"


class Inbox:
    """A queue of trigger names (``spec_change``, ``sighup`` ...)."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[str] = queue.SimpleQueue()

    def post(self, trigger: str) -> None:
        self._queue.put(trigger)

    def take(self, timeout: float) -> frozenset[str]:
        """Wait up to ``timeout`` seconds for a trigger, then return it with every other
        pending one; empty when the time ran out."""
        try:
            first = self._queue.get(timeout=min(max(timeout, 0.0), threading.TIMEOUT_MAX))
        except queue.Empty:
            return frozenset()
        return frozenset({first}) | self.drain()

    def drain(self) -> frozenset[str]:
        """Everything pending now, without waiting."""
        pending: set[str] = set()
        while True:
            try:
                pending.add(self._queue.get_nowait())
            except queue.Empty:
                return frozenset(pending)
