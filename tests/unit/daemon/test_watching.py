"""The spec watcher: which changes count, and a real watcher on a temporary directory."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.daemon.triggers import SPEC_CHANGE, Inbox
from reconciler.daemon.watching import compute_watch_roots, is_spec_change, run_watcher


def test_roots_are_existing_absolute_and_not_nested(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    (specs / "sub").mkdir(parents=True)
    extra = tmp_path / "extra.yaml"
    extra.touch()
    roots, missing = compute_watch_roots([specs, specs / "sub", extra, tmp_path / "later", specs])
    assert roots == [extra, specs]
    assert missing == [tmp_path / "later"]


@pytest.mark.parametrize(
    ("changed", "expected"),
    [
        ("specs/a.yaml", True),
        ("specs/deep/b.yml", True),
        ("specs", True),  # the directory itself (deleted, replaced)
        ("specs/README.md", False),
        ("specs/.a.yaml.swp", False),
        ("elsewhere/a.yaml", False),
        ("one.yaml", True),
    ],
)
def test_which_changes_count(tmp_path: Path, changed: str, expected: bool) -> None:
    spec_paths = [tmp_path / "specs", tmp_path / "one.yaml"]
    assert is_spec_change(tmp_path / changed, spec_paths=spec_paths) is expected


@pytest.fixture
def watching(tmp_path: Path) -> Iterator[tuple[Path, Inbox]]:
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "a.yaml").write_text("collections: {}\n")
    inbox = Inbox()
    stop = threading.Event()
    ready = threading.Event()
    thread = threading.Thread(
        target=run_watcher,
        args=([specs],),
        kwargs={
            "inbox": inbox,
            "stop": stop,
            "debounce_ms": 500,
            "quiet_ms": 50,
            "on_ready": ready.set,
        },
        daemon=True,
    )
    thread.start()
    assert ready.wait(5)
    yield specs, inbox
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()


def test_a_burst_of_spec_writes_posts_one_trigger(watching: tuple[Path, Inbox]) -> None:
    specs, inbox = watching
    for i in range(5):
        (specs / f"b{i}.yaml").write_text(f"# {i}\n")
    assert inbox.take(5.0) == {SPEC_CHANGE}
    assert inbox.take(0.3) == frozenset()  # grouped: no second trigger for the same burst


def test_other_files_are_ignored(watching: tuple[Path, Inbox]) -> None:
    specs, inbox = watching
    (specs / "notes.txt").write_text("not a spec\n")
    assert inbox.take(0.4) == frozenset()
    (specs / "a.yaml").write_text("collections: {x: 1}\n")
    assert inbox.take(5.0) == {SPEC_CHANGE}


def test_a_missing_spec_path_is_picked_up_when_it_appears(tmp_path: Path) -> None:
    later = tmp_path / "later"
    inbox = Inbox()
    stop = threading.Event()
    ready = threading.Event()
    thread = threading.Thread(
        target=run_watcher,
        args=([later],),
        kwargs={
            "inbox": inbox,
            "stop": stop,
            "quiet_ms": 50,
            "recheck_ms": 50,
            "on_ready": ready.set,
        },
        daemon=True,
    )
    thread.start()
    try:
        assert ready.wait(5)
        later.mkdir()
        assert inbox.take(5.0) == {SPEC_CHANGE}
        (later / "a.yaml").write_text("{}\n")
        assert inbox.take(5.0) == {SPEC_CHANGE}
    finally:
        stop.set()
        thread.join(timeout=5)
