"""Session-wide fixtures: the throwaway PostgreSQL cluster (``tests/postgres.py``).

- ``postgres``: the session's cluster, shared by xdist workers, started on first use
  and stopped when the whole run ends (by the controlling process);
- ``pg_url``: a URL to a fresh, empty schema of this worker's database, dropped after
  the test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres import (
    Cluster,
    MissingPostgres,
    drop_schema,
    ensure_database,
    new_schema,
    shared_cluster,
    stop_shared_cluster,
)


def _shared_directory(factory: pytest.TempPathFactory, *, worker: bool) -> Path:
    base = factory.getbasetemp()
    # xdist gives each worker <controller's basetemp>/popen-gwN.
    return base.parent if worker else base


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Cluster:
    worker = worker_id != "master"
    # The controlling process stops the cluster, so it owns it (an xdist worker is its
    # child): if it is killed, the next session reaps the cluster.
    owner = os.getppid() if worker else os.getpid()
    try:
        cluster = shared_cluster(_shared_directory(tmp_path_factory, worker=worker), owner=owner)
    except MissingPostgres as err:
        pytest.fail(str(err), pytrace=False)
    ensure_database(cluster, f"reconciler_{worker_id}")
    return cluster


@pytest.fixture
def pg_url(postgres: Cluster, worker_id: str) -> Iterator[str]:
    dbname = f"reconciler_{worker_id}"
    schema = new_schema(postgres, dbname)
    try:
        yield postgres.url(dbname, schema=schema)
    finally:
        drop_schema(postgres, dbname, schema)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if hasattr(session.config, "workerinput"):
        return  # a worker: the controlling process stops the cluster after all of them
    factory: pytest.TempPathFactory | None = getattr(session.config, "_tmp_path_factory", None)
    if factory is not None and os.environ.get("PYTEST_XDIST_WORKER") is None:
        stop_shared_cluster(_shared_directory(factory, worker=False))
