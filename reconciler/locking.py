"""One actor per target. A target is what a reconciler acts on: the Globus client and
the set of collections and groups its specs declare; every process sharing a state
store derives the same key for the same target.

Two locks per target, both handed out by the store (``TargetLock``): the *leader* lock,
held for as long as a daemon leads (``reconciler.daemon.leading``), and the *apply*
lock, held by whoever plans and writes: the leading daemon for each pass, and
``reconciler apply`` for its apply phase. ``plan`` takes neither.

A held lock is watched by a ``Lease``: confirmed every ``interval`` seconds, and given
up (``lost`` set) when it fails or has not been confirmed for ``lease`` seconds, which
is shorter than the time the database takes to end a silent client's session. So a
process cut off from the database stops writing before another can take over.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from reconciler.core.intent import Intent
from reconciler.errors import ReconcilerError
from reconciler.state import StateStore, TargetLock

CONFIRM_INTERVAL = 2.0
LEASE_SECONDS = 8.0
"""Below the ~11 s after which PostgreSQL ends the session of a silent client
(``reconciler.state.postgres.SERVER_OPTIONS``)."""


class LockTimeout(ReconcilerError):
    """Another process held the apply lock for longer than we may wait."""


def compute_target_key(client_id: str | None, intent: Intent) -> str:
    """The same text for the same client and the same sets of collections and groups."""
    collections = ",".join(sorted({c.id for c in intent.collections}))
    groups = ",".join(sorted({g.id for g in intent.groups}))
    return f"client={client_id or '-'};collections={collections};groups={groups}"


def compute_target_digest(key: str) -> str:
    """A short name for a target key, for logs."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def leader_lock_name(key: str) -> str:
    return f"leader:{key}"


def apply_lock_name(key: str) -> str:
    return f"apply:{key}"


class Lease:
    """Keeps confirming a held lock on two threads: one confirms (a round trip that may
    hang while the network is down), the other watches the clock, so ``lost`` is set
    on time either way. ``on_lost(reason)`` is called once."""

    def __init__(
        self,
        lock: TargetLock,
        *,
        on_lost: Callable[[str], None] | None = None,
        interval: float = CONFIRM_INTERVAL,
        lease: float = LEASE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lost = threading.Event()
        self._lock = lock
        self._on_lost = on_lost
        self._interval = interval
        self._lease = lease
        self._monotonic = monotonic
        self._confirmed = monotonic()
        self._done = threading.Event()
        self._mutex = threading.Lock()

    def start(self) -> Lease:
        for target, name in ((self._confirm, "lease-confirm"), (self._watch, "lease-clock")):
            threading.Thread(target=target, name=name, daemon=True).start()
        return self

    def stop(self) -> None:
        self._done.set()

    def _confirm(self) -> None:
        while not self._done.wait(self._interval):
            if self._lock.confirm():
                self._confirmed = self._monotonic()
            else:
                self._lose("the lock's database session ended")
                return

    def _watch(self) -> None:
        while not self._done.wait(min(0.5, self._interval)):
            quiet = self._monotonic() - self._confirmed
            if quiet > self._lease:
                self._lose(f"the lock could not be confirmed for {quiet:.0f} s")
                return

    def _lose(self, reason: str) -> None:
        with self._mutex:
            if self.lost.is_set() or self._done.is_set():
                return
            self.lost.set()
            self._done.set()
        if self._on_lost is not None:
            self._on_lost(reason)


@contextmanager
def hold_apply_lock(
    store: StateStore,
    key: str,
    *,
    timeout: float,
    on_wait: Callable[[], None] | None = None,
) -> Iterator[threading.Event]:
    """Hold the target's apply lock, waiting up to ``timeout`` seconds for it; yields
    an event set if the lock is lost meanwhile (stop writing then)."""
    lock = store.target_lock(apply_lock_name(key))
    if not lock.try_acquire():
        if on_wait is not None:
            on_wait()
        if not lock.acquire(timeout):
            raise LockTimeout(
                "another reconciler holds this target's apply lock (a daemon's pass or "
                f"another apply, on {store.display}); waited {timeout:g} s and applied "
                "nothing: try again, or raise --lock-timeout"
            )
    lease = Lease(lock).start()
    try:
        yield lease.lost
    finally:
        lease.stop()
        lock.release()
