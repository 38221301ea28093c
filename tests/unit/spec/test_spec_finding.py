"""Finding spec files fails closed: whatever cannot be seen or read safely is a located
error and no intent is made; names that look meant as specs are warnings.

Permission errors are simulated with ``TestFiles`` (tests run as root, whom ``chmod``
does not stop); tests/integration/engine/test_spec_refusals.py proves the same with a
real unreadable directory, as the ``nobody`` user.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.spec import LoadOptions, load_spec_set
from reconciler.spec.finding import OS_FILES, SpecFileRefused, is_near_miss
from tests.unit.spec.files import TestFiles

SPECS = Path(__file__).parents[3] / "specs"


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    """The example spec set, with run42.yaml in a subfolder ``team/``."""
    directory = tmp_path / "specs"
    directory.mkdir()
    for example in SPECS.glob("*.yaml"):
        shutil.copy(example, directory / example.name)
    (directory / "team").mkdir()
    (directory / "run42.yaml").rename(directory / "team" / "run42.yaml")
    return directory


def errors(result: object) -> list[tuple[str, str]]:
    return [
        (Path(d.file).name, d.message)
        for d in result.diagnostics  # type: ignore[attr-defined]
        if d.severity == "error"
    ]


def test_the_fixture_is_valid(specs: Path, now: datetime) -> None:
    result = load_spec_set([specs], now=now)
    assert result.diagnostics == ()
    assert result.intent is not None
    assert len(result.intent.grants) == 3


def test_an_unlistable_subfolder_is_an_error_and_makes_no_intent(
    specs: Path, now: datetime
) -> None:
    files = TestFiles()
    files.unlistable.add(specs / "team")
    result = load_spec_set([specs], now=now, files=files)
    assert result.intent is None
    (diagnostic,) = result.diagnostics
    assert diagnostic.file == str(specs / "team")
    assert diagnostic.severity == "error"
    assert diagnostic.message == (
        "cannot list this directory (Permission denied), so its specs are unseen"
    )
    assert diagnostic.hint is not None
    assert "the reconciler runs as user `root` (uid 0)" in diagnostic.hint
    assert "readable and searchable" in diagnostic.hint


def test_an_unlistable_top_directory_is_an_error_not_an_empty_set(
    specs: Path, now: datetime
) -> None:
    files = TestFiles()
    files.unlistable.add(specs)
    result = load_spec_set([specs], now=now, files=files)
    assert result.intent is None
    assert errors(result) == [
        ("specs", "cannot list this directory (Permission denied), so its specs are unseen")
    ]
    assert result.files == ()


def test_an_unreachable_path_is_not_reported_as_missing(specs: Path, now: datetime) -> None:
    files = TestFiles()
    files.unreachable.add(specs)
    result = load_spec_set([specs], now=now, files=files)
    assert result.intent is None
    (diagnostic,) = result.diagnostics
    assert diagnostic.message == "cannot access this path: Permission denied"
    assert diagnostic.hint is not None
    assert "runs as user" in diagnostic.hint


def test_an_unreadable_file_is_an_error(specs: Path, now: datetime) -> None:
    files = TestFiles()
    files.unreadable.add(specs / "team" / "run42.yaml")
    result = load_spec_set([specs], now=now, files=files)
    assert result.intent is None
    (diagnostic,) = result.diagnostics
    assert (Path(diagnostic.file).name, diagnostic.message) == (
        "run42.yaml",
        "cannot read the file: Permission denied",
    )
    assert diagnostic.hint is not None
    assert "make the file readable" in diagnostic.hint


def test_a_fifo_is_refused_by_name_without_being_opened(specs: Path, now: datetime) -> None:
    os.mkfifo(specs / "p.yaml")
    files = TestFiles()
    started = time.monotonic()
    result = load_spec_set([specs], now=now, files=files)
    assert time.monotonic() - started < 5
    assert specs / "p.yaml" not in files.reads
    assert result.intent is None
    assert errors(result) == [
        ("p.yaml", "this is a FIFO (named pipe), not a regular file, so it is not read")
    ]


def test_a_symlink_to_a_device_is_refused_by_name(specs: Path, now: datetime) -> None:
    (specs / "z.yaml").symlink_to("/dev/zero")
    files = TestFiles()
    result = load_spec_set([specs], now=now, files=files)
    assert specs / "z.yaml" not in files.reads
    assert result.intent is None
    assert errors(result) == [
        (
            "z.yaml",
            "this is a symlink to a character device (/dev/zero), not a regular file, "
            "so it is not read",
        )
    ]


def test_a_socket_is_refused_by_name(tmp_path: Path, now: datetime) -> None:
    # AF_UNIX paths are short: bind in a short relative path.
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        with socket.socket(socket.AF_UNIX) as server:
            server.bind("s.yaml")
            result = load_spec_set([Path(".")], now=now)
    finally:
        os.chdir(cwd)
    assert errors(result) == [("s.yaml", "this is a socket, not a regular file, so it is not read")]


def test_a_broken_symlink_is_an_error(specs: Path, now: datetime) -> None:
    (specs / "gone.yaml").symlink_to(specs / "nowhere.yaml")
    result = load_spec_set([specs], now=now)
    assert errors(result) == [
        ("gone.yaml", "cannot read the file: a broken symlink (its target does not exist)")
    ]


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(
    specs: Path, now: datetime
) -> None:
    files = TestFiles()
    largest = max(specs.rglob("*.yaml"), key=lambda p: p.stat().st_size)
    size = largest.stat().st_size
    options = LoadOptions(max_file_size=size - 1)
    result = load_spec_set([specs], now=now, options=options, files=files)
    assert largest not in files.reads
    assert result.intent is None
    assert errors(result) == [
        (
            largest.name,
            f"the file is {size:,} bytes, larger than the limit of {size - 1:,} bytes, "
            "so it is not read",
        )
    ]
    assert load_spec_set([specs], now=now, options=LoadOptions(max_file_size=size)).ok


def test_reading_checks_the_open_file_again(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_bytes(b"x" * 100)
    scanned = os.stat(path)
    assert OS_FILES.read(path, expected=scanned, limit=100) == b"x" * 100
    with pytest.raises(SpecFileRefused, match="larger than the limit of 99 bytes"):
        OS_FILES.read(path, expected=scanned, limit=99)
    (tmp_path / "new").write_bytes(b"groups: {}\n")
    (tmp_path / "new").replace(path)  # another inode under the same name
    with pytest.raises(SpecFileRefused, match="replaced while it was being read"):
        OS_FILES.read(path, expected=scanned, limit=100)
    path.unlink()
    os.mkfifo(path)  # swapped for a FIFO after the scan: refused, and no hang
    with pytest.raises(SpecFileRefused, match="FIFO"):
        OS_FILES.read(path, expected=scanned, limit=100)


NEAR_MISSES = [
    "tutorial.YAML",
    "tutorial.Yml",
    "tutorial.yaml.bak",
    "tutorial.yml.orig",
    "tutorial.yaml~",
    "#tutorial.yaml#",
    "tutorial.yaml.swp",
    "tutorial.yaml.rej",
    "tutorial.orig",
    "tutorial.rej",
    "tutorial.yaml ",
    "tutorial.yaml.2024-01-01",
]
NOT_SPECS = ["README.md", "README.md~", "notes.txt", "schema.json", "Makefile", "yaml", "data.csv"]


@pytest.mark.parametrize("name", NEAR_MISSES)
def test_a_near_miss_name_is_a_warning_naming_the_file(
    name: str, specs: Path, now: datetime
) -> None:
    (specs / "team" / "run42.yaml").rename(specs / "team" / name)
    result = load_spec_set([specs], now=now)
    (warning,) = [d for d in result.diagnostics if d.file == str(specs / "team" / name)]
    assert warning.severity == "warning"
    assert warning.message.startswith("this file is not read as a spec")
    assert warning.hint is not None
    assert "rename it to end in `.yaml`" in warning.hint
    strict = load_spec_set([specs], now=now, options=LoadOptions(strict=True))
    assert strict.intent is None
    assert any(
        d.file == str(specs / "team" / name) and d.severity == "error" for d in strict.diagnostics
    )


@pytest.mark.parametrize("name", [*NOT_SPECS, ".tutorial.yaml.swp", ".hidden.yaml"])
def test_other_names_are_left_alone(name: str) -> None:
    assert not is_near_miss(name)


@pytest.mark.parametrize("name", NEAR_MISSES)
def test_near_misses_are_recognised(name: str) -> None:
    assert is_near_miss(name)


def test_a_symlinked_directory_is_a_warning(specs: Path, tmp_path: Path, now: datetime) -> None:
    (specs / "team").rename(tmp_path / "elsewhere")
    (specs / "team").symlink_to(tmp_path / "elsewhere")
    result = load_spec_set([specs], now=now)
    (warning,) = [d for d in result.diagnostics if d.severity == "warning"]
    assert warning.file == str(specs / "team")
    assert "not followed" in warning.message


def test_a_file_reached_twice_is_read_once(specs: Path, now: datetime) -> None:
    (specs / "again.yaml").symlink_to(specs / "team" / "run42.yaml")
    files = TestFiles()
    result = load_spec_set([specs, specs / "team" / "run42.yaml"], now=now, files=files)
    assert result.ok, result.diagnostics
    assert len(files.reads) == len(set(files.reads)) == 4


def test_validate_exits_1_on_a_fifo_and_a_device_at_once(specs: Path) -> None:
    os.mkfifo(specs / "p.yaml")
    (specs / "z.yaml").symlink_to("/dev/zero")
    result = CliRunner().invoke(cli, ["validate", str(specs)])
    assert result.exit_code == 1
    assert f"{specs / 'p.yaml'}: error: this is a FIFO (named pipe)" in result.output
    assert f"{specs / 'z.yaml'}: error: this is a symlink to a character device" in result.output


def test_validate_strict_fails_on_a_near_miss(specs: Path) -> None:
    (specs / "team" / "run42.yaml").rename(specs / "team" / "run42.yaml.bak")
    relaxed = CliRunner().invoke(cli, ["validate", str(specs)])
    assert relaxed.exit_code == 0, relaxed.output
    assert "run42.yaml.bak: warning: this file is not read as a spec" in relaxed.output
    strict = CliRunner().invoke(cli, ["validate", "--strict", str(specs)])
    assert strict.exit_code == 1
    assert "run42.yaml.bak: error: this file is not read as a spec" in strict.output
    assert "made an error by --strict" in strict.output
    from_env = CliRunner().invoke(cli, ["validate", str(specs)], env={"RECONCILER_STRICT": "1"})
    assert from_env.exit_code == 1


def test_validate_max_spec_size(specs: Path) -> None:
    small = CliRunner().invoke(cli, ["validate", "--max-spec-size", "1KiB", str(specs)])
    assert small.exit_code == 1
    assert "larger than the limit of 1,024 bytes" in small.output
    from_env = CliRunner().invoke(
        cli, ["validate", str(specs)], env={"RECONCILER_MAX_SPEC_SIZE": "1k"}
    )
    assert from_env.exit_code == 1
    assert CliRunner().invoke(cli, ["validate", "--max-spec-size", "1M", str(specs)]).exit_code == 0
    bad = CliRunner().invoke(cli, ["validate", "--max-spec-size", "lots", str(specs)])
    assert bad.exit_code == 2
