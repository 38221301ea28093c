"""``reconciler probe``: settle, on a real collection (or the sandbox), the Globus
behaviours the docs leave open, inside one scratch directory, and print a JSON report.

Exit codes: 0 every observed behaviour agrees with the docs and cleaning up finished;
2 some behaviour disagrees (the report says which); 1 refused, stopped early, or
cleaning up left something; 130 interrupted (after cleaning up).
"""

from __future__ import annotations

import signal
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

import click

from reconciler.cli.options import client_secret_file_option, fail, reported
from reconciler.core.scratch import OutsideScratch, compute_scratch
from reconciler.globus.probing import ProbePort
from reconciler.probing import ProbeOptions, WallClock, run_probe
from reconciler.rendering.probe import compute_disagreements, render_probe_json
from reconciler.sandbox.control_client import SandboxControl
from reconciler.targeting import TargetOptions, open_connection

RULE_LIMIT_CALLS = 2200
"""Extra calls ``--probe-rule-limit`` may make: up to 1005 creates and as many deletes."""


class SandboxClock:
    """The sandbox's own clock: waiting moves it instead of sleeping."""

    simulated = True

    def __init__(self, control: SandboxControl) -> None:
        self._control = control

    def now(self) -> datetime:
        return datetime.fromisoformat(str(self._control.clock()["now"]))

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._control.advance_clock(seconds)

    def calibrate(self, server_time: datetime | None) -> None:
        """The sandbox's ``Date`` header is real time; its clock is read directly."""


class SandboxRuleLimit:
    def __init__(self, control: SandboxControl) -> None:
        self._control = control

    def rule_limit(self) -> int:
        return int(self._control.settings()["max_rules_per_collection"])

    def set_rule_limit(self, limit: int) -> None:
        self._control.update_settings(max_rules_per_collection=limit)


def _uuid(option: str, value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        fail(f"{option}: {value!r} is not a UUID", code=2)


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM stops the probe like Ctrl-C does: cleaning up still runs."""

    def interrupt(_signum: int, _frame: FrameType | None) -> Any:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@click.command("probe")
@click.option("--collection", "collection", required=True, help="The guest collection's UUID.")
@click.option(
    "--path",
    "scratch_path",
    required=True,
    help="An existing scratch directory on it; the probe works only below it. Choose one "
    "outside every `root` the specs manage.",
)
@click.option(
    "--sandbox", is_flag=True, help="Probe the built-in sandbox (its clock is moved, not waited)."
)
@client_secret_file_option
@click.option("--principal", help="Identity UUID the probe's rules name (default: the caller).")
@click.option(
    "--max-wait",
    type=click.FloatRange(min=30.0, max=3600.0),
    default=300.0,
    show_default=True,
    help="Real seconds the probing may take; cleaning up takes at most a minute more.",
)
@click.option(
    "--max-calls",
    type=click.IntRange(min=20),
    default=300,
    show_default=True,
    help="Most Globus calls the probing may make (cleaning up is always allowed).",
)
@click.option(
    "--probe-rule-limit",
    is_flag=True,
    help="On real Globus, create rules until the collection's limit answers (up to 1000 "
    "rules, then deleted; about 2000 calls). The sandbox's limit is lowered instead.",
)
@reported
def probe_command(
    *,
    collection: str,
    scratch_path: str,
    sandbox: bool,
    client_secret_file: Path | None,
    principal: str | None,
    max_wait: float,
    max_calls: int,
    probe_rule_limit: bool,
) -> None:
    """Observe what Globus does at a rule's expiration_date, with a rule path lacking its
    trailing slash, with mkdir under a missing parent, at the rule limit, and how task
    history writes source_path; compare with the docs and clean up."""
    collection_id = _uuid("--collection", collection)
    principal = _uuid("--principal", principal) if principal is not None else None
    try:
        scratch = compute_scratch(scratch_path)
    except OutsideScratch as err:
        fail(str(err), code=2)
    target = TargetOptions(sandbox=sandbox, secret_file=client_secret_file)
    with open_connection(target) as connection:
        who = principal or connection.clients.caller_id
        if who is None:
            fail("these credentials do not say who they are: pass --principal UUID", code=2)
        port = ProbePort(
            connection.clients.transfer,
            collection_id,
            scratch,
            max_calls=max_calls + (RULE_LIMIT_CALLS if probe_rule_limit else 0),
        )
        control = SandboxControl(connection.sandbox_url) if connection.sandbox_url else None
        options = ProbeOptions(who, max_wait=max_wait, probe_rule_limit=probe_rule_limit)
        with _terminate_as_interrupt():
            report = run_probe(
                port,
                SandboxClock(control) if control else WallClock(),
                options,
                limits=SandboxRuleLimit(control) if control else None,
                say=lambda line: click.echo(f"probe: {line}", err=True),
            )
    click.echo(render_probe_json(report), nl=False)
    if report.interrupted:
        sys.exit(130)
    if report.stopped or not report.cleanup.complete:
        sys.exit(1)
    if compute_disagreements(report):
        sys.exit(2)


COMMANDS = [probe_command]
