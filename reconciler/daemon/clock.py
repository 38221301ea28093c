"""The daemon's notion of time, injectable so tests never sleep through real minutes.

``now()`` is the wall clock planning and expiry use (timezone-aware UTC). ``wait`` is
the loop's only way to pass time: it returns when a trigger arrives or the timeout runs
out. A test clock advances its own time instead of sleeping. This module decides
nothing about *when* to wake; ``scheduling`` does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from reconciler.daemon.triggers import Inbox


class Clock(Protocol):
    def now(self) -> datetime: ...

    def wait(self, inbox: Inbox, timeout: float) -> frozenset[str]:
        """Block until a trigger is posted or ``timeout`` seconds pass; return the
        triggers taken (empty on timeout)."""
        ...


class SystemClock:
    """Real time: ``datetime.now(UTC)`` and a blocking wait on the inbox."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def wait(self, inbox: Inbox, timeout: float) -> frozenset[str]:
        return inbox.take(timeout)
