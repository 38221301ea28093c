"""``reconciler state migrate|export|import``: the state store's schema and its rows.

``migrate`` applies the numbered migrations the store lacks (every command does it on
opening a store; this one does only that, e.g. before a rolling upgrade). ``export``
writes every row as JSON lines; ``import`` loads them into a new, empty store, so
``reconciler state export --state-db state.db | reconciler state import --state-db
postgresql://...`` moves a SQLite store into PostgreSQL.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from reconciler.cli.options import reported, state_db_option
from reconciler.private import open_private_text
from reconciler.state import SqliteLocation, StoreLocation
from reconciler.state.exporting import ExportFormatError, apply_import, render_export
from reconciler.state.migrating import latest_version
from reconciler.state.store import open_backend, open_store
from reconciler.targeting import TargetOptions, state_location

sandbox_option = click.option(
    "--sandbox", is_flag=True, help="The sandbox's state store (the default location only)."
)


def _existing(state_db: str | None, sandbox: bool) -> StoreLocation:
    location = state_location(TargetOptions(sandbox=sandbox, state_db=state_db))
    if isinstance(location, SqliteLocation) and not location.path.exists():
        raise click.ClickException(f"no state store at {location.path}")
    return location


@click.group("state")
def state_group() -> None:
    """The state store: migrate its schema, export and import its rows."""


@state_group.command("migrate")
@state_db_option
@sandbox_option
@reported
def migrate_command(*, state_db: str | None, sandbox: bool) -> None:
    """Bring the store's schema up to date (under a lock; safe to run anywhere)."""
    location = state_location(TargetOptions(sandbox=sandbox, state_db=state_db))
    backend = open_backend(location)
    try:
        applied = backend.migrate()
        version = backend.schema_version()
    finally:
        backend.close()
    if applied:
        click.echo(
            f"{location.display}: applied migration(s) {', '.join(map(str, applied))}; "
            f"schema version {version}"
        )
    else:
        click.echo(f"{location.display}: up to date (schema version {version})")


@state_group.command("export")
@state_db_option
@sandbox_option
@click.option(
    "--out",
    "out_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write here instead of standard output.",
)
@reported
def export_command(*, state_db: str | None, sandbox: bool, out_file: Path | None) -> None:
    """Write every row of the store as JSON lines (times in ISO 8601)."""
    store = open_store(_existing(state_db, sandbox))
    try:
        lines = render_export(store.backend)
        if out_file is None:
            for line in lines:
                click.echo(line)
        else:
            # The whole journal of who could read what: 0600, like the store itself.
            with open_private_text(out_file) as handle:
                handle.writelines(line + "\n" for line in lines)
    finally:
        store.close()


@state_group.command("import")
@state_db_option
@sandbox_option
@click.argument("source", type=click.File("r", encoding="utf-8"), default="-")
@reported
def import_command(*, state_db: str | None, sandbox: bool, source: click.utils.LazyFile) -> None:
    """Load an export (a file, or standard input) into a new, empty store."""
    location = state_location(TargetOptions(sandbox=sandbox, state_db=state_db))
    store = open_store(location)
    name = "<stdin>" if source.name == "<stdin>" else source.name
    try:
        loaded = apply_import(store.backend, source, source=name)
    except ExportFormatError as err:
        click.echo(click.style("error: ", fg="red", bold=True) + str(err), err=True)
        sys.exit(1)
    finally:
        store.close()
    click.echo(
        f"{location.display}: imported {loaded} row(s) "
        f"(schema version {latest_version(store.backend.dialect)})"
    )


COMMANDS = [state_group]
