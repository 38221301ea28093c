"""The state-store suite runs once per backend: ``store_location`` is a SQLite file or
a fresh PostgreSQL schema, ``store`` is opened on it, and ``open_twin()`` opens the same
store again, as a second process would."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from reconciler.state import SqlStateStore, open_store

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(params=BACKENDS)
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "state.db")
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def open_twin(store_location: str) -> Iterator[Callable[[], SqlStateStore]]:
    opened: list[SqlStateStore] = []

    def open_again() -> SqlStateStore:
        store = open_store(store_location)
        opened.append(store)
        return store

    try:
        yield open_again
    finally:
        for store in opened:
            store.close()


@pytest.fixture
def store(open_twin: Callable[[], SqlStateStore]) -> SqlStateStore:
    return open_twin()
