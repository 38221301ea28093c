"""When the daemon wakes up next: pure arithmetic over the end of the last pass, the
resync period and its jitter, the earliest upcoming expiry, and the error backoff.

No clock, no sleeping, no randomness here: callers pass ``now``-derived instants and an
already drawn jitter value, so every case is a row in a table-driven test. Triggers
(a spec change, SIGHUP) are not scheduled: they wake the loop whenever they arrive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

WakeReason = Literal["expiry", "follow", "retry", "resync"]


@dataclass(frozen=True, slots=True)
class Schedule:
    """``resync`` seconds between drift checks, varied by up to ``jitter`` (a fraction)
    either way; after ``n`` failed passes in a row the next try comes ``backoff_base *
    2**(n-1)`` seconds later, at most ``backoff_cap``."""

    resync: float = 300.0
    jitter: float = 0.1
    backoff_base: float = 5.0
    backoff_cap: float = 300.0

    def __post_init__(self) -> None:
        if self.resync <= 0 or self.backoff_base <= 0 or self.backoff_cap <= 0:
            raise ValueError("resync and backoff periods must be positive")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be a fraction in [0, 1)")


@dataclass(frozen=True, slots=True)
class Wake:
    at: datetime
    reason: WakeReason


def compute_backoff(failures: int, *, base: float, cap: float) -> float:
    """Seconds to wait after ``failures`` consecutive failed passes (0 when none)."""
    if failures <= 0:
        return 0.0
    # Bound the exponent so a very long outage cannot overflow the float.
    return min(cap, base * 2.0 ** min(failures - 1, 64))


def compute_next_wake(
    *,
    last_pass: datetime,
    schedule: Schedule,
    jitter: float,
    next_expiry: datetime | None,
    failures: int,
    next_check: datetime | None = None,
) -> Wake:
    """The earliest of: the next resync (``last_pass`` plus the period scaled by
    ``1 + schedule.jitter * jitter``, where ``jitter`` is a draw in [-1, 1]), the next
    expiry (exactly; one already past means now), the next check of data being followed
    (``next_check``: staging tasks, downloads), and, after failures, the retry.

    After a failed pass an expiry at or before ``last_pass`` is left to the retry: that
    pass already tried to revoke it, and retrying at once would hammer a failing Globus.
    """
    if not -1.0 <= jitter <= 1.0:
        raise ValueError("jitter must be drawn from [-1, 1]")
    resync = schedule.resync * (1.0 + schedule.jitter * jitter)
    # On a tie the more specific reason wins, so logs say "expiry" rather than "resync".
    candidates: list[Wake] = []
    if next_expiry is not None and (failures == 0 or next_expiry > last_pass):
        candidates.append(Wake(next_expiry, "expiry"))
    if next_check is not None and failures == 0:
        # Data to follow (a staging task, downloads): look again then. After failures
        # the retry backoff decides instead.
        candidates.append(Wake(max(next_check, last_pass), "follow"))
    if failures > 0:
        backoff = compute_backoff(failures, base=schedule.backoff_base, cap=schedule.backoff_cap)
        candidates.append(Wake(last_pass + timedelta(seconds=backoff), "retry"))
    candidates.append(Wake(last_pass + timedelta(seconds=resync), "resync"))
    return min(candidates, key=lambda wake: wake.at)


def compute_timeout(wake: Wake, now: datetime) -> float:
    """Seconds from ``now`` until ``wake`` (0 when it is due)."""
    return max(0.0, (wake.at - now).total_seconds())
