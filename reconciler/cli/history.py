"""``reconciler history``: the audit journal of every change the reconciler made
(who got or lost access to what, when and why), filtered, as text or JSON."""

from __future__ import annotations

import click

from reconciler.cli.options import parse_now, reported, state_db_option
from reconciler.rendering.history import render_history_json, render_history_text
from reconciler.state import JournalQuery, SqliteLocation, open_store
from reconciler.targeting import TargetOptions, state_location


@click.command("history")
@click.option("--principal", help="Only entries for this username or UUID (substring match).")
@click.option("--where", "where", help="Only entries for this collection or group name.")
@click.option("--since", help="Only entries at or after this ISO 8601 instant.")
@click.option("--until", help="Only entries before this ISO 8601 instant.")
@click.option("--limit", type=click.IntRange(min=1), help="Only the most recent N entries.")
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--sandbox", is_flag=True, help="Read the sandbox's state store.")
@state_db_option
@reported
def history_command(
    *,
    principal: str | None,
    where: str | None,
    since: str | None,
    until: str | None,
    limit: int | None,
    output: str,
    sandbox: bool,
    state_db: str | None,
) -> None:
    """Show the journal: each grant, revocation, staging and download, with its reason."""
    location = state_location(TargetOptions(sandbox=sandbox, state_db=state_db))
    if isinstance(location, SqliteLocation) and not location.path.exists():
        raise click.ClickException(
            f"no state store at {location.path}: nothing has been applied yet"
        )
    query = JournalQuery(
        principal=principal,
        where=where,
        since=parse_now(since) if since else None,
        until=parse_now(until) if until else None,
        limit=limit,
    )
    store = open_store(location)
    try:
        entries = store.read_journal(query)
    finally:
        store.close()
    if output == "json":
        click.echo(render_history_json(entries), nl=False)
    else:
        click.echo(render_history_text(entries))


COMMANDS = [history_command]
