"""``reconciler daemon status|suspend|resume|reconcile``: drive a running daemon through
its local HTTP address (the console, see docs/daemon.md).

Exit codes: 0 done; 1 the daemon is unreachable, refused, or (``reconcile --wait``) the
pass did not succeed; 2 usage.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from reconciler.cli.options import reported
from reconciler.daemon.remote import (
    compute_base_url,
    fetch_snapshot,
    load_token,
    send_control,
    wait_for_pass,
)
from reconciler.daemon.serving import DEFAULT_METRICS_ADDRESS
from reconciler.daemon.snapshots import render_snapshot_json
from reconciler.daemon.status_text import render_status_text

F = TypeVar("F", bound=Callable[..., Any])
ADDRESS_ENV = "RECONCILER_METRICS_ADDRESS"
TOKEN_ENV = "RECONCILER_CONTROL_TOKEN_FILE"


def address_option(func: F) -> F:
    return click.option(
        "--address",
        default=DEFAULT_METRICS_ADDRESS,
        show_default=True,
        envvar=ADDRESS_ENV,
        show_envvar=True,
        metavar="HOST:PORT",
        help="Where the daemon serves /metrics (its --metrics-address).",
    )(func)


def token_option(func: F) -> F:
    return click.option(
        "--control-token-file",
        "token_file",
        type=click.Path(path_type=Path, dir_okay=False),
        envvar=TOKEN_ENV,
        show_envvar=True,
        help="Send the bearer token in this file (needed when the daemon has one).",
    )(func)


@click.group("daemon")
def daemon_group() -> None:
    """See and steer a running `reconciler run` through its HTTP address."""


@daemon_group.command("status")
@address_option
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@reported
def status_command(*, address: str, output: str) -> None:
    """Last pass, next wake-up, suspension, role, spec validity and the next expiries."""
    snapshot = fetch_snapshot(compute_base_url(address))
    if output == "json":
        click.echo(render_snapshot_json(snapshot).decode(), nl=False)
    else:
        click.echo(render_status_text(snapshot))


@daemon_group.command("suspend")
@address_option
@token_option
@reported
def suspend_command(*, address: str, token_file: Path | None) -> None:
    """Stop running passes (writes the suspend flag file: it survives restarts)."""
    answer = send_control(compute_base_url(address), "suspend", token=load_token(token_file))
    click.echo(f"suspended: {answer.get('suspended')}")


@daemon_group.command("resume")
@address_option
@token_option
@reported
def resume_command(*, address: str, token_file: Path | None) -> None:
    """Run passes again (removes the flag file, lifts SIGUSR1); a pass follows at once."""
    answer = send_control(compute_base_url(address), "resume", token=load_token(token_file))
    still = answer.get("suspended")
    if still:
        click.echo(f"still suspended: {still}", err=True)
        sys.exit(1)
    click.echo("resumed")


@daemon_group.command("reconcile")
@address_option
@token_option
@click.option("--wait", is_flag=True, help="Wait for the pass to finish and report it.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=1.0),
    default=600.0,
    show_default=True,
    metavar="SECONDS",
    help="With --wait, give up waiting after this long.",
)
@reported
def reconcile_command(*, address: str, token_file: Path | None, wait: bool, timeout: float) -> None:
    """Run a pass now, as SIGHUP does; --wait waits for it (exit 1 unless it succeeds)."""
    base = compute_base_url(address)
    answer = send_control(base, "reconcile", token=load_token(token_file))
    if not wait:
        click.echo("pass requested")
        return
    after = answer.get("after_pass")
    record = wait_for_pass(base, after=after if isinstance(after, int) else 0, timeout=timeout)
    click.echo(
        f"pass {record.pass_id}: {record.result} in {record.duration:.1f}s; "
        f"{record.done} done, {record.failed} failed, {record.skipped} skipped"
        + (f"; {record.error}" if record.error else "")
    )
    if record.result != "success":
        sys.exit(1)


COMMANDS = [daemon_group]
