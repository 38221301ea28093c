"""The daemon's identity cache: fresh entries cost no lookup, a TTL bounds how long a
resolution is trusted, unknown usernames are never cached (fail closed), and the
background refresh finds ids that changed and usernames that stopped resolving."""

from __future__ import annotations

import threading
from collections.abc import Mapping

import pytest

from reconciler.core.live import Identity
from reconciler.daemon.identities import IdentityCache, run_identity_refresher
from reconciler.errors import GlobusError

ALICE = Identity("aaaaaaaa-0000-4000-8000-000000000001", "alice@example.org")
BOB = Identity("bbbbbbbb-0000-4000-8000-000000000002", "bob@example.org")
ALICE_AGAIN = Identity("aaaaaaaa-0000-4000-8000-00000000000f", "alice@example.org")


class FakeAuth:
    """Globus Auth as plain data: ``known`` maps a reference to its identity."""

    def __init__(self, known: dict[str, Identity]) -> None:
        self.known = known
        self.asked: list[frozenset[str]] = []
        self.down = False

    def fetch(self, refs: frozenset[str]) -> Mapping[str, Identity]:
        if self.down:
            raise GlobusError("Auth is down", service="auth", retryable=True)
        self.asked.append(refs)
        return {r: self.known[r] for r in refs if r in self.known}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def make(known: dict[str, Identity], ttl: float = 3600.0) -> tuple[IdentityCache, FakeAuth, Clock]:
    auth, clock = FakeAuth(known), Clock()
    return IdentityCache(auth.fetch, ttl=ttl, clock=clock), auth, clock


REFS = frozenset({"alice@example.org", "bob@example.org"})


def test_fresh_entries_cost_no_lookup() -> None:
    cache, auth, clock = make({"alice@example.org": ALICE, "bob@example.org": BOB})
    assert cache.resolve(REFS) == {"alice@example.org": ALICE, "bob@example.org": BOB}
    clock.now = 3599.0
    assert cache.resolve(REFS) == {"alice@example.org": ALICE, "bob@example.org": BOB}
    assert auth.asked == [REFS]
    # Only what was not seen is looked up.
    cache.resolve(REFS | {"carol@example.org"})
    assert auth.asked[-1] == {"carol@example.org"}


def test_an_entry_past_its_ttl_is_looked_up_again_on_the_pass() -> None:
    cache, auth, clock = make({"alice@example.org": ALICE})
    cache.resolve(frozenset({"alice@example.org"}))
    auth.known["alice@example.org"] = ALICE_AGAIN
    clock.now = 3600.0
    assert cache.resolve(frozenset({"alice@example.org"})) == {"alice@example.org": ALICE_AGAIN}
    assert len(auth.asked) == 2


def test_an_unknown_username_is_never_cached_so_it_keeps_blocking() -> None:
    cache, auth, _clock = make({})
    for _ in range(3):
        assert cache.resolve(frozenset({"typo@example.org"})) == {}
    assert len(auth.asked) == 3
    auth.known["typo@example.org"] = BOB  # provisioned since: the next pass sees it
    assert cache.resolve(frozenset({"typo@example.org"})) == {"typo@example.org": BOB}


def test_the_refresh_finds_changed_and_vanished_usernames() -> None:
    cache, auth, clock = make({"alice@example.org": ALICE, "bob@example.org": BOB})
    cache.resolve(REFS)
    clock.now = 1799.0
    assert cache.compute_due() == []
    clock.now = 1800.0
    assert sorted(cache.compute_due()) == sorted(REFS)
    assert cache.refresh(REFS) is False  # nothing changed
    assert cache.compute_due() == []
    clock.now = 3700.0
    auth.known["alice@example.org"] = ALICE_AGAIN
    assert cache.refresh(frozenset({"alice@example.org"})) is True
    del auth.known["bob@example.org"]
    assert cache.refresh(frozenset({"bob@example.org"})) is True
    # bob no longer resolves: dropped, so the next pass looks him up and is blocked.
    assert cache.snapshot() == {"alice@example.org": ALICE_AGAIN}
    assert cache.resolve(REFS) == {"alice@example.org": ALICE_AGAIN}
    assert auth.asked[-1] == {"bob@example.org"}


def test_names_no_spec_uses_any_more_are_forgotten() -> None:
    cache, _auth, _clock = make({"alice@example.org": ALICE, "bob@example.org": BOB})
    cache.resolve(REFS)
    cache.retain(frozenset({"bob@example.org"}))
    assert cache.snapshot() == {"bob@example.org": BOB}


def test_a_ttl_must_be_positive() -> None:
    with pytest.raises(ValueError, match="TTL"):
        IdentityCache(FakeAuth({}).fetch, ttl=0)


def test_the_refresher_reports_a_change_and_survives_an_outage() -> None:
    cache, auth, clock = make({"alice@example.org": ALICE, "bob@example.org": BOB}, ttl=10.0)
    cache.resolve(REFS)
    clock.now = 6.0
    auth.down = True
    stop = threading.Event()
    changes: list[int] = []
    rounds = 0

    def on_change() -> None:
        changes.append(1)
        stop.set()

    # The refresher's own waits are on ``stop``; each one is a round here.
    class Rounds(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            nonlocal rounds
            rounds += 1
            if rounds == 3:  # after one failed round, Auth is back and alice moved
                auth.down = False
                auth.known["alice@example.org"] = ALICE_AGAIN
            if rounds > 20:
                stop.set()
            return stop.is_set()

    run_identity_refresher(cache, stop=Rounds(), on_change=on_change, interval=1.0, pause=0.0)
    assert changes == [1]
    assert cache.snapshot()["alice@example.org"] == ALICE_AGAIN
