"""Leader election among daemons sharing a state store: one leader per target (the
collections and groups the specs declare, ``reconciler.locking``), chosen by whoever
holds the leader lock on every one of them: session-level advisory locks on
PostgreSQL, ``flock``s on SQLite (processes on one host). Two daemons whose spec sets
share a single collection or group never both lead, even while their specs differ.

The loop asks ``turn(intent)`` at the top of each pass; nothing else knows. A leader's
turn holds the target's apply lock for the pass, so an ``apply`` from CI waits for the
pass to finish; losing that lock (its session ended) is losing the lead. A standby polls
for the leader lock every ``poll`` seconds and calls ``wake`` when it may act, so it
takes over within seconds of the leader's session ending (killed, host lost,
partitioned: the server ends a silent session in about 11 s), after waiting out the
lease the previous leader recorded, if it could not give the lock up itself
(``TargetLock.safe_after``). A leader whose lock can no longer be confirmed (``Lease``)
stops starting actions first.

Transitions are logged (``leader_acquired``, ``leader_lost``) and reported through
``on_change`` (the ``reconciler_leader`` gauge; ``False`` raises the write fence);
``arm`` is called at the top of each turn that leads, to lower the write fence for
that pass. A lead regained in the middle of a pass never lowers it: that pass's plan
was read before another process may have acted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Final

import structlog

from reconciler.core.intent import Intent
from reconciler.locking import (
    CONFIRM_INTERVAL,
    LEASE_SECONDS,
    Lease,
    LockTimeout,
    apply_lock_names,
    compute_target_digest,
    compute_target_resources,
    leader_lock_names,
    wait_until_safe,
)
from reconciler.state import StateStore, TargetLock

LEADERSHIP: Final = "leadership"
"""The trigger posted when this process becomes the leader between passes."""
POLL_SECONDS = 3.0
APPLY_WAIT_SECONDS = 60.0

log = structlog.get_logger("reconciler.daemon")


class Leadership:
    def __init__(
        self,
        store: StateStore,
        *,
        client_id: str | None,
        on_change: Callable[[bool], None] = lambda _leading: None,
        wake: Callable[[], None] = lambda: None,
        arm: Callable[[], None] = lambda: None,
        poll: float = POLL_SECONDS,
        apply_wait: float = APPLY_WAIT_SECONDS,
        interval: float = CONFIRM_INTERVAL,
        lease: float = LEASE_SECONDS,
    ) -> None:
        self._store = store
        self._client_id = client_id
        self._on_change = on_change
        self._wake = wake
        self._arm = arm
        self._poll = poll
        self._apply_wait = apply_wait
        self._interval = interval
        self._lease_seconds = lease
        self._mutex = threading.RLock()
        self._resources: tuple[str, ...] | None = None
        self._lock: TargetLock | None = None
        self._lease: Lease | None = None
        """Watching the held leader lock (also while waiting to lead)."""
        self._leading = False
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def leading(self) -> bool:
        return self._leading

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="leader-election", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Step down (a standby takes over at its next poll) and stop polling."""
        self._done.set()
        with self._mutex:
            self._step_down("stopping")
            if self._lock is not None:
                self._lock.release()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @contextmanager
    def turn(self, intent: Intent) -> Iterator[bool]:
        """True when this process leads the intent's target; the target's apply lock is
        held until the pass leaves the block. Raises ``LockTimeout`` when an apply from
        elsewhere keeps it longer than ``apply_wait``."""
        resources = compute_target_resources(self._client_id, intent)
        with self._mutex:
            self._elect(resources)
            leading = self._leading
        if not leading:
            yield False
            return
        lock = self._store.target_lock(*apply_lock_names(resources))
        if not lock.try_acquire():
            log.info("waiting_for_apply_lock", target=compute_target_digest(resources))
            if not lock.acquire(self._apply_wait):
                lock.release()  # its connection
                raise LockTimeout(
                    f"another process (a CI apply?) held this target's apply lock for more "
                    f"than {self._apply_wait:g} s; the pass is tried again later"
                )
        lease = Lease(
            lock,
            on_lost=lambda reason: self._lose(None, f"apply lock: {reason}"),
            interval=self._interval,
            lease=self._lease_seconds,
        ).start()
        try:
            wait_until_safe(
                lock,
                on_wait=lambda delay: log.info(
                    "waiting_for_previous_holder",
                    lock="apply",
                    seconds=round(delay, 1),
                    target=compute_target_digest(resources),
                ),
            )
            with self._mutex:
                leading = self._leading and not lease.lost.is_set()
                if leading:
                    self._arm()
            yield leading
        finally:
            lease.stop()
            lock.release()

    def _elect(self, resources: tuple[str, ...]) -> None:
        """Keep, move or try to take the leader lock for ``resources`` (no waiting)."""
        if resources == self._resources and self._lock is not None:
            if self._lease is None and self._lock.try_acquire():
                self._acquired()
            self._lead_when_safe()
            return
        # Give up the old lock before taking the new one: they may share resources, and
        # a process's two locks on one resource exclude each other.
        self._step_down("the specs now name another target")
        if self._lock is not None:
            self._lock.release()
        self._resources = resources
        self._lock = self._store.target_lock(*leader_lock_names(resources))
        if self._lock.try_acquire():
            self._acquired()
            self._lead_when_safe()

    def _acquired(self) -> None:
        """The leader lock is ours: watch it; lead once a previous holder is waited out."""
        assert self._lock is not None
        lock = self._lock
        lease: Lease | None = None

        def lost(reason: str) -> None:
            self._lose(lease, reason)

        lease = Lease(lock, on_lost=lost, interval=self._interval, lease=self._lease_seconds)
        self._lease = lease.start()
        delay = lock.safe_after - time.monotonic()
        if delay > 0:
            log.info(
                "waiting_for_previous_holder",
                lock="leader",
                seconds=round(delay, 1),
                target=compute_target_digest(self._resources or ()),
            )

    def _lead_when_safe(self) -> bool:
        """Become the leader if the lock is held and safe to act on; True when it did."""
        if self._leading or self._lease is None or self._lock is None:
            return False
        if time.monotonic() < self._lock.safe_after:
            return False
        self._leading = True
        log.info(
            "leader_acquired",
            target=compute_target_digest(self._resources or ()),
            store=self._store.display,
        )
        self._on_change(True)
        return True

    def _lose(self, lease: Lease | None, reason: str) -> None:
        """A lock was lost (``lease`` the leader lock's, None the apply lock's): step down
        and compete again at the next poll, on a new connection."""
        with self._mutex:
            if self._lease is None or (lease is not None and self._lease is not lease):
                return
            old = self._lock
            self._step_down(reason)
            self._lock = self._store.target_lock(*leader_lock_names(self._resources or ()))
        if old is not None:
            # The old connection may be stuck on a dead network: let it go on a thread
            # of its own. It lingers: an action of ours may still be finishing.
            threading.Thread(
                target=lambda: old.release(linger=True), name="lease-release", daemon=True
            ).start()

    def _step_down(self, reason: str) -> None:
        if self._lease is None:
            return
        self._lease.stop()
        self._lease = None
        was_leading, self._leading = self._leading, False
        if not was_leading:
            return
        log.warning(
            "leader_lost",
            reason=reason,
            target=compute_target_digest(self._resources or ()),
            store=self._store.display,
        )
        self._on_change(False)

    def _run(self) -> None:
        while True:
            with self._mutex:
                waiting = self._lock.safe_after - time.monotonic() if self._lock else 0.0
            pause = self._poll if waiting <= 0 else min(self._poll, waiting + 0.05)
            if self._done.wait(pause):
                return
            won = False
            with self._mutex:
                if self._done.is_set():
                    return
                if self._lease is None and self._lock is not None and self._lock.try_acquire():
                    self._acquired()
                won = self._lead_when_safe()
            if won:
                self._wake()
