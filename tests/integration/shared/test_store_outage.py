"""PostgreSQL restarted under a running daemon: the daemon survives (the process and
its loop keep running), logs that it lost and regained the lead, resumes, and loses
nothing: a spec edit made while the database was down converges, and every rule it
created is in the journal. The cluster here is the test's own: restarting the shared
one would disturb the other tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.state import JournalQuery, open_store
from tests.integration.shared.conftest import Shared, grants_yaml, shared_kit
from tests.postgres import Cluster, MissingPostgres, start_cluster
from tests.reliability.polling import wait_for


@pytest.fixture
def private_postgres() -> Iterator[Cluster]:
    try:
        cluster = start_cluster()
    except MissingPostgres as err:
        pytest.fail(str(err), pytrace=False)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def shared_private(
    sandbox: Any, globus_env: dict[str, str], tmp_path: Path, private_postgres: Cluster
) -> Iterator[Shared]:
    with shared_kit(sandbox, globus_env, tmp_path, private_postgres.url()) as kit:
        yield kit


def test_a_daemon_survives_a_database_restart_and_loses_nothing(
    shared_private: Shared, private_postgres: Cluster
) -> None:
    shared = shared_private
    shared.write("grants.yaml", grants_yaml(["alice"]))
    daemon = shared.daemon("host-a")
    shared.wait_rules({"/disthome/alice/"})
    daemon.wait_event("leader_acquired")

    private_postgres.stop_server()
    daemon.wait_event("leader_lost", limit=20)
    shared.write("grants.yaml", grants_yaml(["alice", "bob"]))  # edited while it is down
    assert private_postgres.start_server()

    daemon.wait_event("leader_acquired", count=2, limit=30)
    shared.wait_rules({"/disthome/alice/", "/disthome/bob/"}, limit=30)
    assert daemon.process.poll() is None, "the daemon died"
    assert daemon.get("/healthz")[0] == 200
    wait_for(lambda: daemon.get("/readyz")[0] == 200, limit=30, what="ready again")
    assert [e for e in daemon.events() if e["event"] in ("pass_crashed", "loop_crashed")] == []

    store = open_store(shared.store_url)
    try:
        created = [e.where for e in store.read_journal(JournalQuery()) if e.event == "create_rule"]
    finally:
        store.close()
    assert sorted(created) == ["tutorial:/disthome/alice/", "tutorial:/disthome/bob/"]
    assert daemon.stop() == 0
