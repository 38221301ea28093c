"""The rate limiter keeps every window of Globus's meter within the budget, whatever the
starting state, shares it across processes through a file, and slows everything down
after a 429. Time is injected: nothing here sleeps."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.globus.throttling import (
    MIN_SHARE,
    RateLimiter,
    RequestStats,
    WindowLog,
    budget_file,
    compute_peak,
    parse_retry_after,
)


class FakeTime:
    """A clock that only moves when someone sleeps (or a test advances it)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.lock = threading.Lock()
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.slept.append(seconds)
            self.now += seconds


def test_a_window_holds_the_budget_and_no_more() -> None:
    log = WindowLog(budget=5, window=10.0)
    slots = [log.reserve(100.0) for _ in range(12)]
    assert slots[:5] == [100.0] * 5  # a short run goes out at once
    assert slots[5:10] == [110.0] * 5  # the sixth waits until the first leaves the window
    assert slots[10:] == [120.0] * 2
    assert compute_peak(slots, 10.0) == 5


def test_a_full_window_from_before_counts() -> None:
    # Another process (or a previous run) filled the window just now.
    log = WindowLog(budget=3, window=10.0, sent=(95.0, 96.0, 97.0))
    assert log.reserve(97.5) == 105.0
    assert log.reserve(97.5) == 106.0
    assert log.reserve(120.0) == 120.0  # long after, no wait


def test_the_rate_limiter_spaces_a_long_run_at_the_budget() -> None:
    time = FakeTime()
    limiter = RateLimiter(20.0, margin=0.25, clock=time.clock, sleep=time.sleep)
    start = time.now
    sent: list[float] = []
    for _ in range(1000):
        limiter.acquire()
        sent.append(time.now)
    # 1000 requests at 200 per 10.25 s: four full windows of waiting after the first.
    assert time.now - start == pytest.approx(4 * 10.25)
    assert compute_peak(sent, 10.0) == 200
    assert compute_peak(sent, 10.25) == 200


@settings(max_examples=300, deadline=None)
@given(
    budget=st.integers(min_value=1, max_value=30),
    before=st.lists(st.integers(min_value=-30_000, max_value=5_000), max_size=80),
    gaps=st.lists(st.integers(min_value=0, max_value=3_000), min_size=1, max_size=120),
)
def test_whatever_the_starting_state_no_window_holds_more_than_the_budget(
    budget: int, before: list[int], gaps: list[int]
) -> None:
    """Any starting log, even one that breaks the limit itself (a corrupt or foreign
    file), then requests arriving at any times: every window that holds one of the new
    requests holds at most ``budget`` requests, old ones included. (Milliseconds, so
    that the arithmetic is exact at the window's edge.)"""
    window = 10_000
    log = WindowLog(budget=budget, window=window, sent=tuple(sorted(before)))
    now = 0
    arrivals: list[float] = []
    new: list[float] = []
    for gap in gaps:
        now += gap
        arrivals.append(now)
        new.append(log.reserve(now))
    everything = sorted([*before, *new])
    for slot in new:
        assert sum(1 for t in everything if slot - window < t <= slot) <= budget
    assert new == sorted(new)
    assert all(slot >= arrival for slot, arrival in zip(new, arrivals, strict=True))


def test_a_429_holds_every_request_and_halves_the_budget() -> None:
    log = WindowLog(budget=8, window=10.0)
    log.refused(50.0, 3.0)
    assert log.allowed == 4
    assert log.reserve(50.0) == 53.0  # any request, not only the refused one
    log.refused(50.5, 3.0)  # refused together with the first: one refusal
    assert log.allowed == 4
    log.refused(54.0, 1.0)
    assert log.allowed == 2
    log.refused(60.0, 1.0)
    log.refused(70.0, 1.0)
    assert log.allowed == max(1, int(8 * MIN_SHARE))
    # Each whole window without a 429 doubles the share back.
    log.reserve(80.5)
    assert log.allowed == 2
    log.reserve(101.0)
    assert log.allowed == 8


def test_the_limiter_waits_out_a_retry_after_for_everyone() -> None:
    time = FakeTime()
    limiter = RateLimiter(20.0, clock=time.clock, sleep=time.sleep)
    limiter.acquire()
    limiter.observe(429, "2")
    assert limiter.acquire() == pytest.approx(2.0)
    limiter.observe(503, "1")
    assert limiter.acquire() == pytest.approx(1.0)
    limiter.observe(503, None)  # a 503 without Retry-After is the SDK's to retry
    assert limiter.acquire() == 0.0
    limiter.observe(500, "30")
    assert limiter.acquire() == 0.0


def test_a_retry_after_is_never_longer_than_the_cap() -> None:
    log = WindowLog(budget=8, window=10.0)
    log.refused(0.0, 10**9)
    assert log.reserve(0.0) == 600.0


def test_processes_sharing_the_file_share_the_budget(tmp_path: Path) -> None:
    """Two limiters on one file are two processes (each opens it, so the lock excludes
    them from each other): together they stay within one budget."""
    time = FakeTime()
    shared = budget_file(tmp_path / "state", "client-1")
    daemon = RateLimiter(1.0, margin=0.0, shared=shared, clock=time.clock, sleep=time.sleep)
    ci = RateLimiter(1.0, margin=0.0, shared=shared, clock=time.clock, sleep=time.sleep)
    sent: list[float] = []
    for i in range(40):
        (daemon if i % 3 else ci).acquire()
        sent.append(time.now)
    assert compute_peak(sent, 10.0) == 10
    assert time.now - 1000.0 == pytest.approx(30.0)
    assert shared.stat().st_mode & 0o777 == 0o600
    # A 429 seen by one slows the other: the hold (5 s) and the halved budget (5 per
    # window, and the window holds the 10 requests of t=1030 until t=1040).
    assert time.now == 1030.0
    daemon.observe(429, "5")
    assert ci.acquire() == pytest.approx(10.0)
    daemon.close()
    ci.close()


def test_an_unreadable_or_foreign_shared_file_counts_as_an_empty_window(tmp_path: Path) -> None:
    time = FakeTime()
    shared = tmp_path / "rate.window"
    for junk in (b"", b"garbage", b"x" * 37, b"rcrate01" + b"\0" * 24 + b"\xff" * 8):
        shared.write_bytes(junk)
        limiter = RateLimiter(5.0, shared=shared, clock=time.clock, sleep=time.sleep)
        assert limiter.acquire() == 0.0
        limiter.close()


def test_state_from_a_clock_that_jumped_back_is_dropped() -> None:
    log = WindowLog(budget=2, window=10.0, sent=(5000.0, 5001.0), hold_until=9000.0)
    assert log.reserve(100.0) == 100.0


def test_retry_after_is_seconds_or_an_http_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC).timestamp()
    assert parse_retry_after("3", now=now) == 3.0
    assert parse_retry_after(" 1.5 ", now=now) == 1.5
    later = datetime(2026, 1, 1, 12, 0, 7, tzinfo=UTC)
    assert parse_retry_after(format_datetime(later, usegmt=True), now=now) == 7.0
    assert parse_retry_after("-4", now=now) == 0.0
    assert parse_retry_after(None, now=now) is None
    assert parse_retry_after("soon", now=now) is None


def test_budget_files_are_named_per_client(tmp_path: Path) -> None:
    assert budget_file(tmp_path, "abc-123").name == "rate-abc-123.window"
    assert budget_file(tmp_path, "../../etc/x").parent == tmp_path


def test_request_stats_count_by_service_and_status() -> None:
    stats = RequestStats()
    stats.record("transfer", "200")
    stats.record("transfer", "200")
    stats.record("groups", "error")
    assert stats.snapshot() == {("transfer", "200"): 2, ("groups", "error"): 1}
    assert stats.total() == 3
