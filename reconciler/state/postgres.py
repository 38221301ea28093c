"""The PostgreSQL backend (psycopg 3): a small connection pool for the store's
statements, write transactions serialized by a transaction-level advisory lock (as
``BEGIN IMMEDIATE`` serializes them on SQLite), migrations under a session advisory
lock, and target locks as session advisory locks on a connection of their own.

Every connection carries TCP keepalives both ways and a TCP user timeout, so a peer
that vanished (killed, partitioned) is noticed within seconds: the server ends its
session, which releases its locks, and the client's next call fails instead of hanging.
A statement or connection that breaks before its transaction committed is retried once
on a fresh connection; one that breaks while committing is reported, never guessed.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

import psycopg
from psycopg import conninfo as libpq
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from reconciler.errors import ConfigurationError
from reconciler.state.backend import Params, Row, StateStoreError, T, acquire_by_polling
from reconciler.state.locating import (
    PostgresLocation,
    compute_scrubbed,
    load_password_credential,
)
from reconciler.state.migrating import HISTORY_TABLE, compute_pending
from reconciler.state.protocol import TargetLock

CLIENT_SETTINGS: Mapping[str, str] = {
    "application_name": "reconciler",
    "connect_timeout": "10",
    "keepalives": "1",
    "keepalives_idle": "5",
    "keepalives_interval": "2",
    "keepalives_count": "3",
    "tcp_user_timeout": "6000",
}
"""libpq settings, unless the connection string sets them: the client notices a dead
server within about 6 s of unanswered traffic or 11 s of silence."""
SERVER_OPTIONS = (
    "-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=3"
    " -c tcp_user_timeout=10000 -c statement_timeout=60000"
    " -c idle_in_transaction_session_timeout=60000"
)
"""Per-session server settings: the server ends the session of a client it has not
heard from for about 11 s, which releases the client's advisory locks."""
POOL_SIZE = 4
POOL_TIMEOUT = 30.0
"""How long a statement waits for a connection: long enough to ride out a restart."""
POLL_SECONDS = 0.2
LEASE_RECORD_SECONDS = 10.0
"""How long past its last confirmation a lock holder may still act, as recorded for the
next holder: ``reconciler.locking.LEASE_SECONDS`` (8 s, after which a holder that could
not confirm stops starting actions) plus the clock thread's tick and a round trip."""


def compute_key(name: str) -> int:
    """A signed 64-bit advisory lock key for ``name``."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


WRITE_KEY = compute_key("reconciler:state:write")
MIGRATE_KEY = compute_key("reconciler:state:migrate")


@lru_cache(maxsize=256)
def _pg(sql: str) -> str:
    """Portable ``?`` placeholders to psycopg's ``%s``."""
    return sql.replace("%", "%%").replace("?", "%s")


def compute_conninfo(conninfo: str, *, password: str | None) -> str:
    """The connection string with our keepalive settings (where it sets none) and the
    credential's password (where it carries none)."""
    given = libpq.conninfo_to_dict(conninfo)
    extra: dict[str, Any] = {k: v for k, v in CLIENT_SETTINGS.items() if k not in given}
    if password and not given.get("password"):
        extra["password"] = password
    extra["options"] = f"{given.get('options') or ''} {SERVER_OPTIONS}".strip()
    return libpq.make_conninfo(conninfo, **extra)


class _PgWriter:
    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Params = ()) -> int:
        return self._conn.execute(_pg(sql), tuple(params)).rowcount

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        with self._conn.cursor() as cursor:
            cursor.executemany(_pg(sql), [tuple(r) for r in rows])

    def query(self, sql: str, params: Params = ()) -> list[Row]:
        with self._conn.cursor(row_factory=dict_row) as cursor:
            return cursor.execute(_pg(sql), tuple(params)).fetchall()


class AdvisoryLock:
    """Session-level advisory locks on a connection of their own, one per name, taken all
    or nothing: held while that session lives, released by the server when it ends
    (process killed, network lost, database restarted).

    A session can be ended under a live holder (a restart, ``pg_terminate_backend``),
    which then notices only at its next confirmation. So each holder records in
    ``lock_leases`` until when it may still act (``LEASE_RECORD_SECONDS`` past each
    confirmation, more than ``reconciler.locking.LEASE_SECONDS``), and the next holder
    does not act before then (``safe_after``). A clean release deletes the record."""

    def __init__(self, conninfo: str, keys: Sequence[int]) -> None:
        if not keys:
            raise ValueError("a lock needs at least one name")
        self._conninfo = conninfo
        self._keys = sorted(set(keys))
        self._conn: psycopg.Connection[Any] | None = None
        self._held = False
        self._safe_after = 0.0
        self._mutex = threading.Lock()

    @property
    def held(self) -> bool:
        return self._held

    @property
    def safe_after(self) -> float:
        return self._safe_after

    def try_acquire(self) -> bool:
        with self._mutex:
            if self._held:
                return True
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = psycopg.connect(self._conninfo, autocommit=True)
                row = self._conn.execute(
                    "SELECT bool_and(pg_try_advisory_lock(k)) FROM unnest(%s::bigint[]) AS k",
                    (self._keys,),
                ).fetchone()
                if not (row and row[0]):
                    self._conn.execute("SELECT pg_advisory_unlock_all()")
                    return False
                found = self._conn.execute(
                    "SELECT COALESCE(EXTRACT(EPOCH FROM max(until) - now()), 0)"
                    " FROM lock_leases WHERE key = ANY(%s)",
                    (self._keys,),
                ).fetchone()
                self._record_lease(self._conn)
            except psycopg.Error:
                self._drop()
                return False
            remaining = float(found[0]) if found and found[0] is not None else 0.0
            self._safe_after = time.monotonic() + max(0.0, remaining)
            self._held = True
            return True

    def _record_lease(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute(
            "INSERT INTO lock_leases (key, until)"
            " SELECT k, now() + make_interval(secs => %s) FROM unnest(%s::bigint[]) AS k"
            " ON CONFLICT (key) DO UPDATE SET until = excluded.until",
            (LEASE_RECORD_SECONDS, self._keys),
        )

    def acquire(self, timeout: float) -> bool:
        return acquire_by_polling(self.try_acquire, timeout=timeout, poll=POLL_SECONDS)

    def confirm(self) -> bool:
        """A round trip on the lock's session that also renews its lease record."""
        with self._mutex:
            if not self._held or self._conn is None:
                return False
            try:
                self._record_lease(self._conn)
            except psycopg.Error:
                self._drop()
                return False
            return True

    def release(self, *, linger: bool = False) -> None:
        with self._mutex:
            if self._held and self._conn is not None:
                # If the session is gone, the locks went with it (and the lease record
                # stays until it runs out, as it should).
                with contextlib.suppress(psycopg.Error):
                    # Still inside a previous holder's lease: keep a record that covers it.
                    if linger or time.monotonic() < self._safe_after:
                        self._record_lease(self._conn)
                    else:
                        self._conn.execute(
                            "DELETE FROM lock_leases WHERE key = ANY(%s)", (self._keys,)
                        )
                    self._conn.execute("SELECT pg_advisory_unlock_all()")
            self._drop()

    def _drop(self) -> None:
        self._held = False
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
            self._conn = None


class PostgresBackend:
    dialect: Literal["postgresql"] = "postgresql"

    def __init__(
        self, location: PostgresLocation, *, environ: Mapping[str, str] | None = None
    ) -> None:
        self.display = location.display
        self._secret = location.conninfo
        self._conninfo = compute_conninfo(
            location.conninfo, password=load_password_credential(environ)
        )
        try:
            # One connection first: a clear reason now (refused, bad password, no such
            # database) rather than a pool timeout later.
            with psycopg.connect(self._conninfo, autocommit=True) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as err:
            raise ConfigurationError(
                f"cannot connect to the state store {self.display}: {self._scrub(err)}"
            ) from err
        self._pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            self._conninfo,
            min_size=1,
            max_size=POOL_SIZE,
            kwargs={"autocommit": True},
            check=ConnectionPool.check_connection,
            timeout=POOL_TIMEOUT,
            name="reconciler-state",
            open=False,
        )
        self._pool.open()

    def close(self) -> None:
        self._pool.close()

    def _scrub(self, err: BaseException) -> str:
        text = " ".join(str(err).split())
        return compute_scrubbed(compute_scrubbed(text, self._secret), self._conninfo)

    def _fail(self, err: BaseException) -> StateStoreError:
        return StateStoreError(f"the state store {self.display}: {self._scrub(err)}")

    def read(self, sql: str, params: Params = ()) -> list[Row]:
        for attempt in (1, 2):
            try:
                with (
                    self._pool.connection() as conn,
                    conn.cursor(row_factory=dict_row) as cursor,
                ):
                    return cursor.execute(_pg(sql), tuple(params)).fetchall()
            except psycopg.OperationalError as err:
                if attempt == 2:
                    raise self._fail(err) from err
            except (psycopg.Error, PoolTimeout) as err:
                raise self._fail(err) from err
        raise AssertionError("unreachable")

    def write(self, work: Callable[[_PgWriter], T]) -> T:
        for attempt in (1, 2):
            committing = False
            try:
                with self._pool.connection() as conn:
                    with conn.transaction():
                        conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_KEY,))
                        result = work(_PgWriter(conn))
                        committing = True
                    return result
            except psycopg.OperationalError as err:
                if committing or attempt == 2:
                    raise self._fail(err) from err
            except (psycopg.Error, PoolTimeout) as err:
                raise self._fail(err) from err
        raise AssertionError("unreachable")

    def schema_version(self) -> int:
        rows = self.read("SELECT to_regclass('schema_migrations') IS NOT NULL AS present")
        if not rows[0]["present"]:
            return 0
        return int(self.read("SELECT max(version) AS v FROM schema_migrations")[0]["v"] or 0)

    def migrate(self) -> list[int]:
        try:
            with self._pool.connection() as conn:
                conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATE_KEY,))
                try:
                    return self._apply_migrations(conn)
                finally:
                    conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATE_KEY,))
        except (psycopg.Error, PoolTimeout) as err:
            raise ConfigurationError(
                f"cannot migrate the state store {self.display}: {self._scrub(err)}"
            ) from err

    def _apply_migrations(self, conn: psycopg.Connection[Any]) -> list[int]:
        done: list[int] = []
        with conn.transaction():
            conn.execute(HISTORY_TABLE)
            applied = {int(r[0]) for r in conn.execute("SELECT version FROM schema_migrations")}
            for migration in compute_pending("postgresql", applied, display=self.display):
                for statement in migration.statements:
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (%s, %s, %s)",
                    (migration.version, migration.name, datetime.now(UTC).isoformat()),
                )
                done.append(migration.version)
        return done

    def target_lock(self, *names: str) -> TargetLock:
        return AdvisoryLock(
            self._conninfo, [compute_key(f"reconciler:target:{name}") for name in names]
        )
