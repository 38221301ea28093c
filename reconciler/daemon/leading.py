"""Leader election among daemons sharing a state store: one leader per target (the
Globus client and the set of collections and groups, ``reconciler.locking``), chosen
by whoever holds the target's leader lock: a session-level advisory lock on
PostgreSQL, a ``flock`` on SQLite (processes on one host).

The loop asks ``turn(intent)`` at the top of each pass; nothing else knows. A leader's
turn holds the target's apply lock for the pass, so an ``apply`` from CI waits for the
pass to finish. A standby polls for the leader lock every ``poll`` seconds and calls
``wake`` when it wins, so it takes over within seconds of the leader's session ending
(killed, host lost, partitioned: the server ends a silent session in about 11 s). A
leader whose lock can no longer be confirmed (``Lease``) stops writing first.
Transitions are logged (``leader_acquired``, ``leader_lost``) and reported through
``on_change`` (the ``reconciler_leader`` gauge, the write fence).
"""

from __future__ import annotations

import threading
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
    apply_lock_name,
    compute_target_digest,
    compute_target_key,
    leader_lock_name,
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
        poll: float = POLL_SECONDS,
        apply_wait: float = APPLY_WAIT_SECONDS,
        interval: float = CONFIRM_INTERVAL,
        lease: float = LEASE_SECONDS,
    ) -> None:
        self._store = store
        self._client_id = client_id
        self._on_change = on_change
        self._wake = wake
        self._poll = poll
        self._apply_wait = apply_wait
        self._interval = interval
        self._lease_seconds = lease
        self._mutex = threading.RLock()
        self._key: str | None = None
        self._lock: TargetLock | None = None
        self._lease: Lease | None = None
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def leading(self) -> bool:
        return self._lease is not None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="leader-election", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Step down (a standby takes over at its next poll) and stop polling."""
        self._done.set()
        with self._mutex:
            if self._lease is not None:
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
        key = compute_target_key(self._client_id, intent)
        with self._mutex:
            self._elect(key)
            leading = self.leading
        if not leading:
            yield False
            return
        lock = self._store.target_lock(apply_lock_name(key))
        if not lock.try_acquire():
            log.info("waiting_for_apply_lock", target=compute_target_digest(key))
            if not lock.acquire(self._apply_wait):
                raise LockTimeout(
                    f"another process (a CI apply?) held this target's apply lock for more "
                    f"than {self._apply_wait:g} s; the pass is tried again later"
                )
        try:
            yield True
        finally:
            lock.release()

    def _elect(self, key: str) -> None:
        """Keep, move or try to take the leader lock for ``key`` (no waiting)."""
        if key == self._key and self._lock is not None:
            if self._lease is None and self._lock.try_acquire():
                self._become_leader()
            return
        new = self._store.target_lock(leader_lock_name(key))
        won = new.try_acquire()
        if self._lease is not None:
            self._step_down("the specs now name another target")
        if self._lock is not None:
            self._lock.release()
        self._key, self._lock = key, new
        if won:
            self._become_leader()

    def _become_leader(self) -> None:
        assert self._lock is not None
        assert self._key is not None
        lock = self._lock
        lease: Lease | None = None

        def lost(reason: str) -> None:
            with self._mutex:
                if self._lease is not lease:
                    return
                self._step_down(reason)
                # Compete again at the next poll on a new connection. The old one may be
                # stuck on a dead network: let it go on a thread of its own.
                self._lock = self._store.target_lock(leader_lock_name(self._key or ""))
            threading.Thread(target=lock.release, name="lease-release", daemon=True).start()

        lease = Lease(lock, on_lost=lost, interval=self._interval, lease=self._lease_seconds)
        self._lease = lease.start()
        log.info(
            "leader_acquired", target=compute_target_digest(self._key), store=self._store.display
        )
        self._on_change(True)

    def _step_down(self, reason: str) -> None:
        if self._lease is None:
            return
        self._lease.stop()
        self._lease = None
        log.warning(
            "leader_lost",
            reason=reason,
            target=compute_target_digest(self._key or ""),
            store=self._store.display,
        )
        self._on_change(False)

    def _run(self) -> None:
        while not self._done.wait(self._poll):
            won = False
            with self._mutex:
                if self._done.is_set():
                    return
                if self._lease is None and self._lock is not None and self._lock.try_acquire():
                    self._become_leader()
                    won = True
            if won:
                self._wake()
