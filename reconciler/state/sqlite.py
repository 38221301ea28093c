"""The SQLite backend: one file, one connection per process. Write transactions are
``BEGIN IMMEDIATE`` (serialized across processes on the file, and across threads by a
lock), WAL mode and a busy timeout let readers and writers of several processes share
it. Target locks are ``flock`` locks on files beside the database, so they hold for
processes on one host and end with the process.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from reconciler.errors import ConfigurationError
from reconciler.private import make_private_dir, make_private_files, tighten_private_files
from reconciler.state.backend import Params, Row, StateStoreError, T, acquire_by_polling
from reconciler.state.migrating import HISTORY_TABLE, compute_pending
from reconciler.state.protocol import TargetLock

POLL_SECONDS = 0.1


def encode_time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _adapt(params: Params) -> tuple[object, ...]:
    return tuple(encode_time(p) if isinstance(p, datetime) else p for p in params)


class _SqliteWriter:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Params = ()) -> int:
        return self._conn.execute(sql, _adapt(params)).rowcount

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        self._conn.executemany(sql, [_adapt(r) for r in rows])

    def query(self, sql: str, params: Params = ()) -> list[Row]:
        return [dict(r) for r in self._conn.execute(sql, _adapt(params)).fetchall()]


class FileLock:
    """Exclusive ``flock``s on ``paths``, taken all or nothing (in sorted order, without
    waiting, so two overlapping sets never deadlock): per open file, so two holders in
    one process exclude each other too; the kernel drops them when the process dies, so
    a lost lock is a dead holder and nobody needs to wait (``safe_after`` is 0)."""

    safe_after = 0.0

    def __init__(self, paths: Sequence[Path]) -> None:
        if not paths:
            raise ValueError("a lock needs at least one name")
        self._paths = sorted(set(paths))
        self._fds: list[int] = []
        self._mutex = threading.Lock()

    @property
    def held(self) -> bool:
        return bool(self._fds)

    def try_acquire(self) -> bool:
        with self._mutex:
            if self._fds:
                return True
            taken: list[int] = []
            for path in self._paths:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    for other in taken:
                        os.close(other)
                    return False
                taken.append(fd)
            self._fds = taken
            return True

    def acquire(self, timeout: float) -> bool:
        return acquire_by_polling(self.try_acquire, timeout=timeout, poll=POLL_SECONDS)

    def confirm(self) -> bool:
        return self.held

    def release(self, *, linger: bool = False) -> None:
        del linger  # a flock is only lost with its process: nothing can linger
        with self._mutex:
            for fd in self._fds:
                os.close(fd)  # closing drops the flock
            self._fds = []


class SqliteBackend:
    dialect: Literal["sqlite"] = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.display = str(path)
        self._lock = threading.RLock()
        # Private before SQLite opens it: the journal says who can read what. SQLite
        # gives its -wal and -shm files the database's mode; older ones are tightened.
        make_private_dir(path.parent, tighten=False)
        make_private_files([path])
        tighten_private_files([Path(f"{path}-wal"), Path(f"{path}-shm")])
        try:
            self._conn = sqlite3.connect(
                path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
            self._conn.row_factory = sqlite3.Row
            self._enter_wal(deadline=time.monotonic() + 30.0)
        except (OSError, sqlite3.Error) as err:
            raise ConfigurationError(f"cannot open the state store {path}: {err}") from err

    def _enter_wal(self, *, deadline: float) -> None:
        """Switch a new store to WAL. The switch needs the file to itself and SQLite
        does not wait for it (no busy handler): another process's first write gets
        "database is locked" at once, so wait here, as for any other lock."""
        while True:
            try:
                self._conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) or time.monotonic() >= deadline:
                    raise
                time.sleep(POLL_SECONDS)

    def close(self) -> None:
        self._conn.close()

    def read(self, sql: str, params: Params = ()) -> list[Row]:
        with self._lock:
            try:
                return [dict(r) for r in self._conn.execute(sql, _adapt(params)).fetchall()]
            except sqlite3.Error as err:
                raise StateStoreError(f"the state store {self.display}: {err}") from err

    def write(self, work: Callable[[_SqliteWriter], T]) -> T:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as err:
                raise StateStoreError(f"the state store {self.display}: {err}") from err
            try:
                result = work(_SqliteWriter(self._conn))
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            return result

    def schema_version(self) -> int:
        rows = self.read(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
        )
        if not rows:
            return 0
        found = self.read("SELECT max(version) AS v FROM schema_migrations")
        return int(found[0]["v"] or 0)

    def migrate(self) -> list[int]:
        def apply(writer: _SqliteWriter) -> list[int]:
            writer.execute(HISTORY_TABLE)
            applied = {
                int(r["version"]) for r in writer.query("SELECT version FROM schema_migrations")
            }
            done = []
            for migration in compute_pending("sqlite", applied, display=self.display):
                for statement in migration.statements:
                    writer.execute(statement)
                writer.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, datetime.now(UTC)),
                )
                done.append(migration.version)
            return done

        try:
            return self.write(apply)
        except sqlite3.Error as err:
            raise ConfigurationError(f"cannot open the state store {self.path}: {err}") from err

    def target_lock(self, *names: str) -> TargetLock:
        return FileLock(
            [
                self.path.with_name(
                    f"{self.path.name}.lock-{hashlib.sha256(name.encode()).hexdigest()[:16]}"
                )
                for name in names
            ]
        )
