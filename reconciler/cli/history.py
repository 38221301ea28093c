"""``reconciler history``: the audit journal of every change the reconciler made
(who got or lost access to what, when and why), filtered, as text or JSON."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from reconciler.cli.options import reported, state_db_option
from reconciler.rendering.history import render_history_json, render_history_text
from reconciler.spec.diagnostics import SpecValueError
from reconciler.spec.timeparse import parse_duration
from reconciler.state import JournalQuery, SqliteLocation, open_store
from reconciler.targeting import TargetOptions, state_location


@click.command("history")
@click.option("--principal", help="Only entries for this username or UUID (substring match).")
@click.option("--where", "where", help="Only entries for this collection or group name.")
@click.option(
    "--since",
    callback=lambda ctx, param, value: parse_instant_or_ago(value, option="--since"),
    help="Only entries at or after this instant: ISO 8601 (2026-12-01, "
    "2026-12-01T08:00:00Z) or a duration ago (30m, 2h, 1d, 2w).",
)
@click.option(
    "--until",
    callback=lambda ctx, param, value: parse_instant_or_ago(value, option="--until"),
    help="Only entries before this instant (the same forms as --since).",
)
@click.option("--limit", type=click.IntRange(min=1), help="Only the most recent N entries.")
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--sandbox", is_flag=True, help="Read the sandbox's state store.")
@state_db_option
@reported
def history_command(
    *,
    principal: str | None,
    where: str | None,
    since: datetime | None,
    until: datetime | None,
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
        since=since,
        until=until,
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


def parse_instant_or_ago(
    text: str | None, *, option: str, now: datetime | None = None
) -> datetime | None:
    """``1d`` (a duration before ``now``), or an ISO 8601 date or date-time (UTC when it
    has no timezone); a usage error naming ``option`` otherwise."""
    if not text:
        return None
    try:
        return (now or datetime.now(UTC)) - parse_duration(text)
    except SpecValueError:
        pass
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is neither a duration ago (30m, 2h, 1d, 2w) nor an ISO 8601 "
            "instant (2026-12-01, 2026-12-01T08:00:00Z)",
            param_hint=option,
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


COMMANDS = [history_command]
