"""The shared token bucket keeps the request rate under the budget."""

from __future__ import annotations

import threading

from reconciler.globus.throttling import RequestStats, TokenBucket


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.lock = threading.Lock()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


def test_burst_then_steady_rate() -> None:
    time = FakeTime()
    bucket = TokenBucket(20.0, clock=time.clock, sleep=time.sleep)
    waits = [bucket.acquire() for _ in range(120)]
    assert waits[:20] == [0.0] * 20  # the initial burst is free
    assert all(w > 0 for w in waits[20:])
    # 100 requests beyond the burst take 100 / 20 = 5 seconds, and not less.
    assert abs(time.now - 5.0) < 1e-6


def test_idle_time_refills_up_to_the_burst_only() -> None:
    time = FakeTime()
    bucket = TokenBucket(10.0, burst=5.0, clock=time.clock, sleep=time.sleep)
    for _ in range(5):
        bucket.acquire()
    time.now += 60  # a long idle period banks at most `burst` tokens
    waits = [bucket.acquire() for _ in range(7)]
    assert waits[:5] == [0.0] * 5
    assert waits[5] > 0


def test_request_stats_count_by_service_and_status() -> None:
    stats = RequestStats()
    stats.record("transfer", "200")
    stats.record("transfer", "200")
    stats.record("groups", "error")
    assert stats.snapshot() == {("transfer", "200"): 2, ("groups", "error"): 1}
    assert stats.total() == 3
