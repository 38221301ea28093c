"""``reconciler sandbox``: run, seed, inspect and steer the built-in Globus emulator.

``serve`` runs it in the foreground; the other commands act on a world either through a
running sandbox (``--url``, default ``$RECONCILER_SANDBOX_URL``) or directly on its
database file (``--db``, default ``$RECONCILER_SANDBOX_DB`` or .reconciler/sandbox.db).
Bad input is a usage error (exit 2); a failure of the sandbox or of the specs exits 1
with a one-line message, never a traceback.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import threading
import urllib.error
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import click

from reconciler.core.intent import Intent
from reconciler.sandbox.control_client import ControlPlane, SandboxControl, SandboxControlError
from reconciler.sandbox.embedded import sandbox_service_env, start_sandbox
from reconciler.sandbox.local_control import LocalControl
from reconciler.sandbox.seeding import seed_from_intent
from reconciler.sandbox.showing import render_world
from reconciler.sandbox.store import resolve_db_path
from reconciler.spec import load_spec_set

URL_ENV = "RECONCILER_SANDBOX_URL"
DEFAULT_PORT = 8765
F = TypeVar("F", bound=Callable[..., Any])
_DURATION = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``15m``, ``2h``, ``3d``, ``1w`` (negative moves back) to seconds."""
    found = _DURATION.match(text)
    if found is None:
        raise click.BadParameter(f"{text!r} is not a duration such as 90, 15m, 2h or 3d")
    return float(found.group(1)) * _UNITS[found.group(2)]


def _world_options(func: F) -> F:
    func = click.option(
        "--db",
        type=click.Path(path_type=Path, dir_okay=False),
        help="Act on this world file directly (default $RECONCILER_SANDBOX_DB, "
        "else .reconciler/sandbox.db) when no --url is given.",
    )(func)
    return click.option(
        "--url",
        help=f"A running sandbox to act on (default ${URL_ENV}).",
    )(func)


@contextmanager
def _world(url: str | None, db: Path | None, *, create: bool = False) -> Iterator[ControlPlane]:
    """The control plane to act on: explicit --db, else --url / $URL_ENV, else the default
    db (which must exist unless ``create``)."""
    if url and db:
        raise click.UsageError("give --url or --db, not both")
    url = None if db else (url or os.environ.get(URL_ENV) or None)
    path = resolve_db_path(db)
    if not url and not create and not path.exists():
        raise click.ClickException(
            f"no sandbox world at {path}: seed one (reconciler sandbox seed) or give --url"
        )
    try:
        if url:
            yield SandboxControl(url)
            return
        with LocalControl(path) as local:
            yield local
    except SandboxControlError as err:
        raise click.ClickException(f"the sandbox refused: {err.code}: {err.message}") from err
    except urllib.error.URLError as err:
        raise click.ClickException(f"no sandbox answers at {url}: {err.reason}") from err
    except (ValueError, sqlite3.Error, OSError) as err:
        raise click.ClickException(str(err)) from err


def _load_intent(paths: tuple[Path, ...]) -> Intent:
    result = load_spec_set(list(paths), now=datetime.now(UTC))
    for diagnostic in result.diagnostics:
        click.echo(str(diagnostic), err=True)
    if not result.ok or result.intent is None:
        raise click.ClickException("the specs are invalid; nothing was seeded")
    return result.intent


@click.group("sandbox")
def sandbox() -> None:
    """The built-in Globus emulator: a persistent world served over HTTP that
    globus-sdk and globus-cli talk to through GLOBUS_SDK_SERVICE_URL_*."""


@sandbox.command("serve")
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--db",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The world file (default $RECONCILER_SANDBOX_DB, else .reconciler/sandbox.db).",
)
@click.option(
    "--seed-from-specs",
    "seed_paths",
    multiple=True,
    type=click.Path(path_type=Path, exists=True),
    help="Seed the collections, groups and identities these specs refer to (repeatable).",
)
@click.option(
    "--client-id",
    help="Give this client the roles the reconciler needs when seeding; without it any "
    "client holds every role.",
)
def serve(
    *,
    port: int,
    host: str,
    db: Path | None,
    seed_paths: tuple[Path, ...],
    client_id: str | None,
) -> None:
    """Serve the sandbox in the foreground until Ctrl-C or SIGTERM."""
    db_path = resolve_db_path(db)
    if seed_paths:
        intent = _load_intent(seed_paths)
        with _world(None, db_path, create=True) as world:
            seed_from_intent(world, intent, client_id=client_id)
    try:
        running = start_sandbox(db_path, port=port, host=host)
    except OSError as err:
        raise click.ClickException(f"cannot serve on {host}:{port}: {err.strerror or err}") from err
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        click.echo(f"Globus sandbox serving {db_path} at {running.url}")
        click.echo("Point globus-sdk, globus-cli and reconciler at it with:")
        for name, value in {**sandbox_service_env(running.url), URL_ENV: running.url}.items():
            click.echo(f"  export {name}={value}")
        click.echo("Press Ctrl-C to stop.", nl=True)
        while not stop.wait(0.5):
            pass
    finally:
        running.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo("sandbox stopped")


@sandbox.command("seed")
@click.option(
    "--from-specs",
    "spec_paths",
    multiple=True,
    required=True,
    type=click.Path(path_type=Path, exists=True),
    help="Spec files or directories whose collections, groups and identities to create.",
)
@click.option("--client-id", help="The client to give access_manager, activity_monitor and admin.")
@_world_options
def seed(
    spec_paths: tuple[Path, ...], client_id: str | None, url: str | None, db: Path | None
) -> None:
    """Create what the specs refer to (idempotent)."""
    intent = _load_intent(spec_paths)
    with _world(url, db, create=True) as world:
        summary = seed_from_intent(world, intent, client_id=client_id)
    applied = summary.get("applied", {})
    click.echo("seeded: " + ", ".join(f"{count} {name}" for name, count in applied.items()))


@sandbox.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print the raw world dump as JSON.")
@_world_options
def show(as_json: bool, url: str | None, db: Path | None) -> None:
    """Show the world: rules per collection, group memberships, trees, recent tasks."""
    with _world(url, db) as world:
        dump = world.dump()
    click.echo(json.dumps(dump, indent=2) if as_json else render_world(dump))


@sandbox.command("reset")
@_world_options
def reset(url: str | None, db: Path | None) -> None:
    """Empty the world: identities, collections, rules, groups, tasks, clock, settings."""
    with _world(url, db) as world:
        world.reset()
    click.echo("sandbox world reset")


@sandbox.command("download")
@click.argument("identity")
@click.argument("collection")
@click.argument("path")
@click.option("--count", type=click.IntRange(min=0), help="Only the first N files (partial).")
@click.option("--file", "files", multiple=True, help="Only these files (repeatable; partial).")
@_world_options
def download(
    *,
    identity: str,
    collection: str,
    path: str,
    count: int | None,
    files: tuple[str, ...],
    url: str | None,
    db: Path | None,
) -> None:
    """Record that IDENTITY (username or UUID) downloaded PATH from COLLECTION (UUID or
    display name): a SUCCEEDED transfer task the activity monitor sees."""
    with _world(url, db) as world:
        collection_id = _collection_id(world, collection)
        task = world.simulate_download(
            identity, collection_id, path, files=list(files) or None, count=count
        )
    click.echo(
        f"task {task['task_id']}: {task['owner_string']} downloaded {task['files_transferred']}"
        f" files ({task['bytes_transferred']} bytes) from {collection_id}:{path}"
    )


def _collection_id(world: ControlPlane, ref: str) -> str:
    collections = world.dump()["collections"]
    for item in collections:
        if ref in (item["id"], item["display_name"]):
            return str(item["id"])
    known = ", ".join(f"{c['display_name']} ({c['id']})" for c in collections) or "none"
    raise click.BadParameter(f"no collection {ref!r}; known: {known}", param_hint="COLLECTION")


@sandbox.group("clock")
def clock_group() -> None:
    """Sandbox time: real time plus an offset that moves only when you move it."""


class _SignedDurationCommand(click.Command):
    """Takes a negative duration (``-1d``) as its argument, not as options ``-1 -d``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        negative = [a for a in args if _DURATION.match(a) and a.strip().startswith("-")]
        if negative and "--" not in args:
            args = [a for a in args if a not in negative] + ["--", *negative]
        return super().parse_args(ctx, args)


@clock_group.command("advance", cls=_SignedDurationCommand)
@click.argument("duration")
@_world_options
def clock_advance(duration: str, url: str | None, db: Path | None) -> None:
    """Move sandbox time forward by DURATION (90, 15m, 2h, 3d); a negative one such as
    -1d moves it back (no `--` needed)."""
    seconds = parse_duration(duration)
    with _world(url, db) as world:
        result = world.advance_clock(seconds)
    click.echo(f"sandbox time is now {result['now']} (offset {result['offset_seconds']:+.0f}s)")


@clock_group.command("set")
@click.argument("when")
@_world_options
def clock_set(when: str, url: str | None, db: Path | None) -> None:
    """Make sandbox time WHEN (ISO 8601) from now on."""
    with _world(url, db) as world:
        result = world.set_clock(when)
    click.echo(f"sandbox time is now {result['now']} (offset {result['offset_seconds']:+.0f}s)")


@sandbox.command("settings")
@click.argument("changes", nargs=-1, metavar="[KEY=VALUE]...")
@_world_options
def settings_command(changes: tuple[str, ...], url: str | None, db: Path | None) -> None:
    """Show or change world settings, e.g. expiry_mode=delete task_seconds=0 open_roles=true."""
    parsed: dict[str, Any] = {}
    for change in changes:
        key, sep, raw = change.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{change!r} is not KEY=VALUE", param_hint="CHANGES")
        try:
            parsed[key] = json.loads(raw)
        except ValueError:
            parsed[key] = raw
    with _world(url, db) as world:
        result = world.update_settings(**parsed)
    for key, value in sorted(result.items()):
        click.echo(f"{key} = {json.dumps(value)}")


COMMANDS = [sandbox]
