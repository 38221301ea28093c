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
        (["--notify-webhook", "ftp://hooks.example/s3cret"], 1, "is not an http:// or https://"),
        (["--notify-webhook", "hooks.example/s3cret"], 1, "--notify-webhook"),
        (["--expiry-warning", "7x"], 1, "--expiry-warning: `7x` is not a duration"),
        (["--control-token-file", "/nonexistent/token"], 1, "cannot read the control token"),
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


def test_a_webhook_url_in_an_error_keeps_its_secret() -> None:
    result = CliRunner().invoke(cli, ["run", "--notify-webhook", "ftp://hooks.example/T/s3cret"])
    assert result.exit_code == 1
    assert "ftp://hooks.example/[REDACTED]" in result.output
    assert "s3cret" not in result.output


def test_webhooks_come_from_the_environment_space_separated() -> None:
    result = CliRunner().invoke(
        cli, ["run"], env={"RECONCILER_NOTIFY_WEBHOOK": "https://ok.example/a gopher://bad/b"}
    )
    assert result.exit_code == 1
    assert "gopher://bad/[REDACTED] is not an http" in result.output
