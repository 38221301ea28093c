"""Leader election on PostgreSQL when the database ends the leader's session under it
(a restart, ``pg_terminate_backend``): the standby gets the lock at once, but must not
lead while the old leader may still believe it does, that is until the lease the old
leader recorded has run out."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from reconciler.core.intent import CollectionIntent, Intent, Origin
from reconciler.daemon.leading import Leadership
from reconciler.state import open_store
from reconciler.state import postgres as postgres_backend

TARGET = Intent(
    collections=(CollectionIntent("c1", "c1", "/x/", False, Origin("a.yaml", 1, 1)),),
    groups=(),
    grants=(),
    memberships=(),
)


def test_a_standby_never_leads_alongside_a_leader_whose_session_was_ended(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Short leases keep the test quick; the record still outlasts the lease, as it must.
    monkeypatch.setattr(postgres_backend, "LEASE_RECORD_SECONDS", 3.0)
    first, second = open_store(pg_url), open_store(pg_url)
    old = Leadership(first, client_id="client", interval=1.0, lease=2.0)
    new = Leadership(second, client_id="client", poll=0.05, interval=1.0, lease=2.0)
    try:
        with old.turn(TARGET) as leading:
            assert leading
        with new.turn(TARGET) as leading:
            assert not leading
        new.start()
        with psycopg.connect(pg_url, autocommit=True) as conn:
            ended = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks"
                " WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()"
            ).fetchall()
        assert len(ended) == 1
        both = threading.Event()
        deadline = time.monotonic() + 15
        while not new.leading and time.monotonic() < deadline:
            if old.leading and new.leading:
                both.set()
            time.sleep(0.005)
        assert new.leading, "the standby did not take over"
        assert not old.leading
        assert not both.is_set(), "two leaders at once"
    finally:
        old.stop()
        new.stop()
        first.close()
        second.close()
