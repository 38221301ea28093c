"""``reconciler grant``, ``reconciler membership`` and ``reconciler tidy``: edit the spec
files in place, the way a gateway or a person requests, extends and revokes access.

Parsing, calling ``reconciler.editing`` and rendering only. Exit codes (a contract):
0 the specs were changed (or, with --dry-run, would be; or there was nothing to
change), 1 the edit was refused (nothing changed) or the commit failed (the edit
stays), 2 a usage error (an argument that cannot be understood).
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from reconciler.cli.conventions import echo_error
from reconciler.cli.validating import render_diagnostic
from reconciler.editing import (
    BadArgument,
    EditRefused,
    EditResult,
    add_grant,
    add_membership,
    extend_grant,
    extend_membership,
    revoke_grant,
    revoke_membership,
    tidy,
)
from reconciler.spec import Diagnostic
from reconciler.spec.diagnostics import SpecValueError
from reconciler.spec.timeparse import format_instant, parse_expiry

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_SPECS = Path("specs")


def parse_now_option(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_expiry(value)
    except SpecValueError as exc:
        raise click.BadParameter(f"{exc.message}; {exc.hint or ''}".rstrip("; ")) from exc


def edit_options(func: F) -> F:
    """--specs, --dry-run, --commit, --lock-timeout, --output and the hidden --now."""
    for option in reversed(
        [
            click.option(
                "--specs",
                "specs_dir",
                type=click.Path(path_type=Path, file_okay=False),
                default=DEFAULT_SPECS,
                show_default=True,
                help="The spec directory (all of it is validated before any edit).",
            ),
            click.option("--dry-run", is_flag=True, help="Print the diff and change nothing."),
            click.option(
                "--commit",
                is_flag=True,
                help="Commit the edited file(s) in the spec directory's git work tree.",
            ),
            click.option(
                "--lock-timeout",
                type=click.FloatRange(min=0),
                default=30.0,
                show_default=True,
                metavar="SECONDS",
                help="How long to wait for another edit of the same directory.",
            ),
            click.option(
                "--output",
                type=click.Choice(["text", "json"]),
                default="text",
                show_default=True,
                help="text for people, json for programs.",
            ),
            click.option(
                "--now",
                metavar="ISO8601",
                callback=parse_now_option,
                hidden=True,
                help="Edit as of this instant (tests and reproducible runs).",
            ),
        ]
    ):
        func = option(func)
    return func


def expiry_options(func: F) -> F:
    func = click.option(
        "--for",
        "duration",
        metavar="DURATION",
        help="Expire this long from now: a number and m, h, d or w (e.g. 14d); written "
        "as an absolute UTC time.",
    )(func)
    return click.option(
        "--expires",
        metavar="DATE|DATETIME",
        help="Expire at this date (00:00 UTC that day) or datetime with a timezone.",
    )(func)


def edit_command(func: Callable[..., EditResult]) -> Callable[..., None]:
    """Run an API call and render its result; refusals become exit 1, bad arguments 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, output: str, **kwargs: Any) -> None:
        try:
            result = func(*args, **kwargs)
        except BadArgument as err:
            raise click.UsageError(_with_hint(err)) from err
        except EditRefused as err:
            _render_refusal(err, as_json=output == "json")
            sys.exit(1)
        _render_result(result, as_json=output == "json")
        if result.commit is not None and not result.commit.ok:
            sys.exit(1)

    return wrapper


def _with_hint(err: EditRefused) -> str:
    return f"{err.message}\n  hint: {err.hint}" if err.hint else err.message


def _render_refusal(err: EditRefused, *, as_json: bool) -> None:
    if as_json:
        document = {
            "changed": False,
            "refused": True,
            "error": err.message,
            "hint": err.hint,
            "diagnostics": [_diagnostic_json(d) for d in err.diagnostics],
        }
        click.echo(json.dumps(document, indent=2))
        return
    for diagnostic in err.diagnostics:
        click.echo(render_diagnostic(diagnostic), err=True)
    echo_error(err.message)
    if err.hint:
        click.echo(f"  hint: {err.hint}", err=True)
    click.echo("nothing was changed", err=True)


def _render_result(result: EditResult, *, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(render_result_json(result), indent=2))
        return
    for warning in result.warnings:
        click.echo(render_diagnostic(warning), err=True)
    if not result.changed:
        click.echo(result.summary)
        return
    click.echo(result.diff, nl=False)
    for line in result.details:
        click.echo(f"  {line}")
    files = ", ".join(str(f) for f in result.files)
    if result.dry_run:
        click.echo(f"dry run: would change {files}: {result.summary}; nothing was written")
        return
    click.echo(f"changed {files}: {result.summary}")
    commit = result.commit
    if commit is None:
        return
    if commit.ok:
        click.echo(f"committed {(commit.revision or '?')[:12]}: {result.summary}")
    else:
        echo_error(f"the edit was written but not committed: {commit.error}")


def render_result_json(result: EditResult) -> dict[str, Any]:
    commit = result.commit
    return {
        "changed": result.changed,
        "dry_run": result.dry_run,
        "summary": result.summary,
        "files": [str(f) for f in result.files],
        "expires": format_instant(result.expires) if result.expires else None,
        "diff": result.diff,
        "removed": [
            {
                "kind": r.kind,
                "location": r.location,
                "owner": r.owner,
                "principal": r.principal,
                "path": r.path,
                "expires": r.expires,
            }
            for r in result.removed
        ],
        "warnings": [_diagnostic_json(d) for d in result.warnings],
        "commit": None
        if commit is None
        else {
            "ok": commit.ok,
            "revision": commit.revision,
            "message": commit.message,
            "error": commit.error,
        },
    }


def _diagnostic_json(d: Diagnostic) -> dict[str, Any]:
    return {
        "file": d.file,
        "line": d.line,
        "column": d.col,
        "severity": d.severity,
        "message": d.message,
        "hint": d.hint,
    }


# -- grant ----------------------------------------------------------------------------


@click.group("grant")
def grant_group() -> None:
    """Add, extend and revoke grants by editing the spec files (validated, locked,
    atomic; --commit records the edit in git).

    PRINCIPAL is a username (alice@example.org), an identity UUID,
    group:<name or UUID>, public:all_authenticated_users or public:anonymous.

    Exit status: 0 changed (or nothing to change), 1 refused (nothing changed) or the
    commit failed (the edit stays), 2 usage error.
    """


@grant_group.command("add")
@click.argument("distribution")
@click.argument("principal")
@expiry_options
@click.option("--permissions", type=click.Choice(["r", "rw"]), default="r", show_default=True)
@click.option("--notify", is_flag=True, help="Have Globus email the grantee.")
@click.option("--notify-message", metavar="TEXT", help="Email the grantee this message.")
@click.option(
    "--revoke-after-download", is_flag=True, help="Revoke once the grantee has downloaded it all."
)
@click.option(
    "--path",
    metavar="PATH",
    help="The directory granted, instead of the distribution's path (with --create: the "
    "new distribution's path).",
)
@click.option(
    "--cleanup/--no-cleanup",
    default=None,
    help="Delete (or keep) the directory when the grant ends [default: collection policy].",
)
@click.option("--create", is_flag=True, help="Create the distribution if it does not exist.")
@click.option("--collection", metavar="NAME", help="With --create: the distribution's collection.")
@click.option(
    "--file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="With --create: the spec file to write the new distribution to (may be new).",
)
@edit_options
@edit_command
def grant_add(
    distribution: str,
    principal: str,
    *,
    expires: str | None,
    duration: str | None,
    notify: bool,
    notify_message: str | None,
    specs_dir: Path,
    **options: Any,
) -> EditResult:
    """Add a grant for PRINCIPAL to DISTRIBUTION, in the file that defines it.

    Exactly one of --expires and --for. Refused, changing nothing, when the
    distribution is unknown, the grant exists already (use `grant extend`), or the
    specs would be invalid or break a policy afterwards.
    """
    return add_grant(
        specs_dir,
        distribution,
        principal,
        expires=expires,
        duration=duration,
        notify=notify_message if notify_message else notify,
        **options,
    )


@grant_group.command("extend")
@click.argument("distribution")
@click.argument("principal")
@expiry_options
@click.option("--path", metavar="PATH", help="Which grant, when PRINCIPAL has several there.")
@edit_options
@edit_command
def grant_extend(
    distribution: str,
    principal: str,
    *,
    expires: str | None,
    duration: str | None,
    specs_dir: Path,
    **options: Any,
) -> EditResult:
    """Give PRINCIPAL's grant in DISTRIBUTION a new expiry (--expires or --for)."""
    return extend_grant(
        specs_dir, distribution, principal, expires=expires, duration=duration, **options
    )


@grant_group.command("revoke")
@click.argument("distribution")
@click.argument("principal")
@click.option("--path", metavar="PATH", help="Which grant, when PRINCIPAL has several there.")
@edit_options
@edit_command
def grant_revoke(
    distribution: str, principal: str, *, specs_dir: Path, **options: Any
) -> EditResult:
    """End PRINCIPAL's grant in DISTRIBUTION now: its expiry becomes the current time,
    so the entry stays in the history and the reconciler removes the access."""
    return revoke_grant(specs_dir, distribution, principal, **options)


# -- membership -----------------------------------------------------------------------


@click.group("membership")
def membership_group() -> None:
    """Add, extend and revoke time-limited group memberships by editing the spec files.

    GROUP is a declared group's name or UUID; IDENTITY a username or identity UUID.

    Exit status: 0 changed (or nothing to change), 1 refused (nothing changed) or the
    commit failed (the edit stays), 2 usage error.
    """


@membership_group.command("add")
@click.argument("group")
@click.argument("identity")
@expiry_options
@click.option(
    "--file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The spec file to write to (may be new) [default: next to the group's others].",
)
@edit_options
@edit_command
def membership_add(
    group: str,
    identity: str,
    *,
    expires: str | None,
    duration: str | None,
    specs_dir: Path,
    **options: Any,
) -> EditResult:
    """Make IDENTITY a member of GROUP until the expiry (--expires or --for)."""
    return add_membership(specs_dir, group, identity, expires=expires, duration=duration, **options)


@membership_group.command("extend")
@click.argument("group")
@click.argument("identity")
@expiry_options
@edit_options
@edit_command
def membership_extend(
    group: str,
    identity: str,
    *,
    expires: str | None,
    duration: str | None,
    specs_dir: Path,
    **options: Any,
) -> EditResult:
    """Give IDENTITY's membership in GROUP a new expiry."""
    return extend_membership(
        specs_dir, group, identity, expires=expires, duration=duration, **options
    )


@membership_group.command("revoke")
@click.argument("group")
@click.argument("identity")
@edit_options
@edit_command
def membership_revoke(group: str, identity: str, *, specs_dir: Path, **options: Any) -> EditResult:
    """End IDENTITY's membership in GROUP now (its expiry becomes the current time)."""
    return revoke_membership(specs_dir, group, identity, **options)


# -- tidy -----------------------------------------------------------------------------


@click.command("tidy")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path), metavar="[PATH]...")
@click.option(
    "--older-than",
    default="30d",
    show_default=True,
    metavar="DURATION",
    help="Remove entries that expired longer ago than this (m, h, d or w).",
)
@edit_options
@edit_command
def tidy_command(
    paths: tuple[Path, ...], *, older_than: str, specs_dir: Path, **options: Any
) -> EditResult:
    """Remove grants and memberships that expired long ago, from the spec files at
    PATHS (files or directories inside --specs; default: all of them).

    A distribution left without grants keeps `grants: []`; comments above a removed
    entry stay.

    Exit status: 0 changed (or nothing to change), 1 refused (nothing changed) or the
    commit failed (the edit stays), 2 usage error.
    """
    return tidy(specs_dir, older_than=older_than, paths=paths, **options)


COMMANDS = [grant_group, membership_group, tidy_command]
