"""Target locks on both backends: exclusive between processes, released on release
and when the holder dies (its file descriptor or database session ends)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable

from reconciler.state import SqlStateStore

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
