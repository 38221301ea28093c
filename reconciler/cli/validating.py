"""``reconciler validate`` and ``reconciler schema``: check spec files, print the schema.

``validate`` exits 0 when the spec set is valid (warnings allowed, unless ``--strict``)
and 1 when it is not;
usage errors exit 2 (click's convention). It renders diagnostics as text (one per line,
then a summary) or as one JSON document for tools. ``schema`` prints the JSON Schema of
one spec file, the same text as ``specs/reconciler.schema.json``. Rendering is pure and
lives here; loading and checking belong to ``reconciler.spec``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from reconciler.cli.options import spec_options
from reconciler.spec import Diagnostic, LoadOptions, LoadResult, compute_json_schema, load_spec_set
from reconciler.spec.diagnostics import SpecValueError
from reconciler.spec.timeparse import parse_expiry

DEFAULT_SPEC_DIR = "specs/"
_SEVERITY_COLOURS = {"error": "red", "warning": "yellow"}


def _parse_now(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_expiry(value)
    except SpecValueError as exc:
        raise click.BadParameter(f"{exc.message}; {exc.hint or ''}".rstrip("; ")) from exc


@click.command()
# readable=False: the loader reports an unreadable path itself, located and exit 1.
@click.argument("paths", nargs=-1, type=click.Path(path_type=str, readable=False))
@click.option(
    "--output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Diagnostics as lines of text, or as one JSON document.",
)
@click.option(
    "--now",
    metavar="ISO8601",
    callback=_parse_now,
    help="Validate as of this instant instead of the current time (for reproducible runs).",
)
@spec_options
def validate(
    paths: tuple[str, ...], output: str, now: datetime | None, load_options: LoadOptions
) -> None:
    """Check spec files: YAML, keys and types, names and references across files,
    paths, policies, expiry and conflicts. PATHS are files or directories (searched for
    *.yaml and *.yml); default: specs/. Every file or directory that cannot be read is
    an error.

    Exit status: 0 valid (warnings allowed, unless --strict), 1 invalid.
    """
    given = paths or (DEFAULT_SPEC_DIR,)
    result = load_spec_set(
        [Path(p) for p in given], now=now or datetime.now(UTC), options=load_options
    )
    if output == "json":
        click.echo(json.dumps(render_json(result), indent=2))
    else:
        for diagnostic in result.diagnostics:
            click.echo(render_diagnostic(diagnostic))
        click.echo(render_summary(result, " ".join(given)))
    click.get_current_context().exit(0 if result.ok else 1)


@click.command()
def schema() -> None:
    """Print the JSON Schema of one spec file (draft 2020-12), for editors.

    The same text is kept in specs/reconciler.schema.json; regenerate it with
    `reconciler schema > specs/reconciler.schema.json`.
    """
    click.echo(render_schema(), nl=False)


def render_schema() -> str:
    return json.dumps(compute_json_schema(), indent=2, ensure_ascii=False) + "\n"


def render_diagnostic(diagnostic: Diagnostic) -> str:
    """One diagnostic, its severity coloured (click drops colours when not on a terminal)."""
    severity = click.style(
        diagnostic.severity, fg=_SEVERITY_COLOURS[diagnostic.severity], bold=True
    )
    text = f"{diagnostic.location}: {severity}: {diagnostic.message}"
    if diagnostic.hint:
        text += f"\n  hint: {diagnostic.hint}"
    return text


def render_summary(result: LoadResult, label: str) -> str:
    """``specs/: 2 errors, 1 warning in 3 files`` or ``OK: 3 files, 2 collections, ...``."""
    errors = sum(d.severity == "error" for d in result.diagnostics)
    warnings = len(result.diagnostics) - errors
    files = _count(len(result.files), "file")
    if not result.ok or result.intent is None:
        return f"{label}: {_count(errors, 'error')}, {_count(warnings, 'warning')} in {files}"
    intent = result.intent
    counts = [
        files,
        _count(len(intent.collections), "collection"),
        _count(len(intent.groups), "group"),
        _count(len(intent.grants), "grant"),
        _count(len(intent.memberships), "membership"),
    ]
    if warnings:
        counts.append(_count(warnings, "warning"))
    return "OK: " + ", ".join(counts)


def render_json(result: LoadResult) -> dict[str, Any]:
    return {
        "valid": result.ok,
        "files": [str(file) for file in result.files],
        "errors": sum(d.severity == "error" for d in result.diagnostics),
        "warnings": sum(d.severity == "warning" for d in result.diagnostics),
        "diagnostics": [
            {
                "file": d.file,
                "line": d.line,
                "column": d.col,
                "severity": d.severity,
                "message": d.message,
                "hint": d.hint,
            }
            for d in result.diagnostics
        ],
    }


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


COMMANDS = [validate, schema]
