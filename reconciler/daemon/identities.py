"""Identity resolutions for the daemon, kept for a TTL and refreshed in the background.

A username's identity can change and a username can stop resolving, so the CLI looks
every one up on every run. A daemon pass that did the same would spend 100 Auth calls
on 10,000 usernames (5 s of the 20/s budget) before it could revoke an expiry. Here a
pass uses what was resolved within ``ttl`` and looks up only what it has not seen (or
what has outlived the TTL: then the pass waits for Globus Auth, as the CLI would).
``run_identity_refresher`` looks every entry up again in the background once it is half
the TTL old, a few calls at a time, and reports a change (an id that changed, a username
that no longer resolves) so that the daemon runs a pass at once.

Fail closed as before: a username that does not resolve is never cached, so every pass
looks it up again and the plan stays blocked until it resolves; one that stops resolving
is dropped by the refresh (within the TTL at the latest) and blocks the next plan.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import structlog

from reconciler.core.live import Identity
from reconciler.errors import ReconcilerError

log = structlog.get_logger("reconciler.daemon")

DEFAULT_TTL = 3600.0
REFRESH_AGE = 0.5
"""Entries this fraction of the TTL old are refreshed in the background."""
REFRESH_BATCH = 100
"""References per background lookup: one Auth call (Auth takes 100 per call)."""
REFRESH_PAUSE = 0.5
"""Seconds between background lookups: at most 2 calls/s, a tenth of the budget."""

Fetch = Callable[[frozenset[str]], Mapping[str, Identity]]


@dataclass(frozen=True, slots=True)
class _Entry:
    identity: Identity
    resolved: float


class IdentityCache:
    """Reference (username or UUID, as the specs write it) -> identity, each with the
    time it was resolved. Thread-safe: passes resolve while the refresher refreshes."""

    def __init__(
        self,
        fetch: Fetch,
        *,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl <= 0:
            raise ValueError("the identity TTL must be positive")
        self.ttl = ttl
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}

    def resolve(self, refs: frozenset[str]) -> Mapping[str, Identity]:
        """The identities of ``refs``: fresh entries as they are, the rest looked up now
        (unknown ones are absent from the answer, and are not remembered)."""
        now = self._clock()
        with self._lock:
            found = {
                ref: entry.identity
                for ref in refs
                if (entry := self._entries.get(ref)) is not None and now - entry.resolved < self.ttl
            }
        missing = refs.difference(found)
        if missing:
            looked_up = self._lookup(frozenset(missing), now)
            found.update(looked_up)
        return found

    def refresh(self, refs: frozenset[str]) -> bool:
        """Look ``refs`` up again; True when one now has another id or none at all."""
        before = self.snapshot()
        after = self._lookup(refs, self._clock())
        return any(
            (old := before.get(ref)) is not None and (after.get(ref) is None or after[ref] != old)
            for ref in refs
        )

    def compute_due(self) -> list[str]:
        """References due for a background refresh, oldest first."""
        horizon = self._clock() - self.ttl * REFRESH_AGE
        with self._lock:
            due = [(e.resolved, ref) for ref, e in self._entries.items() if e.resolved <= horizon]
        return [ref for _, ref in sorted(due)]

    def retain(self, refs: frozenset[str]) -> None:
        """Forget references no spec names any more (they are not refreshed again)."""
        with self._lock:
            for ref in [r for r in self._entries if r not in refs]:
                del self._entries[ref]

    def snapshot(self) -> dict[str, Identity]:
        with self._lock:
            return {ref: entry.identity for ref, entry in self._entries.items()}

    def _lookup(self, refs: frozenset[str], now: float) -> Mapping[str, Identity]:
        found = self._fetch(refs)
        with self._lock:
            for ref in refs:
                identity = found.get(ref)
                if identity is None:
                    self._entries.pop(ref, None)
                else:
                    self._entries[ref] = _Entry(identity, now)
        return {ref: found[ref] for ref in refs if ref in found}


def run_identity_refresher(
    cache: IdentityCache,
    *,
    stop: threading.Event,
    on_change: Callable[[], None],
    interval: float | None = None,
    pause: float = REFRESH_PAUSE,
) -> None:
    """Until ``stop``: every ``interval`` seconds (an eighth of the TTL, at most 5
    minutes, by default) refresh the entries half the TTL old, ``REFRESH_BATCH`` per
    call with ``pause`` seconds between calls; call ``on_change`` after a round that
    changed something. A failed lookup is logged and tried again next round; entries
    that outlive the TTL meanwhile are looked up by the next pass instead."""
    every = interval if interval is not None else min(cache.ttl / 8, 300.0)
    while not stop.wait(every):
        due = cache.compute_due()
        changed = False
        for start in range(0, len(due), REFRESH_BATCH):
            try:
                changed |= cache.refresh(frozenset(due[start : start + REFRESH_BATCH]))
            except ReconcilerError as err:
                log.warning("identity_refresh_failed", error=str(err), due=len(due))
                break
            if stop.wait(pause):
                return
        if changed:
            log.info("identities_changed", refreshed=len(due))
            on_change()
