"""Target locks on both backends: exclusive between processes, all or nothing over
their names, released on release and when the holder dies (its file descriptor or
database session ends); on PostgreSQL, a lock taken from a session ended under a live
holder is not acted on before that holder's recorded lease has run out."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable

import psycopg
import pytest

from reconciler.locking import LEASE_SECONDS
from reconciler.state import SqlStateStore, open_store
from reconciler.state import postgres as postgres_backend
from reconciler.state.postgres import LEASE_RECORD_SECONDS

HOLD = """
import sys, time
from reconciler.state import open_store
store = open_store(sys.argv[1])
lock = store.target_lock("target-a")
assert lock.try_acquire()
print("held", flush=True)
time.sleep(120)
"""


def test_a_lock_is_exclusive_until_released(open_twin: Callable[[], SqlStateStore]) -> None:
    first, second = open_twin(), open_twin()
    mine, theirs = first.target_lock("target-a"), second.target_lock("target-a")
    unrelated = second.target_lock("target-b")
    assert mine.try_acquire()
    assert mine.held
    assert mine.confirm()
    assert mine.try_acquire()  # already ours
    assert not theirs.try_acquire()
    assert unrelated.try_acquire()
    started = time.monotonic()
    assert not theirs.acquire(timeout=0.3)
    assert time.monotonic() - started >= 0.3
    mine.release()
    assert not mine.held
    assert not mine.confirm()
    assert theirs.acquire(timeout=5)
    theirs.release()
    unrelated.release()


def test_a_lock_dies_with_its_process(
    open_twin: Callable[[], SqlStateStore], store_location: str
) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, store_location], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        lock = open_twin().target_lock("target-a")
        assert not lock.try_acquire()
        holder.kill()  # SIGKILL: no chance to release
        holder.wait()
        assert lock.acquire(timeout=10)
        assert lock.confirm()
        lock.release()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()


def test_locks_on_overlapping_names_exclude_each_other(
    open_twin: Callable[[], SqlStateStore],
) -> None:
    """Taken all or nothing: a lock on {c1} and one on {c1, g1} exclude each other (two
    daemons whose spec sets differ by a group), and one that could not take every name
    keeps none of them."""
    first, second = open_twin(), open_twin()
    mine = first.target_lock("collection:c1")
    wider = second.target_lock("collection:c2", "collection:c1", "group:g1")
    assert mine.try_acquire()
    assert not wider.try_acquire()
    assert not wider.held
    # None of wider's other names stayed taken by the failed attempt.
    others = [second.target_lock("collection:c2"), second.target_lock("group:g1")]
    assert all(lock.try_acquire() for lock in others)
    for lock in others:
        lock.release()
    mine.release()
    assert wider.try_acquire()
    assert wider.confirm()
    blocked = first.target_lock("group:g1")
    assert not blocked.try_acquire()
    blocked.release()  # a lock that was never taken still lets its connection go
    wider.release()
    both = first.target_lock("group:g1", "collection:c1")
    assert both.acquire(timeout=5)
    both.release()


def _end_lock_sessions(pg_url: str) -> int:
    """What a database restart or ``pg_terminate_backend`` does to a lock holder."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks"
            " WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()"
        ).fetchall()
    return len(rows)


def test_the_recorded_lease_outlasts_the_holders_own() -> None:
    # A holder stops starting actions LEASE_SECONDS after it last asked for a
    # confirmation (plus the clock thread's half-second tick); the record must cover it.
    assert LEASE_RECORD_SECONDS >= LEASE_SECONDS + 1.0


def test_a_lock_taken_from_an_ended_session_waits_out_its_lease(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The session of a live holder is ended under it: the next holder gets the lock at
    once but may act only when the lease the old holder recorded has run out, even if
    it lets go before then; after a clean release there is nothing to wait for."""
    monkeypatch.setattr(postgres_backend, "LEASE_RECORD_SECONDS", 3.0)  # a quick test
    first, second = open_store(pg_url), open_store(pg_url)
    try:
        old = first.target_lock("collection:c1")
        assert old.try_acquire()
        assert old.confirm()
        confirmed = time.monotonic()
        assert _end_lock_sessions(pg_url) == 1
        new = second.target_lock("collection:c1")
        assert new.try_acquire()
        assert new.safe_after - confirmed == pytest.approx(3.0, abs=1.0)
        assert not old.confirm()  # the old holder learns at its next confirmation
        old.release()
        new.release()  # before the old lease ran out: the next holder still waits for it
        third = first.target_lock("collection:c1")
        assert third.try_acquire()
        assert third.safe_after >= new.safe_after - 0.5
        third.release()
        new = second.target_lock("collection:c1")
        assert new.try_acquire()
        time.sleep(max(0.0, new.safe_after - time.monotonic()))
        new.release()  # cleanly, once safe: the next holder need not wait
        again = first.target_lock("collection:c1")
        assert again.try_acquire()
        assert again.safe_after <= time.monotonic()
        again.release()
    finally:
        first.close()
        second.close()


def test_a_lost_lock_released_with_linger_is_waited_out(pg_url: str) -> None:
    first, second = open_store(pg_url), open_store(pg_url)
    try:
        lost = first.target_lock("collection:c1")
        assert lost.try_acquire()
        lost.release(linger=True)  # the lease was lost; an action may still be finishing
        after = second.target_lock("collection:c1")
        assert after.try_acquire()
        assert after.safe_after - time.monotonic() > LEASE_SECONDS
        after.release()
    finally:
        first.close()
        second.close()
