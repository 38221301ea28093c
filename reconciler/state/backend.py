"""What the store's SQL runs on: a ``Backend`` (SQLite or PostgreSQL) executes portable
SQL with ``?`` placeholders, serializes write transactions across processes, applies
the numbered migrations under a lock, and hands out ``TargetLock``s.

The store's logic is written once (``reconciler.state.store``) against this interface;
a backend knows its driver and nothing of what the tables mean.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, Literal, Protocol, TypeVar

from reconciler.errors import ReconcilerError
from reconciler.state.protocol import TargetLock

Row = dict[str, Any]
Params = Sequence[object]
Dialect = Literal["sqlite", "postgresql"]
T = TypeVar("T")


class StateStoreError(ReconcilerError):
    """The state store failed (unreachable, refused, corrupt). Retried by the next pass;
    the message names the store without its password."""


class Writer(Protocol):
    """Statements inside one write transaction."""

    def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; the number of rows it changed."""
        ...

    def executemany(self, sql: str, rows: Sequence[Params]) -> None: ...

    def query(self, sql: str, params: Params = ()) -> list[Row]: ...


class Backend(Protocol):
    @property
    def dialect(self) -> Dialect: ...

    @property
    def display(self) -> str:
        """Where the store is, for messages (never a password)."""
        ...

    def read(self, sql: str, params: Params = ()) -> list[Row]:
        """One read, outside any write transaction."""
        ...

    def write(self, work: Callable[[Writer], T]) -> T:
        """Run ``work`` in one write transaction, serialized with every other writer of
        the store (in this process and in others), and commit it; rolled back if
        ``work`` raises. ``work`` may run twice if the connection broke before commit."""
        ...

    def migrate(self) -> list[int]:
        """Apply the migrations this store lacks, under a lock; the versions applied."""
        ...

    def schema_version(self) -> int: ...

    def target_lock(self, *names: str) -> TargetLock: ...

    def close(self) -> None: ...


def acquire_by_polling(try_acquire: Callable[[], bool], *, timeout: float, poll: float) -> bool:
    """Try ``try_acquire`` every ``poll`` seconds until it succeeds (True) or ``timeout``
    seconds have passed (False). Both backends' locks wait this way."""
    deadline = time.monotonic() + timeout
    while not try_acquire():
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll)
    return True
