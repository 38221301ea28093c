"""Sandbox time: real time plus a per-world offset, and the timestamp formats Globus uses.

The offset lives in the world (``meta`` table), so moving the clock survives restarts
and is seen by every process that opens the same database. Everything time-dependent in
the sandbox (rule expiry, task completion) reads ``now`` from here, never ``time.time``.
This module only does arithmetic and formatting; it never sleeps.
"""

from __future__ import annotations

import re
import sqlite3
import time
from datetime import UTC, date, datetime

from reconciler.sandbox import store

_OFFSET_KEY = "clock_offset"


def offset(conn: sqlite3.Connection) -> float:
    return float(store.get_meta(conn, _OFFSET_KEY, "0"))


def now(conn: sqlite3.Connection) -> float:
    """Sandbox time as POSIX seconds."""
    return time.time() + offset(conn)


def advance(conn: sqlite3.Connection, seconds: float) -> float:
    """Move sandbox time forward (or back, with a negative value); return the new now."""
    store.set_meta(conn, _OFFSET_KEY, repr(offset(conn) + seconds))
    return now(conn)


def set_now(conn: sqlite3.Connection, when: float) -> float:
    """Make sandbox time equal ``when`` at this instant; it keeps running from there."""
    store.set_meta(conn, _OFFSET_KEY, repr(when - time.time()))
    return now(conn)


def to_iso(ts: float | None) -> str | None:
    """``2024-02-06T06:59:02+00:00``: the form Transfer uses for task and rule times."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def to_iso_required(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def to_listing_time(ts: float) -> str:
    """``2023-12-18 16:52:50+00:00``: the form of ``last_modified`` in ls/stat."""
    return datetime.fromtimestamp(ts, UTC).isoformat(sep=" ", timespec="seconds")


_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_iso(text: str) -> float:
    """Parse ISO 8601 as Globus accepts it: ``T`` or a space, ``Z`` or an offset, no
    zone meaning UTC, or a bare date meaning midnight UTC. Raises ValueError."""
    value = text.strip()
    if not value:
        raise ValueError("empty timestamp")
    if _DATE_ONLY.match(value):
        day = date.fromisoformat(value)
        return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value.replace(" ", "T", 1))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def describe_remaining(seconds: float) -> str:
    """A short human duration such as ``3d 4h`` or ``expired 2h ago``."""
    if seconds < 0:
        return f"expired {_short(-seconds)} ago"
    return f"{_short(seconds)} left"


def _short(seconds: float) -> str:
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"
