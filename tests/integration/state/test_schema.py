"""Migrations and moving a store, on both backends: the schema is versioned and
brought up to date once, under a lock; a store newer than the code is refused; a store
exported as JSON lines imports into the other backend with nothing lost."""

from __future__ import annotations

import io
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reconciler.core.lifecycle import ScheduledRemoval
from reconciler.state import JournalEntry, JournalQuery, SqlStateStore, StateStoreError, open_store
from reconciler.state.exporting import ExportFormatError, apply_import, render_export
from reconciler.state.migrating import latest_version, load_migrations
from reconciler.state.store import open_backend

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
C = "e56c36e4-1063-11e6-a747-22000bf2d559"


def fill(store: SqlStateStore) -> None:
    """One row in every table."""
    key = (C, "identity", "alice-id", "/disthome/alice/")
    store.reserve_staging(key, "src", "/data/", "sub-1", now=NOW)
    store.record_staging(key, "failed", error="boom", next_attempt=NOW, now=NOW)
    store.record_consumed(key, now=NOW)
    store.add_downloaded_files(key, ["a", "b"])
    store.mark_download_task(C, "task-1")
    store.set_download_watermark(C, NOW)
    store.record_made_directory(C, "/disthome/alice/", now=NOW)
    store.reserve_directory(C, "/disthome/bob/", now=NOW)
    store.record_removal(C, ["/disthome/carol/"], "delete-1", now=NOW)
    store.record_member_refusal("group-1", "dan-id", "opted out", now=NOW)
    store.schedule_removal(
        ScheduledRemoval(C, "/disthome/erin/", NOW, "identity", "erin-id", "erin"), now=NOW
    )
    store.record_spec_inventory({"tutorial.yaml": 3}, now=NOW)
    for minute in range(3):
        store.append_journal(
            JournalEntry(NOW.replace(minute=minute), "create_rule", "petrel:/x/", "alice", "r")
        )


def snapshot(store: SqlStateStore) -> tuple[object, ...]:
    key = (C, "identity", "alice-id", "/disthome/alice/")
    return (
        store.load_lifecycle(),
        store.downloaded_files(key),
        store.seen_download_task("task-1"),
        store.download_watermark(C),
        store.pending_removals(),
        store.load_spec_inventory(),
        store.read_journal(JournalQuery()),
    )


def test_migrations_are_numbered_alike_for_both_backends() -> None:
    sqlite, postgres = load_migrations("sqlite"), load_migrations("postgresql")
    assert [(m.version, m.name) for m in sqlite] == [(m.version, m.name) for m in postgres]


def test_a_store_is_migrated_once(store: SqlStateStore, store_location: str) -> None:
    assert store.backend.schema_version() == latest_version(store.backend.dialect)
    assert store.backend.migrate() == []
    again = open_store(store_location)
    try:
        assert again.backend.migrate() == []
    finally:
        again.close()


def test_concurrent_first_opens_migrate_once(store_location: str) -> None:
    errors: list[BaseException] = []
    opened: list[SqlStateStore] = []
    barrier = threading.Barrier(3)

    def open_one() -> None:
        barrier.wait()
        try:
            opened.append(open_store(store_location))
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=open_one) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        assert opened[0].backend.read("SELECT count(*) AS n FROM schema_migrations")[0]["n"] == (
            latest_version(opened[0].backend.dialect)
        )
    finally:
        for store in opened:
            store.close()


def test_a_new_sqlite_store_waits_for_another_process_writing_to_it(tmp_path: Path) -> None:
    """Two processes open a new store at once: switching it to WAL needs the file to
    itself, and SQLite does not wait for that by itself."""
    path = tmp_path / "state.db"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("CREATE TABLE elsewhere (x)")
    timer = threading.Timer(0.5, lambda: other.execute("COMMIT"))
    timer.start()
    try:
        store = open_store(path)
        store.close()
    finally:
        timer.join()
        other.close()


def test_a_store_newer_than_the_code_is_refused(store: SqlStateStore, store_location: str) -> None:
    store.backend.write(
        lambda w: w.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
            (999, "future", "2030-01-01"),
        )
    )
    with pytest.raises(StateStoreError, match="schema version 999, newer than this reconciler"):
        open_store(store_location)


def test_a_store_made_before_numbered_migrations_is_adopted(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript(load_migrations("sqlite")[0].sql)  # what the old code created
    old.execute(
        "INSERT INTO consumed VALUES ('k\x1fidentity\x1fp\x1f/x/', 'k', 'identity', 'p', '/x/',"
        " '2026-01-01T00:00:00+00:00')"
    )
    old.commit()
    old.close()
    store = open_store(path)
    try:
        assert store.backend.schema_version() == latest_version("sqlite")
        assert store.load_lifecycle().consumed == {("k", "identity", "p", "/x/")}
    finally:
        store.close()


@pytest.mark.parametrize("direction", ["sqlite_to_postgresql", "postgresql_to_sqlite"])
def test_export_then_import_moves_everything(direction: str, tmp_path: Path, pg_url: str) -> None:
    sqlite_path = str(tmp_path / "state.db")
    source_at, target_at = (
        (sqlite_path, pg_url) if direction == "sqlite_to_postgresql" else (pg_url, sqlite_path)
    )
    source, target = open_store(source_at), open_store(target_at)
    try:
        fill(source)
        lines = list(render_export(source.backend))
        loaded = apply_import(target.backend, lines, source="-")
        assert loaded == len(lines) - 1
        assert snapshot(target) == snapshot(source)
        # The journal keeps numbering after the imported entries.
        target.append_journal(JournalEntry(NOW, "consumed", "petrel:/x/", "alice", "r"))
        assert target.read_journal(JournalQuery())[-1].event == "consumed"
    finally:
        source.close()
        target.close()


def test_import_refuses_a_store_with_rows(store: SqlStateStore, tmp_path: Path) -> None:
    other = open_store(tmp_path / "other.db")
    try:
        fill(other)
        lines = list(render_export(other.backend))
    finally:
        other.close()
    fill(store)
    before = snapshot(store)
    with pytest.raises(ExportFormatError, match="already holds"):
        apply_import(store.backend, lines, source="-")
    assert snapshot(store) == before


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty: nothing to import"),
        ("not json\n", "in.jsonl:1: not JSON"),
        ('{"format": "something else"}\n', "in.jsonl:1: not a `reconciler state export`"),
        (
            '{"format": "reconciler-state", "schema_version": 1}\n[1]\n',
            "in.jsonl:2: expected a JSON object",
        ),
        (
            '{"format": "reconciler-state", "schema_version": 1}\n{"table": "users", "row": {}}\n',
            "in.jsonl:2: expected",
        ),
        (
            '{"format": "reconciler-state", "schema_version": 1}\n'
            '{"table": "consumed", "row": {"key; DROP TABLE x": 1}}\n',
            "in.jsonl:2: 'key; DROP TABLE x' is not a column name",
        ),
        ('{"format": "reconciler-state", "schema_version": 77}\n', "exported at schema version 77"),
    ],
)
def test_bad_import_input_is_refused_with_its_line(
    store: SqlStateStore, text: str, message: str
) -> None:
    with pytest.raises(ExportFormatError, match=message.replace("[", r"\[").replace("(", r"\(")):
        apply_import(store.backend, io.StringIO(text), source="in.jsonl")
    assert store.read_journal(JournalQuery()) == []


def test_open_backend_takes_paths_as_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    backend = open_backend(Path("postgresql:x.db"))
    backend.close()
    assert (tmp_path / "postgresql:x.db").is_file()


def test_store_factories(open_twin: Callable[[], SqlStateStore]) -> None:
    first, second = open_twin(), open_twin()
    assert first.display == second.display


def test_a_password_in_the_url_is_never_displayed(pg_url: str) -> None:
    # The test cluster trusts loopback connections, so any password is accepted.
    with_password = pg_url.replace("postgresql://postgres@", "postgresql://postgres:s3cret@")
    assert with_password != pg_url
    store = open_store(with_password)
    try:
        assert "s3cret" not in store.display
        assert store.display.startswith("postgresql://postgres@127.0.0.1:")
        lock = store.target_lock("collection:c1")
        assert lock.try_acquire()  # the lock's own connection has the password too
        lock.release()
    finally:
        store.close()
