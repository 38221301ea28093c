"""``reconciler import``: adopt the rules and memberships that already exist in Globus
by writing them into a new spec file (``reconciler.importing``), so that the first
``apply`` prunes nothing that was there.

Exit codes, as for the editing commands: 0 written (or, with --dry-run, would be; or
nothing to import), 1 refused (nothing written) or Globus could not be read, 2 usage.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from reconciler.cli.editing import DEFAULT_SPECS, edit_command, expiry_options, parse_now_option
from reconciler.cli.options import target_options
from reconciler.editing.results import EditResult
from reconciler.importing import ImportRequest, apply_import
from reconciler.targeting import TargetOptions


@click.command("import")
@click.argument(
    "specs_dir",
    metavar="[PATH]",
    required=False,
    default=DEFAULT_SPECS,
    type=click.Path(path_type=Path, file_okay=False),
)
@target_options
@click.option(
    "--collection",
    "collections",
    multiple=True,
    required=True,
    metavar="NAME",
    help="A declared collection whose rules under its root to adopt (repeatable).",
)
@click.option(
    "--group",
    "groups",
    multiple=True,
    metavar="NAME",
    help="A declared group whose active members to adopt (repeatable).",
)
@expiry_options
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="The new spec file, inside PATH (e.g. specs/imported.yaml).",
)
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
@click.option(
    "--name-prefix",
    default="imported",
    show_default=True,
    help="Distributions are named PREFIX-<collection>[-per-user].",
)
@click.option("--dry-run", is_flag=True, help="Print the file as a diff and write nothing.")
@click.option(
    "--output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people, json for programs.",
)
@click.option(
    "--now",
    metavar="ISO8601",
    callback=parse_now_option,
    hidden=True,
    help="Import as of this instant (tests and reproducible runs).",
)
@edit_command
def import_command(
    *,
    specs_dir: Path,
    target: TargetOptions,
    collections: tuple[str, ...],
    groups: tuple[str, ...],
    expires: str | None,
    duration: str | None,
    out: Path,
    force: bool,
    name_prefix: str,
    dry_run: bool,
    now: datetime | None,
) -> EditResult:
    """Adopt the access rules under each --collection's root, and the members of each
    --group, that exist in Globus: write them into --out, with usernames where Auth
    knows them, so that the next plan prunes nothing. Rules without an expiry get
    --expires or --for (access must end). Role entries and rules outside the root are
    never touched, only listed."""
    request = ImportRequest(
        collections=collections,
        out=out,
        groups=groups,
        expires=expires,
        duration=duration,
        overwrite=force,
        prefix=name_prefix,
    )
    return apply_import(specs_dir, request, target=target, dry_run=dry_run, now=now)


COMMANDS = [import_command]
