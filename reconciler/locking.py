"""One actor per target. A target is what a reconciler acts on: the collections and
groups its specs declare, each one a *resource*. Locks are taken on every resource of
the target at once (all or nothing), so two processes whose targets share a single
collection or group exclude each other, even when their spec sets differ (a CI apply of
a pull request that adds a group, two hosts in the middle of a rollout).

Two locks per target, both handed out by the store (``TargetLock``): the *leader* lock,
held for as long as a daemon leads (``reconciler.daemon.leading``), and the *apply*
lock, held by whoever plans and writes: the leading daemon for each pass, and
``reconciler apply`` for its apply phase. ``plan`` takes neither.

A held lock is watched by a ``Lease``: confirmed every ``interval`` seconds, and given
up (``lost`` set) when it fails or has not been confirmed for ``lease`` seconds, which
is shorter than the time the database takes to end a silent client's session. So a
process cut off from the database stops writing before another can take over; and one
whose session was ended under it (a database restart) is waited out by the next holder
(``TargetLock.safe_after``).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
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


def compute_target_resources(client_id: str | None, intent: Intent) -> tuple[str, ...]:
    """The resources the intent acts on, in a stable order: its collections and groups
    (whoever the client is: two clients on one collection must not both act either).
    An intent that declares neither locks on its client alone."""
    collections = sorted({f"collection:{c.id.lower()}" for c in intent.collections})
    groups = sorted({f"group:{g.id.lower()}" for g in intent.groups})
    return (*collections, *groups) or (f"client:{client_id or '-'}",)


def compute_target_digest(resources: Sequence[str]) -> str:
    """A short name for a target, for logs."""
    return hashlib.sha256("\n".join(resources).encode()).hexdigest()[:12]


def leader_lock_names(resources: Sequence[str]) -> tuple[str, ...]:
    return tuple(f"leader:{r}" for r in resources)


def apply_lock_names(resources: Sequence[str]) -> tuple[str, ...]:
    return tuple(f"apply:{r}" for r in resources)


def wait_until_safe(lock: TargetLock, *, on_wait: Callable[[float], None] | None = None) -> None:
    """Sleep until ``lock.safe_after``: a previous holder may still be finishing."""
    delay = lock.safe_after - time.monotonic()
    if delay > 0:
        if on_wait is not None:
            on_wait(delay)
        time.sleep(delay)


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
            # The lease runs from when the confirmation was asked, not answered: the
            # database records the next holder's wait from the moment it ran the query.
            asked = self._monotonic()
            if self._lock.confirm():
                self._confirmed = asked
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
    resources: Sequence[str],
    *,
    timeout: float,
    on_wait: Callable[[], None] | None = None,
    on_settle: Callable[[float], None] | None = None,
) -> Iterator[threading.Event]:
    """Hold the target's apply lock, waiting up to ``timeout`` seconds for it (and then
    for a previous holder's lease to run out); yields an event set if the lock is lost
    meanwhile (stop writing then)."""
    lock = store.target_lock(*apply_lock_names(resources))
    if not lock.try_acquire():
        if on_wait is not None:
            on_wait()
        if not lock.acquire(timeout):
            lock.release()  # its connection
            raise LockTimeout(
                "another reconciler holds this target's apply lock (a daemon's pass or "
                f"another apply, on {store.display}); waited {timeout:g} s and applied "
                "nothing: try again, or raise --lock-timeout"
            )
    lease = Lease(lock).start()
    try:
        wait_until_safe(lock, on_wait=on_settle)
        yield lease.lost
    finally:
        lease.stop()
        lock.release()
