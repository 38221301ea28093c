"""Conventions every command follows: an unexpected exception is one ``error:`` line (a
traceback only with RECONCILER_DEBUG=1), usage errors begin with ``error:`` too, and
history takes durations. Every registered command is walked, nested groups
included, so a new command cannot forget the wrapper. (Colour on a real terminal is
tested with a pty in tests/integration/engine/test_cli_conventions.py.)"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.cli.history import parse_instant_or_ago
from reconciler.errors import GlobusError


def walk(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from walk(command, (*path, name))
        else:
            yield (*path, name)


COMMANDS = list(walk(cli))


def command_at(path: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


def test_the_walk_finds_the_commands_of_every_area() -> None:
    names = {" ".join(path) for path in COMMANDS}
    for expected in (
        "validate", "schema", "plan", "apply", "status", "show-plan", "history", "run",
        "import", "grant add", "membership revoke", "tidy", "daemon status",
        "sandbox serve", "sandbox clock advance",
    ):  # fmt: skip
        assert expected in names


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (RuntimeError("boom"), "error: internal error: RuntimeError: boom. This is a bug"),
        (GlobusError("down", service="transfer", http_status=503), "error: transfer 503: down"),
        (KeyError("k"), "error: internal error: KeyError: 'k'"),
    ],
)
def test_an_exception_in_any_command_is_one_error_line(
    path: tuple[str, ...],
    failure: Exception,
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RECONCILER_DEBUG", raising=False)
    command = command_at(path)

    def fail(**_kwargs: object) -> None:
        raise failure

    # No parameters: the call reaches the command itself, whatever it requires.
    monkeypatch.setattr(command, "params", [])
    monkeypatch.setattr(command, "callback", fail)
    result = CliRunner().invoke(cli, list(path), catch_exceptions=False)
    assert result.exit_code == 1
    assert result.output.startswith(expected), result.output
    assert result.output.count("\n") == 1
    assert "Traceback" not in result.output


def test_reconciler_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECONCILER_DEBUG", "1")
    command = command_at(("schema",))

    def fail() -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(command, "callback", fail)
    with pytest.raises(RuntimeError, match="boom"):
        CliRunner().invoke(cli, ["schema"], catch_exceptions=False)


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_has_help_and_usage_errors_begin_with_error(path: tuple[str, ...]) -> None:
    helped = CliRunner().invoke(
        cli, [*path, "--help"], prog_name="reconciler", catch_exceptions=False
    )
    assert helped.exit_code == 0
    assert helped.output.startswith(f"Usage: reconciler {' '.join(path)}")
    wrong = CliRunner().invoke(cli, [*path, "--no-such-option"], catch_exceptions=False)
    assert wrong.exit_code == 2
    assert "\nerror: No such option '--no-such-option'" in wrong.output
    assert "Error:" not in wrong.output


@pytest.mark.parametrize(
    ("text", "hours_ago"),
    [("1d", 24), ("2h", 2), ("30m", 0.5), ("1w", 168)],
)
def test_history_takes_a_duration_ago(text: str, hours_ago: float) -> None:
    now = datetime(2026, 11, 26, 12, tzinfo=UTC)
    assert parse_instant_or_ago(text, option="--since", now=now) == now - timedelta(hours=hours_ago)
    assert parse_instant_or_ago("2026-11-01", option="--since", now=now) == datetime(
        2026, 11, 1, tzinfo=UTC
    )


def test_a_bad_history_instant_names_its_option_not_now() -> None:
    result = CliRunner().invoke(cli, ["history", "--until", "yesterday"])
    assert result.exit_code == 2
    assert "error: Invalid value for --until: 'yesterday' is neither a duration ago" in (
        result.output
    )
    assert "--now" not in result.output


def test_shell_completion_as_documented() -> None:
    script = CliRunner(env={"_RECONCILER_COMPLETE": "bash_source"}).invoke(
        cli, [], prog_name="reconciler"
    )
    assert "_reconciler_completion()" in script.output
    env = {
        "_RECONCILER_COMPLETE": "bash_complete",
        "COMP_WORDS": "reconciler sh",
        "COMP_CWORD": "1",
    }
    words = CliRunner(env=env).invoke(cli, [], prog_name="reconciler")
    assert "plain,show-plan" in words.output.splitlines()


def _limited_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


@pytest.mark.parametrize("command", [["show-plan"], ["apply", "--auto-approve", "--plan"]])
def test_a_saved_plan_that_is_not_a_regular_file_is_refused_without_reading_it(
    command: list[str], tmp_path: Path
) -> None:
    """A FIFO was waited on forever; /dev/zero was read until memory ran out (here, in a
    child capped at 1 GiB, until MemoryError)."""
    fifo = tmp_path / "plan.json"
    os.mkfifo(fifo)
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "c.yaml").write_text(
        "collections:\n  c:\n    id: e56c36e4-1063-11e6-a747-22000bf2d559\n    root: /d/\n"
    )
    for path in (str(fifo), "/dev/zero"):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "reconciler",
                *command,
                path,
                *(["specs"] if len(command) > 1 else []),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            preexec_fn=_limited_memory,
            cwd=tmp_path,
            check=False,
        )
        assert done.returncode == 1, done.stderr
        assert done.stderr == (
            f"error: {path}: not a regular file, so not a plan saved by `plan --out`\n"
        )
