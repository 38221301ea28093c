"""Leader election and the lease, on real file locks (SQLite stores in a temporary
directory, as two processes on one host would share them) and on a lock double whose
confirmation hangs, as a partitioned database connection would."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from reconciler.core.intent import CollectionIntent, GroupIntent, Intent, Origin
from reconciler.daemon.health import Health
from reconciler.daemon.leading import Leadership
from reconciler.daemon.reports import PassReport
from reconciler.locking import (
    Lease,
    LockTimeout,
    apply_lock_names,
    compute_target_resources,
)
from reconciler.state import SqlStateStore, open_store
from tests.unit.daemon.fakes import T0

ORIGIN = Origin("specs/a.yaml", 1, 1)


def intent(*collections: str, groups: tuple[str, ...] = ()) -> Intent:
    return Intent(
        collections=tuple(CollectionIntent(c, c, "/x/", False, ORIGIN) for c in collections),
        groups=tuple(GroupIntent(g, g, "additive", ORIGIN) for g in groups),
        grants=(),
        memberships=(),
    )


@pytest.fixture
def stores(tmp_path: Path) -> Any:
    opened: list[SqlStateStore] = []

    def open_one() -> SqlStateStore:
        opened.append(open_store(tmp_path / "state.db"))
        return opened[-1]

    yield open_one
    for store in opened:
        store.close()


def test_a_target_is_its_collections_and_groups() -> None:
    a = compute_target_resources("client", intent("c2", "c1", groups=("g1",)))
    assert a == ("collection:c1", "collection:c2", "group:g1")
    assert a == compute_target_resources("other", intent("c1", "c2", "C1", groups=("g1",)))
    assert compute_target_resources("client", intent()) == ("client:client",)


def test_one_leader_and_a_standby_that_takes_over(
    stores: Any, events: list[dict[str, Any]]
) -> None:
    changes: dict[str, list[bool]] = {"a": [], "b": []}
    woken = threading.Event()
    a = Leadership(stores(), client_id="client", on_change=changes["a"].append, poll=0.05)
    b = Leadership(
        stores(), client_id="client", on_change=changes["b"].append, wake=woken.set, poll=0.05
    )
    b.start()
    target = intent("c1")
    with a.turn(target) as leading_a:
        assert leading_a
        with b.turn(target) as leading_b:
            assert not leading_b  # asked in the middle of a's pass, and between passes
    with b.turn(target) as leading_b:
        assert not leading_b
    assert (changes["a"], changes["b"]) == ([True], [])

    a.stop()  # steps down
    assert woken.wait(5), "the standby did not take over"
    assert changes == {"a": [True, False], "b": [True]}
    with b.turn(target) as leading_b:
        assert leading_b
    b.stop()
    names = [e["event"] for e in events]
    assert names.count("leader_acquired") == 2
    assert [e["reason"] for e in events if e["event"] == "leader_lost"] == ["stopping"] * 2


def test_another_target_is_led_independently(stores: Any) -> None:
    a = Leadership(stores(), client_id="client")
    b = Leadership(stores(), client_id="client")
    with a.turn(intent("c1")) as one, b.turn(intent("c2")) as other:
        assert one
        assert other
    with b.turn(intent("c1")) as taken:
        assert not taken  # b moved to a's target: a still leads it
    assert not b.leading
    a.stop()
    b.stop()


def test_targets_that_share_a_collection_or_group_have_one_leader(stores: Any) -> None:
    """Two daemons whose specs differ (one host has pulled a commit that adds a group,
    the other not yet) still act on the same collection: only one may lead."""
    a = Leadership(stores(), client_id="client")
    b = Leadership(stores(), client_id="client")
    c = Leadership(stores(), client_id="another-client")
    with a.turn(intent("c1")) as first:
        assert first
        with b.turn(intent("c1", groups=("g1",))) as second:
            assert not second
        with c.turn(intent("c2", groups=("g1",))) as third:
            assert third  # nothing in common with a's target
        with b.turn(intent("c1", groups=("g1",))) as second:
            assert not second  # c holds g1 now, a holds c1
    a.stop()
    c.stop()
    with b.turn(intent("c1", groups=("g1",))) as second:
        assert second
    b.stop()


def test_an_apply_that_adds_a_group_still_waits_for_the_pass(stores: Any) -> None:
    store = stores()
    leadership = Leadership(stores(), client_id="client")
    with leadership.turn(intent("c1")) as leading:
        assert leading
        ci_apply = store.target_lock(
            *apply_lock_names(compute_target_resources("client", intent("c1", groups=("g1",))))
        )
        assert not ci_apply.try_acquire()
    assert ci_apply.try_acquire()
    ci_apply.release()
    leadership.stop()


def test_a_leader_waits_for_an_apply_then_gives_up(stores: Any) -> None:
    store = stores()
    leadership = Leadership(stores(), client_id="client", apply_wait=0.3)
    target = intent("c1")
    ci_apply = store.target_lock(*apply_lock_names(compute_target_resources("client", target)))
    assert ci_apply.try_acquire()
    started = time.monotonic()
    with pytest.raises(LockTimeout, match="held this target's apply lock"):  # noqa: SIM117
        with leadership.turn(target):
            pytest.fail("the pass ran while an apply held the lock")
    assert time.monotonic() - started >= 0.3
    ci_apply.release()
    with leadership.turn(target) as leading:
        assert leading
        assert not ci_apply.try_acquire()  # held for the whole pass
    assert ci_apply.try_acquire()
    ci_apply.release()
    leadership.stop()


class HangingLock:
    """Confirms until ``cut`` is set, then hangs like a call on a dead network."""

    safe_after = 0.0

    def __init__(self) -> None:
        self.cut = threading.Event()
        self.released = threading.Event()

    held = True

    def try_acquire(self) -> bool:
        return True

    def acquire(self, timeout: float) -> bool:
        return True

    def confirm(self) -> bool:
        if self.cut.is_set():
            self.released.wait(30)
            return False
        return True

    def release(self, *, linger: bool = False) -> None:
        self.released.set()


def test_a_lease_is_lost_on_time_even_when_confirming_hangs() -> None:
    lock = HangingLock()
    reasons: list[str] = []
    lease = Lease(lock, on_lost=reasons.append, interval=0.05, lease=0.4).start()
    time.sleep(0.3)
    assert not lease.lost.is_set()  # confirmed all along
    lock.cut.set()
    cut = time.monotonic()
    assert lease.lost.wait(5)
    assert 0.3 <= time.monotonic() - cut < 2.0
    assert len(reasons) == 1
    assert "could not be confirmed" in reasons[0]
    lock.release()
    lease.stop()


def test_a_standby_is_ready_and_says_so() -> None:
    health = Health(resync=10.0)
    health.loop_started()
    assert not health.check_ready().ok
    health.observe(PassReport("p1", "standby", T0, T0), None)
    verdict = health.check_ready()
    assert verdict.ok
    assert verdict.detail == "standing by: another reconciler leads this target"
    health.observe(PassReport("p2", "failed", T0, T0), None)
    assert not health.check_ready().ok  # leading now, and no pass has succeeded yet


class SlowLock(HangingLock):
    """Every confirmation succeeds, but takes ``delay`` seconds to come back."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    def confirm(self) -> bool:
        time.sleep(self.delay)
        return True


def test_a_lease_counts_from_when_a_confirmation_was_asked() -> None:
    """The database records the lease from the moment it ran the query, so the holder
    must count from the moment it asked: answers that come back later than the lease
    allows lose it, however often they succeed."""
    lease = Lease(SlowLock(0.3), interval=0.05, lease=0.5).start()
    try:
        assert lease.lost.wait(3)
    finally:
        lease.stop()
