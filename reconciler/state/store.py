"""The SQLite state store. Safe for several processes: each write is one short
transaction (WAL mode, a busy timeout), and staging reservations are atomic so two
processes never submit two tasks for one staging.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from reconciler.core.lifecycle import (
    Lifecycle,
    MemberRefusal,
    RuleKey,
    Staging,
    StagingStatus,
)
from reconciler.errors import ConfigurationError
from reconciler.state.journal import JournalEntry, JournalQuery

SCHEMA = """
CREATE TABLE IF NOT EXISTS stagings (
    key TEXT PRIMARY KEY,
    collection_id TEXT NOT NULL, principal_type TEXT NOT NULL, principal TEXT NOT NULL,
    path TEXT NOT NULL, source_collection_id TEXT NOT NULL, source_path TEXT NOT NULL,
    status TEXT NOT NULL, submission_id TEXT, task_id TEXT,
    attempts INTEGER NOT NULL DEFAULT 0, next_attempt TEXT, error TEXT, updated TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS consumed (
    key TEXT PRIMARY KEY,
    collection_id TEXT NOT NULL, principal_type TEXT NOT NULL, principal TEXT NOT NULL,
    path TEXT NOT NULL, at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS made_directories (
    collection_id TEXT NOT NULL, path TEXT NOT NULL, at TEXT NOT NULL,
    PRIMARY KEY (collection_id, path)
);
CREATE TABLE IF NOT EXISTS pending_directories (
    collection_id TEXT NOT NULL, path TEXT NOT NULL, at TEXT NOT NULL,
    PRIMARY KEY (collection_id, path)
);
CREATE TABLE IF NOT EXISTS removals (
    collection_id TEXT NOT NULL, path TEXT NOT NULL, task_id TEXT NOT NULL, at TEXT NOT NULL,
    PRIMARY KEY (collection_id, path)
);
CREATE TABLE IF NOT EXISTS downloads (
    key TEXT NOT NULL, file TEXT NOT NULL, PRIMARY KEY (key, file)
);
CREATE TABLE IF NOT EXISTS download_tasks (
    task_id TEXT PRIMARY KEY, collection_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS watermarks (
    collection_id TEXT PRIMARY KEY, checked_until TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS member_refusals (
    group_id TEXT NOT NULL, identity_id TEXT NOT NULL, detail TEXT NOT NULL, at TEXT NOT NULL,
    PRIMARY KEY (group_id, identity_id)
);
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL, event TEXT NOT NULL, "where" TEXT NOT NULL, principal TEXT NOT NULL,
    reason TEXT NOT NULL, detail TEXT NOT NULL, pass_id TEXT NOT NULL, status TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_at ON journal (at);
"""


def encode_key(key: RuleKey) -> str:
    return "\x1f".join(key)


def decode_key(text: str) -> RuleKey:
    collection_id, principal_type, principal, path = text.split("\x1f")
    return (collection_id, principal_type, principal, path)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class StateStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
            self._conn.row_factory = sqlite3.Row
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as err:
            raise ConfigurationError(f"cannot open the state store {path}: {err}") from err

    def close(self) -> None:
        self._conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; the lock serializes the executor's threads on this
        connection, and BEGIN IMMEDIATE serializes processes on the file."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _query(self, sql: str, params: tuple[object, ...] | list[object] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    # --- what planning reads -------------------------------------------------------
    def load_lifecycle(self) -> Lifecycle:
        stagings = {}
        for row in self._query("SELECT * FROM stagings"):
            key = decode_key(row["key"])
            stagings[key] = Staging(
                key=key,
                source_collection_id=row["source_collection_id"],
                source_path=row["source_path"],
                status=row["status"],
                submission_id=row["submission_id"],
                task_id=row["task_id"],
                attempts=row["attempts"],
                next_attempt=_time(row["next_attempt"]),
                error=row["error"],
            )
        consumed = frozenset(decode_key(r["key"]) for r in self._query("SELECT key FROM consumed"))
        made = frozenset(
            (r["collection_id"], r["path"])
            for r in self._query("SELECT collection_id, path FROM made_directories")
        )
        pending = frozenset(
            (r["collection_id"], r["path"])
            for r in self._query("SELECT collection_id, path FROM pending_directories")
        )
        removing = frozenset(
            (r["collection_id"], r["path"])
            for r in self._query("SELECT collection_id, path FROM removals")
        )
        refusals = {
            (r["group_id"], r["identity_id"]): MemberRefusal(
                r["detail"], datetime.fromisoformat(r["at"])
            )
            for r in self._query("SELECT * FROM member_refusals")
        }
        return Lifecycle(
            stagings=stagings,
            consumed=consumed,
            made_directories=made,
            pending_directories=pending,
            removing_directories=removing,
            member_refusals=refusals,
        )

    # --- group memberships ---------------------------------------------------------
    def record_member_refusal(
        self, group_id: str, identity_id: str, detail: str, *, now: datetime
    ) -> None:
        """Globus refused to add the identity: planning reports it instead of retrying."""
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO member_refusals (group_id, identity_id, detail, at)"
                " VALUES (?, ?, ?, ?)",
                (group_id, identity_id, detail, _iso(now)),
            )

    def forget_member_refusal(self, group_id: str, identity_id: str) -> None:
        with self._write() as conn:
            conn.execute(
                "DELETE FROM member_refusals WHERE group_id = ? AND identity_id = ?",
                (group_id, identity_id),
            )

    # --- staging -------------------------------------------------------------------
    def reserve_staging(
        self,
        key: RuleKey,
        source_collection_id: str,
        source_path: str,
        candidate_id: str,
        *,
        now: datetime,
    ) -> str:
        """The submission id to use for this staging: the one already reserved for the
        same source and not yet finished, else ``candidate_id`` (now reserved). Atomic
        across processes, so a staging is only ever submitted under one id."""
        with self._write() as conn:
            row = conn.execute(
                "SELECT * FROM stagings WHERE key = ?", (encode_key(key),)
            ).fetchone()
            if (
                row is not None
                and row["status"] in ("submitting", "submitted", "succeeded")
                and (row["source_collection_id"], row["source_path"])
                == (source_collection_id, source_path)
                and row["submission_id"]
            ):
                return str(row["submission_id"])
            attempts = row["attempts"] if row is not None and row["status"] == "failed" else 0
            conn.execute(
                "INSERT OR REPLACE INTO stagings (key, collection_id, principal_type,"
                " principal, path, source_collection_id, source_path, status, submission_id,"
                " task_id, attempts, next_attempt, error, updated)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 'submitting', ?, NULL, ?, NULL, NULL, ?)",
                (
                    encode_key(key),
                    *key,
                    source_collection_id,
                    source_path,
                    candidate_id,
                    attempts,
                    _iso(now),
                ),
            )
            return candidate_id

    def record_staging(
        self,
        key: RuleKey,
        status: StagingStatus,
        *,
        now: datetime,
        task_id: str | None = None,
        error: str | None = None,
        next_attempt: datetime | None = None,
    ) -> None:
        with self._write() as conn:
            attempts_delta = 1 if status == "failed" else 0
            conn.execute(
                "UPDATE stagings SET status = ?, task_id = COALESCE(?, task_id),"
                " attempts = attempts + ?, error = ?, next_attempt = ?, updated = ? WHERE key = ?",
                (
                    status,
                    task_id,
                    attempts_delta,
                    error,
                    _iso(next_attempt) if next_attempt else None,
                    _iso(now),
                    encode_key(key),
                ),
            )

    # --- consumption and downloads -------------------------------------------------
    def record_consumed(self, key: RuleKey, *, now: datetime) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO consumed"
                " (key, collection_id, principal_type, principal, path, at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (encode_key(key), *key, _iso(now)),
            )

    def downloaded_files(self, key: RuleKey) -> set[str]:
        rows = self._query("SELECT file FROM downloads WHERE key = ?", (encode_key(key),))
        return {str(r["file"]) for r in rows}

    def add_downloaded_files(self, key: RuleKey, files: Iterable[str]) -> None:
        with self._write() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO downloads (key, file) VALUES (?, ?)",
                [(encode_key(key), f) for f in files],
            )

    def seen_download_task(self, task_id: str) -> bool:
        return bool(self._query("SELECT 1 FROM download_tasks WHERE task_id = ?", (task_id,)))

    def mark_download_task(self, collection_id: str, task_id: str) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO download_tasks (task_id, collection_id) VALUES (?, ?)",
                (task_id, collection_id),
            )

    def download_watermark(self, collection_id: str) -> datetime | None:
        rows = self._query(
            "SELECT checked_until FROM watermarks WHERE collection_id = ?", (collection_id,)
        )
        return _time(rows[0]["checked_until"]) if rows else None

    def set_download_watermark(self, collection_id: str, until: datetime) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO watermarks (collection_id, checked_until) VALUES (?, ?)",
                (collection_id, _iso(until)),
            )

    # --- directories ---------------------------------------------------------------
    def reserve_directory(self, collection_id: str, path: str, *, now: datetime) -> bool:
        """Record, before the mkdir call, that a grant directory is being made; True
        when no earlier (interrupted) attempt had recorded it already."""
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO pending_directories (collection_id, path, at)"
                " VALUES (?, ?, ?)",
                (collection_id, path, _iso(now)),
            )
            return cursor.rowcount == 1

    def release_directory(self, collection_id: str, path: str) -> None:
        """Drop a reservation: the directory was there before, not made by us."""
        with self._write() as conn:
            conn.execute(
                "DELETE FROM pending_directories WHERE collection_id = ? AND path = ?",
                (collection_id, path),
            )

    def record_made_directory(self, collection_id: str, path: str, *, now: datetime) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO made_directories (collection_id, path, at) VALUES (?, ?, ?)",
                (collection_id, path, _iso(now)),
            )
            conn.execute(
                "DELETE FROM pending_directories WHERE collection_id = ? AND path = ?",
                (collection_id, path),
            )

    def forget_directory(self, collection_id: str, path: str) -> None:
        with self._write() as conn:
            conn.execute(
                "DELETE FROM made_directories WHERE collection_id = ? AND path = ?",
                (collection_id, path),
            )
            conn.execute(
                "DELETE FROM pending_directories WHERE collection_id = ? AND path = ?",
                (collection_id, path),
            )

    def record_removal(
        self, collection_id: str, paths: Iterable[str], task_id: str, *, now: datetime
    ) -> None:
        """A delete task was submitted for ``paths``. Until it finishes they are being
        removed; what was staged or downloaded there is gone for good, so a grant made
        there again stages again and starts its download count afresh."""
        with self._write() as conn:
            for path in paths:
                conn.execute(
                    "INSERT OR REPLACE INTO removals (collection_id, path, task_id, at)"
                    " VALUES (?, ?, ?, ?)",
                    (collection_id, path, task_id, _iso(now)),
                )
                under = f"{collection_id}\x1f%\x1f%\x1f{_like_escape(path)}%"
                conn.execute("DELETE FROM stagings WHERE key LIKE ? ESCAPE '\\'", (under,))
                conn.execute("DELETE FROM downloads WHERE key LIKE ? ESCAPE '\\'", (under,))

    def pending_removals(self) -> list[tuple[str, str, str]]:
        """(collection id, path, delete task id) of removals not known to be finished."""
        return [
            (r["collection_id"], r["path"], r["task_id"])
            for r in self._query("SELECT collection_id, path, task_id FROM removals")
        ]

    def finish_removal(self, collection_id: str, path: str, *, succeeded: bool) -> None:
        """The delete task ended: on success the directory is gone and forgotten; on
        failure it is still there and still the reconciler's to clean up."""
        with self._write() as conn:
            conn.execute(
                "DELETE FROM removals WHERE collection_id = ? AND path = ?", (collection_id, path)
            )
            if succeeded:
                for table in ("made_directories", "pending_directories"):
                    conn.execute(
                        f"DELETE FROM {table} WHERE collection_id = ? AND path = ?",
                        (collection_id, path),
                    )

    # --- journal -------------------------------------------------------------------
    def append_journal(self, entry: JournalEntry) -> None:
        with self._write() as conn:
            conn.execute(
                'INSERT INTO journal (at, event, "where", principal, reason, detail, pass_id,'
                " status) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    _iso(entry.at),
                    entry.event,
                    entry.where,
                    entry.principal,
                    entry.reason,
                    entry.detail,
                    entry.pass_id,
                    entry.status,
                ),
            )

    def read_journal(self, query: JournalQuery) -> list[JournalEntry]:
        clauses: list[str] = []
        params: list[object] = []
        if query.principal:
            clauses.append("principal LIKE ?")
            params.append(f"%{query.principal}%")
        if query.where:
            clauses.append('"where" LIKE ?')
            params.append(f"{query.where}%")
        if query.since:
            clauses.append("at >= ?")
            params.append(_iso(query.since))
        if query.until:
            clauses.append("at < ?")
            params.append(_iso(query.until))
        sql = "SELECT * FROM journal"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY seq"
        rows = self._query(sql, params)
        if query.limit is not None:
            rows = rows[-query.limit :]
        return [
            JournalEntry(
                at=datetime.fromisoformat(r["at"]),
                event=r["event"],
                where=r["where"],
                principal=r["principal"],
                reason=r["reason"],
                detail=r["detail"],
                pass_id=r["pass_id"],
                status=r["status"],
            )
            for r in rows
        ]


def open_store(path: Path) -> StateStore:
    return StateStore(path)
