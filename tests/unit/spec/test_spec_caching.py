"""``SpecCache``: a load with no file change reads, parses and checks nothing; a changed
file is read again; and a cached result is always the one a fresh load gives, whatever
changed on disk and however much time passed."""

from __future__ import annotations

import os
import shutil
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from reconciler.spec import LoadResult, SpecCache, load_spec_set
from tests.unit.spec.files import TestFiles

SPECS = Path(__file__).parents[3] / "specs"
LATER = 60 * 10**9
"""A clock a minute ahead: every file was written long enough before it was read."""

GRANT = """\
distributions:
  - name: extra
    collection: tutorial
    grants:
      - identity: carol@example.org
        path: /disthome/carol/
        expires: {expires}
"""


def ahead() -> int:
    return time.time_ns() + LATER


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    directory = tmp_path / "specs"
    shutil.copytree(SPECS, directory)
    return directory


def fresh(specs: Path, now: datetime) -> LoadResult:
    return load_spec_set([specs], now=now)


def test_a_load_with_no_change_reads_nothing(specs: Path, now: datetime) -> None:
    cache = SpecCache(clock=ahead)
    files = TestFiles()
    first = load_spec_set([specs], now=now, cache=cache, files=files)
    assert len(files.reads) == 4
    files.reads.clear()
    second = load_spec_set([specs], now=now, cache=cache, files=files)
    assert files.reads == []
    assert (cache.stats.files_read, cache.stats.files_parsed, cache.stats.sets_checked) == (
        4,
        4,
        1,
    )
    assert second == first == fresh(specs, now)
    assert second.intent is first.intent  # the very same lowered value: nothing lowered again


def test_a_changed_file_is_read_and_parsed_again_alone(specs: Path, now: datetime) -> None:
    cache = SpecCache(clock=ahead)
    files = TestFiles()
    load_spec_set([specs], now=now, cache=cache, files=files)
    files.reads.clear()
    with (specs / "tutorial.yaml").open("a") as f:
        f.write("# a comment changes the bytes, not the meaning\n")
    result = load_spec_set([specs], now=now, cache=cache, files=files)
    assert files.reads == [specs / "tutorial.yaml"]
    assert (cache.stats.files_parsed, cache.stats.sets_checked) == (5, 2)
    assert result == fresh(specs, now)


def test_a_touched_file_is_read_but_not_parsed_again(specs: Path, now: datetime) -> None:
    cache = SpecCache(clock=ahead)
    files = TestFiles()
    first = load_spec_set([specs], now=now, cache=cache, files=files)
    files.reads.clear()
    os.utime(specs / "groups.yaml")
    second = load_spec_set([specs], now=now, cache=cache, files=files)
    assert files.reads == [specs / "groups.yaml"]
    assert (cache.stats.files_parsed, cache.stats.sets_checked) == (4, 1)
    assert second.intent is first.intent


def test_a_file_written_just_before_its_read_is_read_again(specs: Path, now: datetime) -> None:
    # A write in the same timestamp tick as the read, of the same size, would leave the
    # stat unchanged: such a file is not trusted until it has been read well after.
    cache = SpecCache()  # the real clock: the files were just written
    files = TestFiles()
    load_spec_set([specs], now=now, cache=cache, files=files)
    files.reads.clear()
    load_spec_set([specs], now=now, cache=cache, files=files)
    assert sorted(files.reads) == sorted(specs.glob("*.yaml"))
    assert (cache.stats.files_parsed, cache.stats.sets_checked) == (4, 1)


def test_added_and_removed_files_are_noticed(specs: Path, now: datetime) -> None:
    cache = SpecCache(clock=ahead)
    load_spec_set([specs], now=now, cache=cache)
    (specs / "extra.yaml").write_text(GRANT.format(expires="2027-01-01"))
    added = load_spec_set([specs], now=now, cache=cache)
    assert added == fresh(specs, now)
    assert added.intent is not None
    assert len(added.intent.grants) == 4
    (specs / "run42.yaml").unlink()
    removed = load_spec_set([specs], now=now, cache=cache)
    assert removed == fresh(specs, now)
    assert removed.intent is not None
    assert len(removed.intent.grants) == 3


def test_a_file_becoming_unreadable_is_noticed(specs: Path, now: datetime) -> None:
    cache = SpecCache(clock=ahead)
    files = TestFiles()
    assert load_spec_set([specs], now=now, cache=cache, files=files).ok
    target = specs / "run42.yaml"
    target.chmod(0)  # changes its ctime, as it would for the reconciler's user
    files.unreadable.add(target)  # and, as that user, reading it fails
    result = load_spec_set([specs], now=now, cache=cache, files=files)
    assert result.intent is None
    assert [(Path(d.file).name, d.message) for d in result.diagnostics] == [
        ("run42.yaml", "cannot read the file: Permission denied")
    ]
    files.unreadable.clear()
    target.chmod(0o644)
    assert load_spec_set([specs], now=now, cache=cache, files=files) == fresh(specs, now)


def test_a_directory_becoming_unlistable_is_noticed(specs: Path, now: datetime) -> None:
    cache = SpecCache(clock=ahead)
    files = TestFiles()
    assert load_spec_set([specs], now=now, cache=cache, files=files).ok
    files.unlistable.add(specs)
    result = load_spec_set([specs], now=now, cache=cache, files=files)
    assert result.intent is None
    assert result.files == ()


def test_the_now_dependent_checks_follow_the_clock(specs: Path, now: datetime) -> None:
    """A grant expiring, and a duration cap met, between two cached loads."""
    (specs / "extra.yaml").write_text(GRANT.format(expires="2027-01-01"))
    cache = SpecCache(clock=ahead)
    # collections.yaml caps grants at 730d: 2027-01-01 is too far as of 2025-01-01.
    instants = [
        datetime.fromisoformat(text)
        for text in (
            "2024-12-31T00:00:00+00:00",  # over the cap: an error naming now + 730d
            "2025-01-01T00:00:00+00:00",
            "2025-01-02T00:00:00+00:00",  # within the cap
            now.isoformat(),
            "2026-12-31T23:59:59+00:00",
            "2027-01-01T00:00:00+00:00",  # carol's grant expires: a warning
            "2027-06-01T00:00:00+00:00",
            "2027-12-31T00:00:00+00:00",  # alice's too
            "2026-01-01T00:00:00+00:00",  # back in time
            "2026-01-01T00:00:00+00:00",
        )
    ]
    for instant in instants:
        cached = load_spec_set([specs], now=instant, cache=cache)
        assert cached == fresh(specs, instant), instant
    assert cache.stats.files_parsed == 5
    assert cache.stats.sets_checked == 1
    # Judged again only when a boundary was crossed or a message names now + cap.
    assert cache.stats.expiries_judged < len(instants)


def test_an_expiry_judgement_is_reused_only_within_its_window(specs: Path, now: datetime) -> None:
    cache = SpecCache(clock=ahead)
    load_spec_set([specs], now=now, cache=cache)
    load_spec_set([specs], now=now + timedelta(hours=1), cache=cache)
    assert cache.stats.expiries_judged == 1
    expired = load_spec_set([specs], now=datetime.fromisoformat("2030-01-01T00:00:00+00:00"))
    later = load_spec_set(
        [specs], now=datetime.fromisoformat("2030-01-01T00:00:00+00:00"), cache=cache
    )
    assert cache.stats.expiries_judged == 2
    assert later == expired
    assert any("expired at" in d.message for d in later.diagnostics)


def test_without_a_cache_the_signature_is_unchanged(specs: Path, now: datetime) -> None:
    assert load_spec_set([specs], now=now).ok
