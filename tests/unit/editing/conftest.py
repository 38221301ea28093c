"""Fixtures for the spec-editing tests: copies of spec directories in ``tmp_path``, a
fixed *now*, and a helper that says which lines of a file an edit changed."""

from __future__ import annotations

import difflib
import shutil
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[3]
ODD = ROOT / "tests" / "data" / "editing" / "odd"
EXAMPLES = ROOT / "tests" / "data" / "editing" / "tutorial"
LIVE_SPECS = ROOT / "specs"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file below ``directory`` (hidden ones included) by relative path."""
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def changed_lines(before: bytes, after: bytes) -> tuple[list[bytes], list[bytes]]:
    """The lines (with their line endings) removed from ``before`` and added in
    ``after``; every other line is byte-identical."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    removed: list[bytes] = []
    added: list[bytes] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            removed += old[i1:i2]
            added += new[j1:j2]
    return removed, added


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def odd(tmp_path: Path) -> Path:
    """A copy of tests/data/editing/odd: specs in odd formatting (4-space indents, flow
    mappings, quotes, comments everywhere, CRLF with a BOM and no final newline, several
    documents in a file)."""
    target = tmp_path / "odd"
    shutil.copytree(ODD, target)
    return target


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    """A copy of the tutorial example specs as they were written for these tests
    (tests/data/editing/tutorial: specs/ itself may grow)."""
    target = tmp_path / "specs"
    shutil.copytree(EXAMPLES, target)
    return target


Writer = Callable[[Mapping[str, str | bytes]], Path]


@pytest.fixture
def write_specs(tmp_path: Path) -> Writer:
    """``write_specs({name: content})`` writes a fresh spec directory and returns it."""
    counter = [0]

    def write(files: Mapping[str, str | bytes]) -> Path:
        counter[0] += 1
        directory = tmp_path / f"specs{counter[0]}"
        directory.mkdir()
        for name, content in files.items():
            path = directory / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        return directory

    return write
