"""Reading and writing spec files: the same files the validator reads, atomic writes
that keep the mode and write through symlinks, and odd but valid layouts."""

from __future__ import annotations

import os
import stat
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from reconciler import api
from reconciler.editing.errors import EditRefused
from reconciler.editing.loading import find_spec_files
from reconciler.editing.writing import write_spec_file
from reconciler.spec import load_spec_set

from .conftest import changed_lines

COLLECTION = "collections:\n  c:\n    id: e56c36e4-1063-11e6-a747-22000bf2d559\n    root: /d/\n"


def test_the_editor_reads_the_files_the_validator_reads(tmp_path: Path, now: datetime) -> None:
    specs = tmp_path / "specs"
    for name in [
        "b.yaml",
        "a.yml",
        "sub/c.yaml",
        "sub/deeper/d.yml",
        ".hidden.yaml",
        ".git/e.yaml",
        "notes.txt",
        "sub/.f.yaml",
        "z.YAML",
    ]:
        (specs / name).parent.mkdir(parents=True, exist_ok=True)
        (specs / name).write_text("{}\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "g.yaml").write_text("{}\n")
    (specs / "linked").symlink_to(outside, target_is_directory=True)
    (specs / "link.yaml").symlink_to(outside / "g.yaml")
    assert find_spec_files(specs) == list(load_spec_set([specs], now=now).files)


def test_an_edit_is_refused_when_the_spec_directory_cannot_be_read_whole(
    tmp_path: Path, now: datetime
) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "c.yaml").write_text(COLLECTION)
    os.mkfifo(specs / "p.yaml")
    with pytest.raises(EditRefused) as refused:
        find_spec_files(specs)
    assert "cannot be read, so no edit is made" in refused.value.message
    assert [Path(d.file).name for d in refused.value.diagnostics] == ["p.yaml"]
    assert "FIFO" in refused.value.diagnostics[0].message


def test_writes_keep_the_mode_and_go_through_symlinks(tmp_path: Path) -> None:
    real = tmp_path / "real.yaml"
    real.write_text("old\n")
    real.chmod(0o640)
    link = tmp_path / "link.yaml"
    link.symlink_to(real)
    write_spec_file(link, b"new\n")
    assert link.is_symlink()
    assert real.read_bytes() == b"new\n"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_new_file_gets_the_usual_mode(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        write_spec_file(tmp_path / "new" / "n.yaml", b"x: 1\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new" / "n.yaml").stat().st_mode) == 0o640


def test_an_empty_grants_value_and_a_file_that_is_only_comments(
    write_specs: Any, now: datetime
) -> None:
    specs = write_specs(
        {
            "c.yaml": COLLECTION + "groups:\n  g: {id: 3f1c0a7e-2b5d-4e8f-9a6b-1c2d3e4f5a6b}\n",
            "d.yaml": "distributions:\n  - name: a\n    collection: c\n    path: /d/a/\n"
            "    grants:\n# the end\n",
            "m.yaml": "# memberships go here\n---\n",
        }
    )
    before = (specs / "d.yaml").read_bytes()
    result = api.add_grant(specs, "a", "x@y.org", expires="2027-01-01", now=now)
    assert changed_lines(before, (specs / "d.yaml").read_bytes()) == (
        [],
        [
            b"      - identity: x@y.org\n",
            b"        expires: 2027-01-01\n",
            b"        permissions: r\n",
        ],
    )
    assert result.changed
    before = (specs / "m.yaml").read_bytes()
    api.add_membership(specs, "g", "x@y.org", expires="2027-01-01", file=specs / "m.yaml", now=now)
    assert (specs / "m.yaml").read_bytes() == before + (
        b"memberships:\n  - group: g\n    identity: x@y.org\n    expires: 2027-01-01\n"
    )
    assert load_spec_set([specs], now=now).ok


def test_grants_of_a_principal_on_two_paths_need_path(write_specs: Any, now: datetime) -> None:
    specs = write_specs(
        {
            "c.yaml": COLLECTION,
            "d.yaml": "distributions:\n  - name: a\n    collection: c\n    grants:\n"
            "      - {identity: x@y.org, path: /d/one/, expires: 2027-01-01}\n"
            "      - {identity: X@Y.org, path: /d/two/, expires: 2027-01-01}\n",
        }
    )
    with pytest.raises(api.EditRefused) as caught:
        api.revoke_grant(specs, "a", "x@y.org", now=now)
    assert caught.value.message == "x@y.org has grants on 2 paths in distribution `a`"
    assert caught.value.hint == "pick one with --path: /d/one/, /d/two/"
    result = api.revoke_grant(specs, "a", "x@y.org", path="/d/two/", now=now)
    assert result.diff.count("\n-      - ") == 1
    assert "X@Y.org, path: /d/two/, expires: 2026-11-26T12:00:00Z}" in result.diff
