"""Private files and directories: created private, tightened when opened, never someone
else's touched."""

from __future__ import annotations

import os
import sqlite3
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.errors import ConfigurationError
from reconciler.private import (
    make_private_dir,
    make_private_files,
    tighten_private_files,
    write_private_text,
)
from reconciler.state import open_store


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_directory_is_0700_and_an_old_one_is_tightened(tmp_path: Path) -> None:
    made = make_private_dir(tmp_path / "a" / "state")
    assert mode(made) == 0o700
    old = tmp_path / "old"
    old.mkdir(mode=0o755)
    os.chmod(old, 0o755)
    make_private_dir(old)
    assert mode(old) == 0o700
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o755)
    make_private_dir(shared, tighten=False)  # a folder named for one file: left alone
    assert mode(shared) == 0o755


def test_files_are_created_0600_and_tightened_when_opened(tmp_path: Path) -> None:
    fresh, old = tmp_path / "fresh", tmp_path / "old"
    old.write_text("journal")
    os.chmod(old, 0o644)
    make_private_files([fresh, old])
    assert (mode(fresh), mode(old)) == (0o600, 0o600)
    assert old.read_text() == "journal"  # tightened, not truncated
    tighten_private_files([tmp_path / "absent"])  # creates nothing
    assert not (tmp_path / "absent").exists()


def test_a_saved_plan_is_written_0600_atomically(tmp_path: Path) -> None:
    target = tmp_path / "plan.json"
    target.write_text("old")
    os.chmod(target, 0o644)
    write_private_text(target, '{"actions": []}')
    assert mode(target) == 0o600
    assert target.read_text() == '{"actions": []}'
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]  # no temporary left
    with pytest.raises(ConfigurationError, match="cannot write"):
        write_private_text(tmp_path / "missing" / "plan.json", "{}")


def test_the_state_store_and_its_journal_files_are_0600(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = open_store(path)
    try:
        store.record_consumed(("c", "identity", "p", "/d/"), now=datetime.now(UTC))
        files = sorted(p.name for p in tmp_path.iterdir())
        assert files == ["state.db", "state.db-shm", "state.db-wal"]
        assert {name: mode(tmp_path / name) for name in files} == dict.fromkeys(files, 0o600)
    finally:
        store.close()


def test_an_older_world_readable_store_is_tightened_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    older = sqlite3.connect(path)  # as an older version left it: 0644, WAL files open
    try:
        older.execute("PRAGMA journal_mode=WAL")
        older.execute("CREATE TABLE t (x)")
        older.execute("INSERT INTO t VALUES (1)")
        older.commit()
        files = [tmp_path / n for n in ("state.db", "state.db-wal", "state.db-shm")]
        for file in files:
            os.chmod(file, 0o644)
        open_store(path).close()
        assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
    finally:
        older.close()


def test_a_state_export_written_to_a_file_is_0600(tmp_path: Path) -> None:
    """``state export --out FILE`` holds every row of the store, the journal of who could
    read what included: private like the store (it was written 0644, umask allowing)."""
    db = tmp_path / "state.db"
    store = open_store(db)
    try:
        store.record_consumed(("c", "identity", "alice-uuid", "/d/"), now=datetime.now(UTC))
    finally:
        store.close()
    fresh, old = tmp_path / "fresh.jsonl", tmp_path / "old.jsonl"
    old.write_text("stale")
    os.chmod(old, 0o644)
    previous = os.umask(0o022)
    try:
        for out in (fresh, old):
            result = CliRunner().invoke(
                cli, ["state", "export", "--state-db", str(db), "--out", str(out)]
            )
            assert result.exit_code == 0, result.output
    finally:
        os.umask(previous)
    assert (mode(fresh), mode(old)) == (0o600, 0o600)
    assert "alice-uuid" in fresh.read_text()
    assert fresh.read_text() == old.read_text()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith("jsonl")) == [
        "fresh.jsonl",
        "old.jsonl",
    ]
