"""The state store's logic, written once in portable SQL over a ``Backend`` (SQLite or
PostgreSQL), so both behave the same: staging reservations are atomic (two processes
never submit two tasks for one staging), each write is one serialized transaction,
and ``history`` filters run in SQL.

``open_store`` opens the store ``--state-db`` names and brings its schema up to date
(numbered migrations, under a lock). Two tables serve the safety of deletions
(migration 0003): ``scheduled_removals`` (pruned grants' directories waiting out their
grace period) and ``spec_inventory`` (the spec files of the last successful pass, for
the deletion guard). Losing the store is safe: everything still
converges from specs and live state; what is at risk is bounded by each grant's expiry
(docs/lifecycle.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from reconciler.core.lifecycle import (
    Lifecycle,
    MemberRefusal,
    RuleKey,
    ScheduledRemoval,
    Staging,
    StagingStatus,
)
from reconciler.state.backend import Backend, Row, Writer
from reconciler.state.journal import JournalEntry, JournalQuery
from reconciler.state.locating import (
    PostgresLocation,
    SqliteLocation,
    StoreLocation,
    parse_location,
)
from reconciler.state.protocol import TargetLock
from reconciler.state.sqlite import SqliteBackend

SEPARATOR = "\x1f"


def encode_key(key: RuleKey) -> str:
    return SEPARATOR.join(key)


def decode_key(text: str) -> RuleKey:
    collection_id, principal_type, principal, path = text.split(SEPARATOR)
    return (collection_id, principal_type, principal, path)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def decode_time(value: object) -> datetime | None:
    """A time as either backend returns it (ISO text from SQLite, a datetime from
    PostgreSQL), in UTC."""
    if value is None or value == "":
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.astimezone(UTC)


def _required_time(value: object) -> datetime:
    moment = decode_time(value)
    if moment is None:
        raise ValueError("a required time is missing from the state store")
    return moment


def _pairs(rows: list[Row]) -> frozenset[tuple[str, str]]:
    return frozenset((str(r["collection_id"]), str(r["path"])) for r in rows)


def _under(key: RuleKey, collection_id: str, path: str) -> bool:
    return key[0] == collection_id and key[3].startswith(path)


class SqlStateStore:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    @property
    def display(self) -> str:
        return self.backend.display

    def close(self) -> None:
        self.backend.close()

    def target_lock(self, *names: str) -> TargetLock:
        return self.backend.target_lock(*names)

    # --- what planning reads -------------------------------------------------------
    def load_lifecycle(self) -> Lifecycle:
        read = self.backend.read
        stagings = {}
        for row in read("SELECT * FROM stagings"):
            key = decode_key(row["key"])
            stagings[key] = Staging(
                key=key,
                source_collection_id=row["source_collection_id"],
                source_path=row["source_path"],
                status=row["status"],
                submission_id=row["submission_id"],
                task_id=row["task_id"],
                attempts=int(row["attempts"]),
                next_attempt=decode_time(row["next_attempt"]),
                error=row["error"],
            )
        consumed = frozenset(decode_key(r["key"]) for r in read("SELECT key FROM consumed"))
        return Lifecycle(
            stagings=stagings,
            consumed=consumed,
            made_directories=_pairs(read("SELECT collection_id, path FROM made_directories")),
            pending_directories=_pairs(read("SELECT collection_id, path FROM pending_directories")),
            removing_directories=_pairs(read("SELECT collection_id, path FROM removals")),
            member_refusals={
                (str(r["group_id"]), str(r["identity_id"])): MemberRefusal(
                    str(r["detail"]), _required_time(r["at"])
                )
                for r in read("SELECT group_id, identity_id, detail, at FROM member_refusals")
            },
            durable=True,
            scheduled_removals=self.scheduled_removals(),
        )

    # --- group memberships ---------------------------------------------------------
    def record_member_refusal(
        self, group_id: str, identity_id: str, detail: str, *, now: datetime
    ) -> None:
        """Globus refused to add the identity: planning reports it instead of retrying."""
        self.backend.write(
            lambda w: w.execute(
                "INSERT INTO member_refusals (group_id, identity_id, detail, at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (group_id, identity_id) DO UPDATE SET"
                " detail = excluded.detail, at = excluded.at",
                (group_id, identity_id, detail, now),
            )
        )

    def forget_member_refusal(self, group_id: str, identity_id: str) -> None:
        self.backend.write(
            lambda w: w.execute(
                "DELETE FROM member_refusals WHERE group_id = ? AND identity_id = ?",
                (group_id, identity_id),
            )
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

        def reserve(w: Writer) -> str:
            rows = w.query("SELECT * FROM stagings WHERE key = ?", (encode_key(key),))
            row = rows[0] if rows else None
            if (
                row is not None
                and row["status"] in ("submitting", "submitted", "succeeded")
                and (row["source_collection_id"], row["source_path"])
                == (source_collection_id, source_path)
                and row["submission_id"]
            ):
                return str(row["submission_id"])
            attempts = int(row["attempts"]) if row is not None and row["status"] == "failed" else 0
            w.execute(
                "INSERT INTO stagings (key, collection_id, principal_type, principal, path,"
                " source_collection_id, source_path, status, submission_id, task_id, attempts,"
                " next_attempt, error, updated)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 'submitting', ?, NULL, ?, NULL, NULL, ?)"
                " ON CONFLICT (key) DO UPDATE SET source_collection_id ="
                " excluded.source_collection_id, source_path = excluded.source_path,"
                " status = excluded.status, submission_id = excluded.submission_id,"
                " task_id = NULL, attempts = excluded.attempts, next_attempt = NULL,"
                " error = NULL, updated = excluded.updated",
                (
                    encode_key(key),
                    *key,
                    source_collection_id,
                    source_path,
                    candidate_id,
                    attempts,
                    now,
                ),
            )
            return candidate_id

        return self.backend.write(reserve)

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
        self.backend.write(
            lambda w: w.execute(
                "UPDATE stagings SET status = ?, task_id = COALESCE(?, task_id),"
                " attempts = attempts + ?, error = ?, next_attempt = ?, updated = ? WHERE key = ?",
                (
                    status,
                    task_id,
                    1 if status == "failed" else 0,
                    error,
                    next_attempt,
                    now,
                    encode_key(key),
                ),
            )
        )

    # --- consumption and downloads -------------------------------------------------
    def record_consumed(self, key: RuleKey, *, now: datetime) -> None:
        self.backend.write(
            lambda w: w.execute(
                "INSERT INTO consumed (key, collection_id, principal_type, principal, path, at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (encode_key(key), *key, now),
            )
        )

    def downloaded_files(self, key: RuleKey) -> set[str]:
        rows = self.backend.read("SELECT file FROM downloads WHERE key = ?", (encode_key(key),))
        return {str(r["file"]) for r in rows}

    def add_downloaded_files(self, key: RuleKey, files: Iterable[str]) -> None:
        rows = [(encode_key(key), f) for f in files]
        if rows:
            self.backend.write(
                lambda w: w.executemany(
                    "INSERT INTO downloads (key, file) VALUES (?, ?) ON CONFLICT DO NOTHING", rows
                )
            )

    def seen_download_task(self, task_id: str) -> bool:
        return bool(
            self.backend.read("SELECT 1 AS seen FROM download_tasks WHERE task_id = ?", (task_id,))
        )

    def mark_download_task(self, collection_id: str, task_id: str) -> None:
        self.backend.write(
            lambda w: w.execute(
                "INSERT INTO download_tasks (task_id, collection_id) VALUES (?, ?)"
                " ON CONFLICT DO NOTHING",
                (task_id, collection_id),
            )
        )

    def download_watermark(self, collection_id: str) -> datetime | None:
        rows = self.backend.read(
            "SELECT checked_until FROM watermarks WHERE collection_id = ?", (collection_id,)
        )
        return decode_time(rows[0]["checked_until"]) if rows else None

    def set_download_watermark(self, collection_id: str, until: datetime) -> None:
        self.backend.write(
            lambda w: w.execute(
                "INSERT INTO watermarks (collection_id, checked_until) VALUES (?, ?)"
                " ON CONFLICT (collection_id) DO UPDATE SET checked_until = excluded.checked_until",
                (collection_id, until),
            )
        )

    # --- directories ---------------------------------------------------------------
    def reserve_directory(self, collection_id: str, path: str, *, now: datetime) -> bool:
        """Record, before the mkdir call, that a grant directory is being made; True
        when no earlier (interrupted) attempt had recorded it already."""
        changed = self.backend.write(
            lambda w: w.execute(
                "INSERT INTO pending_directories (collection_id, path, at) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (collection_id, path, now),
            )
        )
        return changed == 1

    def release_directory(self, collection_id: str, path: str) -> None:
        """Drop a reservation: the directory was there before, not made by us."""
        self.backend.write(
            lambda w: w.execute(
                "DELETE FROM pending_directories WHERE collection_id = ? AND path = ?",
                (collection_id, path),
            )
        )

    def record_made_directory(self, collection_id: str, path: str, *, now: datetime) -> None:
        def record(w: Writer) -> None:
            w.execute(
                "INSERT INTO made_directories (collection_id, path, at) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (collection_id, path, now),
            )
            w.execute(
                "DELETE FROM pending_directories WHERE collection_id = ? AND path = ?",
                (collection_id, path),
            )

        self.backend.write(record)

    def forget_directory(self, collection_id: str, path: str) -> None:
        def forget(w: Writer) -> None:
            for table in ("made_directories", "pending_directories"):
                w.execute(
                    f"DELETE FROM {table} WHERE collection_id = ? AND path = ?",
                    (collection_id, path),
                )

        self.backend.write(forget)

    def record_removal(
        self, collection_id: str, paths: Iterable[str], task_id: str, *, now: datetime
    ) -> None:
        """A delete task was submitted for ``paths``. Until it finishes they are being
        removed; what was staged or downloaded there is gone for good, so a grant made
        there again stages again and starts its download count afresh."""
        paths = list(paths)

        def record(w: Writer) -> None:
            prefix = f"{_like_escape(collection_id)}{SEPARATOR}%"
            for path in paths:
                w.execute(
                    "INSERT INTO removals (collection_id, path, task_id, at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (collection_id, path) DO UPDATE SET task_id ="
                    " excluded.task_id, at = excluded.at",
                    (collection_id, path, task_id, now),
                )
            for table in ("stagings", "downloads"):
                # Keys are matched in Python: LIKE's case rules differ between backends.
                keys = {
                    str(r["key"])
                    for r in w.query(
                        f"SELECT DISTINCT key FROM {table} WHERE key LIKE ? ESCAPE '\\'", (prefix,)
                    )
                }
                gone = [
                    (k,)
                    for k in sorted(keys)
                    if any(_under(decode_key(k), collection_id, p) for p in paths)
                ]
                if gone:
                    w.executemany(f"DELETE FROM {table} WHERE key = ?", gone)

        self.backend.write(record)

    def pending_removals(self) -> list[tuple[str, str, str]]:
        """(collection id, path, delete task id) of removals not known to be finished."""
        return [
            (str(r["collection_id"]), str(r["path"]), str(r["task_id"]))
            for r in self.backend.read(
                "SELECT collection_id, path, task_id FROM removals ORDER BY collection_id, path"
            )
        ]

    def finish_removal(self, collection_id: str, path: str, *, succeeded: bool) -> None:
        """The delete task ended: on success the directory is gone and forgotten; on
        failure it is still there and still the reconciler's to clean up."""

        def finish(w: Writer) -> None:
            tables = ["removals"]
            if succeeded:
                tables += ["made_directories", "pending_directories"]
            for table in tables:
                w.execute(
                    f"DELETE FROM {table} WHERE collection_id = ? AND path = ?",
                    (collection_id, path),
                )
            if succeeded:
                # The recursive delete also took every directory below that was waiting
                # (paths are matched in Python: LIKE's case rules differ between backends).
                waiting = w.query(
                    "SELECT path FROM scheduled_removals WHERE collection_id = ?",
                    (collection_id,),
                )
                gone = [
                    (collection_id, str(r["path"]))
                    for r in waiting
                    if str(r["path"]).startswith(path)
                ]
                if gone:
                    w.executemany(
                        "DELETE FROM scheduled_removals WHERE collection_id = ? AND path = ?",
                        gone,
                    )

        self.backend.write(finish)

    # --- scheduled removals (pruned grants' directories) ----------------------------
    def schedule_removal(self, entry: ScheduledRemoval, *, now: datetime) -> None:
        """Remember that ``entry.path`` is to be removed at ``entry.due``. An existing
        schedule for the path keeps its date unless ``entry.due`` is later (the grace was
        lengthened): a removal is never brought forward."""
        where = (entry.collection_id, entry.path)

        def write(w: Writer) -> None:
            found = w.query(
                "SELECT due FROM scheduled_removals WHERE collection_id = ? AND path = ?", where
            )
            if found:
                if entry.due > _required_time(found[0]["due"]):
                    w.execute(
                        "UPDATE scheduled_removals SET due = ?"
                        " WHERE collection_id = ? AND path = ?",
                        (entry.due, *where),
                    )
                return
            w.execute(
                "INSERT INTO scheduled_removals (collection_id, path, principal_type,"
                " principal_id, principal_label, due, at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (
                    *where,
                    entry.principal_type,
                    entry.principal_id,
                    entry.principal_label,
                    entry.due,
                    now,
                ),
            )

        self.backend.write(write)

    def cancel_removal(self, collection_id: str, path: str) -> None:
        self.backend.write(
            lambda w: w.execute(
                "DELETE FROM scheduled_removals WHERE collection_id = ? AND path = ?",
                (collection_id, path),
            )
        )

    def scheduled_removals(self) -> dict[tuple[str, str], ScheduledRemoval]:
        rows = self.backend.read(
            "SELECT collection_id, path, principal_type, principal_id, principal_label, due,"
            " at FROM scheduled_removals ORDER BY collection_id, path"
        )
        return {
            (str(r["collection_id"]), str(r["path"])): ScheduledRemoval(
                collection_id=str(r["collection_id"]),
                path=str(r["path"]),
                due=_required_time(r["due"]),
                principal_type=str(r["principal_type"]),
                principal_id=str(r["principal_id"]),
                principal_label=str(r["principal_label"]),
                scheduled_at=_required_time(r["at"]),
            )
            for r in rows
        }

    # --- spec inventory (the deletion guard) ---------------------------------------
    def load_spec_inventory(self) -> dict[str, int]:
        """Spec files of the last successful pass -> grants and memberships they held."""
        rows = self.backend.read("SELECT file, held FROM spec_inventory ORDER BY file")
        return {str(r["file"]): int(r["held"]) for r in rows}

    def record_spec_inventory(self, files: Mapping[str, int], *, now: datetime) -> None:
        """Replace the inventory with the files of a successful pass."""
        rows = [(name, held, now) for name, held in sorted(files.items())]

        def replace_all(w: Writer) -> None:
            w.execute("DELETE FROM spec_inventory")
            if rows:
                w.executemany("INSERT INTO spec_inventory (file, held, at) VALUES (?, ?, ?)", rows)

        self.backend.write(replace_all)

    # --- journal -------------------------------------------------------------------
    def append_journal(self, entry: JournalEntry) -> None:
        self.backend.write(
            lambda w: w.execute(
                'INSERT INTO journal (at, event, "where", principal, reason, detail, pass_id,'
                " status) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    entry.at,
                    entry.event,
                    entry.where,
                    entry.principal,
                    entry.reason,
                    entry.detail,
                    entry.pass_id,
                    entry.status,
                ),
            )
        )

    def read_journal(self, query: JournalQuery) -> list[JournalEntry]:
        """Entries in the order they were written; every filter runs in SQL. Principal
        and ``where`` match without regard to ASCII case, on both backends."""
        clauses: list[str] = []
        params: list[object] = []
        if query.principal:
            clauses.append("lower(principal) LIKE ? ESCAPE '\\'")
            params.append(f"%{_like_escape(query.principal.lower())}%")
        if query.where:
            clauses.append("lower(\"where\") LIKE ? ESCAPE '\\'")
            params.append(f"{_like_escape(query.where.lower())}%")
        if query.since:
            clauses.append("at >= ?")
            params.append(query.since)
        if query.until:
            clauses.append("at < ?")
            params.append(query.until)
        sql = "SELECT * FROM journal"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        if query.limit is not None:
            sql = f"SELECT * FROM ({sql} ORDER BY seq DESC LIMIT ?) AS latest"
            params.append(query.limit)
        rows = self.backend.read(sql + " ORDER BY seq", params)
        return [
            JournalEntry(
                at=_required_time(r["at"]),
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


def open_backend(where: StoreLocation | Path | str) -> Backend:
    """Connect to the store ``where`` names, without touching its schema."""
    location: StoreLocation
    if isinstance(where, Path):
        location = SqliteLocation(where)  # a Path is a file, whatever its name
    elif isinstance(where, str):
        location = parse_location(where)
    else:
        location = where
    if isinstance(location, PostgresLocation):
        # psycopg takes 0.14 s to import: only for a PostgreSQL store.
        from reconciler.state.postgres import PostgresBackend  # noqa: PLC0415 -- see above

        return PostgresBackend(location)
    return SqliteBackend(location.path)


def open_store(where: StoreLocation | Path | str) -> SqlStateStore:
    """Open the store ``where`` names (a path, a PostgreSQL URL, or a parsed location)
    and apply the migrations it lacks."""
    backend = open_backend(where)
    try:
        backend.migrate()
    except BaseException:
        backend.close()
        raise
    return SqlStateStore(backend)
