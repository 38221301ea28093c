"""``reconciler run`` refuses bad options with exit 1 (ours) or 2 (usage), before
connecting to anything."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from reconciler.cli import cli


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--now", "2026-01-01T00:00:00Z"], 2, "No such option '--now'"),
        (["--metrics-address", "nonsense"], 1, "is not HOST:PORT"),
        (["--metrics-address", "host:99999"], 1, "is not HOST:PORT"),
        (["--resync", "0"], 2, "--resync"),
        (["--log-format", "xml"], 2, "--log-format"),
    ],
)
def test_bad_options_are_refused(args: list[str], code: int, message: str) -> None:
    result = CliRunner().invoke(cli, ["run", *args])
    assert result.exit_code == code
    assert message in result.output


def test_options_come_from_the_environment_too() -> None:
    result = CliRunner().invoke(cli, ["run"], env={"RECONCILER_METRICS_ADDRESS": "nonsense"})
    assert result.exit_code == 1
    assert "'nonsense' is not HOST:PORT" in result.output
