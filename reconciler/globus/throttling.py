"""Stay inside Globus's rate window: a sliding-window limiter under every SDK client,
shared by every request of the process (and, through a small locked file, by every
process of the same client on this host), plus request accounting.

Globus meters about 20 requests/s per client over 10 s windows. The limiter keeps a log
of the instants it let requests go and lets the next one go only when the last
``budget`` (``rate`` x 10) of them are more than a window apart, so whatever the starting
state, no window holds more than ``budget`` requests: retries, token requests and other
processes' requests included. The window it keeps is a little longer than Globus's
(``MARGIN``), so that requests reaching Globus a little later or earlier than they left
here cannot put one request too many in one of its windows.

Why a sliding window rather than a token bucket that starts empty with a burst of 1:
both hold the limit, but the window is the meter Globus itself describes, so it spends
the whole budget exactly as Globus counts it. A short run (a plan reading three
collections, a daemon pass revoking one expiry) goes out at once instead of one request
every 50 ms, and a long one runs at the budget either way. The bucket would space even a
quiet pass's reads 50 ms apart for no gain.

When Globus answers 429 anyway (another host using the same client, say), every request
of the process waits for its ``Retry-After``, not just the refused one, and the budget is
halved, then doubled back each window without a 429, so two users of one client settle
on sharing it instead of colliding again at once.

``WindowLog`` is the bookkeeping (no clock, no lock, no I/O: tested with plain numbers);
``RateLimiter`` adds the clock, sleeping, locking and the shared file;
``ThrottledAdapter`` mounts it on the SDK's HTTP sessions.
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
import struct
import threading
import time
from array import array
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC
from email.utils import parsedate_to_datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter

from reconciler.private import PRIVATE_FILE, make_private_dir

WINDOW = 10.0
"""Globus's metering window, in seconds."""
MARGIN = 0.25
"""How much longer than Globus's window ours is: room for requests whose trip to Globus
takes different times (network, queues, a thread waking late). Costs 2.5 % of the rate."""
MIN_SHARE = 0.125
"""After repeated 429s the budget is halved at most down to this fraction."""
MAX_HOLD = 600.0
"""The longest wait a Retry-After (or a shared file's state) may impose, in seconds."""
DEFAULT_RETRY_AFTER = 1.0
"""How long to hold after a 429 that names no Retry-After."""

_HEADER = struct.Struct("<8sddd")
_MAGIC = b"rcrate01"


class WindowLog:
    """The sliding window's state: instants let go (ascending, reservations in the future
    included), a hold until which nothing goes, and the share of the budget in use.
    Times are plain seconds on whatever clock the caller uses."""

    def __init__(
        self,
        *,
        budget: int,
        window: float,
        sent: Iterator[float] | tuple[float, ...] = (),
        hold_until: float = 0.0,
        share: float = 1.0,
        share_since: float = 0.0,
    ) -> None:
        if budget < 1 or window <= 0:
            raise ValueError("budget must be >= 1 and window positive")
        self.budget = budget
        self.window = window
        self.sent: deque[float] = deque(sent)
        self.hold_until = hold_until
        self.share = min(1.0, max(MIN_SHARE, share))
        self.share_since = share_since

    @property
    def allowed(self) -> int:
        """Requests allowed per window now (the budget, or less after a 429)."""
        return max(1, math.floor(self.budget * self.share))

    def reserve(self, now: float) -> float:
        """Reserve the earliest instant at or after ``now`` at which one more request
        keeps every window within the allowance; returns it."""
        self._forget(now)
        self._recover(now)
        sent = self.sent
        slot = max(now, self.hold_until)
        if sent:
            slot = max(slot, sent[-1])
        allowed = self.allowed
        if len(sent) >= allowed:
            slot = max(slot, sent[-allowed] + self.window)
        sent.append(slot)
        return slot

    def refused(self, now: float, retry_after: float) -> None:
        """Globus answered 429: nothing goes before ``retry_after`` seconds from ``now``,
        and the budget is halved (once per hold: the requests refused together count as
        one refusal)."""
        if now >= self.hold_until:
            self.share = max(MIN_SHARE, self.share / 2)
            self.share_since = now
        self.hold(now, retry_after)

    def hold(self, now: float, seconds: float) -> None:
        """Nothing goes before ``seconds`` from ``now`` (a 503's Retry-After, say)."""
        self.hold_until = max(self.hold_until, now + min(max(seconds, 0.0), MAX_HOLD))

    def _forget(self, now: float) -> None:
        """Drop instants no future window can hold; and state from a clock that jumped
        backwards (a shared file written before the jump), which would stall us."""
        sent = self.sent
        if self.hold_until > now + MAX_HOLD:
            self.hold_until = now
        # Reservations reach at most one window ahead per ``allowed`` of them queued.
        furthest = max(now, self.hold_until) + self.window * (len(sent) // self.allowed + 1)
        if sent and sent[-1] > furthest:
            sent.clear()
        horizon = now - self.window
        while sent and sent[0] <= horizon:
            sent.popleft()

    def _recover(self, now: float) -> None:
        """Double the share back for each whole window since it last changed."""
        while self.share < 1.0 and now >= self.share_since + self.window:
            self.share = min(1.0, self.share * 2)
            self.share_since += self.window

    def to_bytes(self) -> bytes:
        header = _HEADER.pack(_MAGIC, self.hold_until, self.share, self.share_since)
        return header + array("d", self.sent).tobytes()

    def load_bytes(self, raw: bytes) -> None:
        """Take the state another process wrote; anything unreadable is an empty window
        (the file only ever makes us slower, never faster, than we would be alone)."""
        self.sent.clear()
        if len(raw) < _HEADER.size or (len(raw) - _HEADER.size) % 8:
            return
        magic, hold_until, share, share_since = _HEADER.unpack_from(raw)
        if magic != _MAGIC or not all(map(math.isfinite, (hold_until, share, share_since))):
            return
        instants = array("d")
        instants.frombytes(raw[_HEADER.size :])
        if not all(math.isfinite(t) for t in instants) or any(
            later < earlier for earlier, later in pairwise(instants)
        ):
            return
        self.sent.extend(instants)
        self.hold_until = hold_until
        self.share = min(1.0, max(MIN_SHARE, share))
        self.share_since = share_since


class RateLimiter:
    """At most ``rate`` x ``window`` requests in any ``window`` + ``margin`` seconds, for
    every thread of the process and, with ``shared``, every process using that file.

    ``shared`` is a small binary file (created mode 0600) read and rewritten under an
    exclusive ``fcntl`` lock at each request; its times are wall-clock seconds, which
    every process on the host agrees on. ``clock`` and ``sleep`` are injectable for tests.
    """

    def __init__(
        self,
        rate: float,
        *,
        window: float = WINDOW,
        margin: float = MARGIN,
        shared: Path | None = None,
        max_hold: float = MAX_HOLD,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.max_hold = max_hold
        self.log = WindowLog(budget=max(1, math.floor(rate * window)), window=window + margin)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._shared = shared
        self._fd: int | None = None

    def acquire(self) -> float:
        """Wait until one more request may go; returns the time waited."""
        with self._locked() as log:
            now = self._clock()
            slot = log.reserve(now)
        wait = slot - now
        if wait > 0:
            self._sleep(wait)
        return max(wait, 0.0)

    def observe(self, status: int, retry_after: str | None) -> None:
        """Learn from a response: a 429 holds every request for its Retry-After and
        halves the budget; a 503 with a Retry-After holds them too."""
        if status == 429:
            seconds = parse_retry_after(retry_after, now=self._clock())
            hold = DEFAULT_RETRY_AFTER if seconds is None else seconds
            with self._locked() as log:
                log.refused(self._clock(), min(hold, self.max_hold))
        elif status == 503 and retry_after:
            seconds = parse_retry_after(retry_after, now=self._clock())
            if seconds is not None:
                with self._locked() as log:
                    log.hold(self._clock(), min(seconds, self.max_hold))

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[WindowLog]:
        with self._lock:
            if self._shared is None:
                yield self.log
                return
            fd = self._open()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                self.log.load_bytes(_read_all(fd))
                yield self.log
                data = self.log.to_bytes()
                os.ftruncate(fd, 0)
                os.pwrite(fd, data, 0)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _open(self) -> int:
        if self._fd is None:
            assert self._shared is not None
            make_private_dir(self._shared.parent, tighten=False)
            self._fd = os.open(self._shared, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE)
        return self._fd


def _read_all(fd: int) -> bytes:
    size = os.fstat(fd).st_size
    return os.pread(fd, size, 0) if size else b""


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date,
    RFC 9110); None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def budget_file(state_dir: Path, client: str) -> Path:
    """The file through which processes of ``client`` on this host share its budget."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in client) or "default"
    return state_dir / f"rate-{safe}.window"


def compute_peak(instants: list[float], window: float) -> int:
    """The most instants any half-open ``window`` (``(t - window, t]``) holds. Pure;
    used by tests and benchmarks to check the limit from the outside."""
    ordered = sorted(instants)
    peak = 0
    start = 0
    for end, instant in enumerate(ordered):
        while ordered[start] <= instant - window:
            start += 1
        peak = max(peak, end - start + 1)
    return peak


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
    """Waits on the shared limiter before each attempt, tells it about 429s and 503s,
    and counts each outcome."""

    def __init__(self, limiter: RateLimiter, stats: RequestStats, service: str) -> None:
        super().__init__(pool_connections=4, pool_maxsize=64)
        self._limiter = limiter
        self._stats = stats
        self._service = service

    def send(self, request: PreparedRequest, *args: Any, **kwargs: Any) -> Response:
        self._limiter.acquire()
        try:
            response = super().send(request, *args, **kwargs)
        except Exception:
            self._stats.record(self._service, "error")
            raise
        self._stats.record(self._service, str(response.status_code))
        if response.status_code in (429, 503):
            self._limiter.observe(response.status_code, response.headers.get("Retry-After"))
        return response
