"""``reconciler doctor``: a read-only preflight of the credentials, collections, groups
and stage sources a spec set needs. Exit 0 when every check passes, 1 otherwise.

It never writes to Globus and never seeds the sandbox: it reports the world as it is.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from reconciler.cli.options import (
    client_secret_file_option,
    fail,
    paths_or_default,
    reported,
    spec_paths,
    styler,
)
from reconciler.core.readiness import checks_pass, compute_checks
from reconciler.credentials import SANDBOX_CLIENT_ID
from reconciler.globus.inspecting import fetch_readiness_facts
from reconciler.reconciling import load_specs
from reconciler.rendering.readiness import render_checks_json, render_checks_text
from reconciler.targeting import TargetOptions, open_connection


@click.command("doctor")
@spec_paths
@click.option(
    "--sandbox",
    is_flag=True,
    help="Check the built-in Globus sandbox ($RECONCILER_SANDBOX_URL, else an in-process one "
    "on .reconciler/sandbox.db) as it is, without seeding it.",
)
@client_secret_file_option
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@reported
def doctor_command(
    *, paths: tuple[Path, ...], sandbox: bool, client_secret_file: Path | None, output: str
) -> None:
    """Check, without changing anything, that the credentials can do what the specs need:
    tokens and scopes; each collection's type, subscription and the client's roles; the
    client's admin or manager role in each group; read access to each stage source."""
    result = load_specs(paths_or_default(paths), now=datetime.now(UTC))
    for diagnostic in result.diagnostics:
        if diagnostic.severity == "error":
            click.echo(str(diagnostic), err=True)
    if result.intent is None:
        fail("the specs are invalid; nothing was checked (run `reconciler validate` for details)")
    target = TargetOptions(sandbox=sandbox, secret_file=client_secret_file)
    with open_connection(target) as connection:
        facts = fetch_readiness_facts(connection.clients, connection.credentials, result.intent)
    checks = compute_checks(result.intent, facts)
    if output == "json":
        click.echo(render_checks_json(checks), nl=False)
    else:
        click.echo(render_checks_text(checks, style=styler(sys.stdout.isatty())))
    if not checks_pass(checks):
        if sandbox and any(c.status == "fail" and " 404 " in f" {c.detail}" for c in checks):
            click.echo(
                "note: the sandbox is checked as it is; `reconciler sandbox seed --from-specs "
                f"PATH --client-id {SANDBOX_CLIENT_ID}` (or any --sandbox plan or apply) seeds it",
                err=True,
            )
        sys.exit(1)


COMMANDS = [doctor_command]
