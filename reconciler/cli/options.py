"""Options shared by the commands that read specs and talk to Globus."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, NoReturn, TypeVar

import click

from reconciler.cli import conventions
from reconciler.cli.conventions import DEBUG_ENV
from reconciler.core.plan import GuardPolicy
from reconciler.errors import ReconcilerError
from reconciler.planning.clock import DEFAULT_MAX_CLOCK_SKEW
from reconciler.planning.paths import format_span
from reconciler.spec import DEFAULT_MAX_FILE_SIZE, LoadOptions
from reconciler.targeting import TargetOptions

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_SPECS = Path("specs")


def spec_paths(func: F) -> F:
    # readable=False: the spec loader reports an unreadable path itself (exit 1, located).
    path = click.Path(path_type=Path, readable=False)
    return click.argument("paths", nargs=-1, type=path, metavar="[PATH]...")(func)


def paths_or_default(paths: Sequence[Path]) -> list[Path]:
    return list(paths) or [DEFAULT_SPECS]


state_db_option = click.option(
    "--state-db",
    envvar="RECONCILER_STATE_DB",
    show_envvar=True,
    metavar="PATH|URL",
    help="The state store (staging, downloads, journal): a SQLite file, or a PostgreSQL URL "
    "(postgresql://user@host/db) shared by the daemons and CI; default: state.db in "
    "$RECONCILER_STATE_DIR, $STATE_DIRECTORY or .reconciler/ (sandbox-state.db with --sandbox).",
)

client_secret_file_option = click.option(
    "--client-secret-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Read the client secret from this file (GLOBUS_CLIENT_ID names the client).",
)
"""The one credential option of every command that talks to Globus."""


def target_options(func: F) -> F:
    """``--sandbox``, ``--client-secret-file``, ``--rate`` and ``--state-db``, handed to
    the command as one ``target: TargetOptions``."""

    @functools.wraps(func)
    def wrapper(
        *args: Any,
        sandbox: bool,
        client_secret_file: Path | None,
        rate: float,
        state_db: str | None,
        **kwargs: Any,
    ) -> Any:
        target = TargetOptions(
            sandbox=sandbox,
            secret_file=client_secret_file,
            rate=rate,
            state_db=state_db,
            on_retry=conventions.echo_retry,
        )
        return func(*args, target=target, **kwargs)

    decorated: Any = wrapper
    for option in reversed(
        (
            click.option(
                "--sandbox",
                is_flag=True,
                help="Talk to the built-in Globus sandbox ($RECONCILER_SANDBOX_URL, else an "
                "in-process one on .reconciler/sandbox.db) instead of Globus.",
            ),
            client_secret_file_option,
            click.option(
                "--rate",
                type=click.FloatRange(min=0.1),
                default=20.0,
                show_default=True,
                help="Globus requests per second, retries and token requests included: at "
                "most rate x 10 in any 10 s window, shared by this client's processes using "
                "the same state directory.",
            ),
            state_db_option,
        )
    ):
        decorated = option(decorated)
    return decorated  # type: ignore[no-any-return]


def now_option(func: F) -> F:
    """``--now``, handed to the command as ``now: datetime`` (the current time if absent)
    and ``now_given: bool`` (whether it was given)."""

    @functools.wraps(func)
    def wrapper(*args: Any, now_text: str | None, **kwargs: Any) -> Any:
        return func(*args, now=parse_now(now_text), now_given=bool(now_text), **kwargs)

    return click.option(  # type: ignore[return-value]
        "--now",
        "now_text",
        help="Plan as of this ISO 8601 instant (previews; `apply` only with --sandbox, whose "
        "clock must read the same).",
    )(wrapper)


class Span(click.ParamType[timedelta]):
    """A length of time: ``90s``, ``5m``, ``2h`` or ``1d``."""

    name = "duration"
    _FORM = re.compile(r"\s*(\d+)\s*([smhd])\s*")
    _UNITS: ClassVar[dict[str, int]] = {"s": 1, "m": 60, "h": 3600, "d": 86400}

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> timedelta:
        if isinstance(value, timedelta):
            return value
        found = self._FORM.fullmatch(str(value))
        if found is None:
            self.fail(f"{value!r} is not a duration such as 90s, 5m, 2h or 1d", param, ctx)
        return timedelta(seconds=int(found[1]) * self._UNITS[found[2]])


def clock_option(func: F) -> F:
    """``--max-clock-skew``, handed to the command as ``max_clock_skew: timedelta``."""
    return click.option(
        "--max-clock-skew",
        type=Span(),
        default=format_span(DEFAULT_MAX_CLOCK_SKEW),
        show_default=True,
        help="Write nothing when the clock planning uses and Globus's clock (its HTTP Date) "
        "differ by more than this.",
    )(func)


def guard_options(func: F) -> F:
    """The deletion guard's options, handed to the command as ``guard: GuardPolicy``."""

    @functools.wraps(func)
    def wrapper(
        *args: Any,
        max_deletions: int,
        max_deletion_fraction: float,
        allow_mass_deletion: bool,
        **kwargs: Any,
    ) -> Any:
        guard = GuardPolicy(
            max_deletions=max_deletions,
            max_fraction=max_deletion_fraction,
            allow_mass_deletion=allow_mass_deletion,
        )
        return func(*args, guard=guard, **kwargs)

    decorated: Any = wrapper
    for option in reversed(
        (
            click.option(
                "--max-deletions",
                type=click.IntRange(min=0),
                default=GuardPolicy().max_deletions,
                show_default=True,
                help="Refuse a plan that prunes more rules and memberships than this.",
            ),
            click.option(
                "--max-deletion-fraction",
                type=click.FloatRange(0.0, 1.0),
                default=GuardPolicy().max_fraction,
                show_default=True,
                help="Refuse a plan that prunes more than this fraction of the managed rules "
                f"and memberships (checked above {GuardPolicy().fraction_floor} prunes).",
            ),
            click.option(
                "--allow-mass-deletion",
                is_flag=True,
                help="Apply even when the deletion guard would refuse (also when prunes empty "
                "a collection or group, or a spec file that held grants is gone).",
            ),
        )
    ):
        decorated = option(decorated)
    return decorated  # type: ignore[no-any-return]


class ByteSize(click.ParamType[int]):
    """A size in bytes: a whole number with an optional binary unit (``10MiB``, ``512k``)."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        match = re.fullmatch(r"\s*(\d+)\s*([kmg]?)(?:i?b)?\s*", str(value), re.IGNORECASE)
        if match is None or int(match[1]) == 0:
            self.fail(f"{value!r} is not a size such as 10MiB, 512KiB or 1048576", param, ctx)
        return int(match[1]) * _SIZE_UNITS[match[2].lower()]


_SIZE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def spec_options(func: F) -> F:
    """``--strict`` and ``--max-spec-size``, handed to the command as one
    ``load_options: LoadOptions`` (for every command that reads specs)."""

    @functools.wraps(func)
    def wrapper(*args: Any, strict: bool, max_spec_size: int, **kwargs: Any) -> Any:
        options = LoadOptions(max_file_size=max_spec_size, strict=strict)
        return func(*args, load_options=options, **kwargs)

    decorated: Any = wrapper
    for option in reversed(
        (
            click.option(
                "--strict",
                is_flag=True,
                envvar="RECONCILER_STRICT",
                help="Treat every spec warning as an error (for CI): a file name that looks "
                "meant as a spec but is not read, an expired entry, a repeated grant.",
            ),
            click.option(
                "--max-spec-size",
                type=ByteSize(),
                default=str(DEFAULT_MAX_FILE_SIZE),
                envvar="RECONCILER_MAX_SPEC_SIZE",
                show_default="10MiB",
                help="Refuse, unread, a spec file larger than this (e.g. 10MiB, 512KiB).",
            ),
        )
    ):
        decorated = option(decorated)
    return decorated  # type: ignore[no-any-return]


def parse_now(text: str | None) -> datetime:
    if not text:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--now: {text!r} is not an ISO 8601 date-time (e.g. 2026-12-01T00:00:00Z)")
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def fail(message: str, code: int = 1) -> NoReturn:
    conventions.fail(message, code)


def reported(func: F) -> F:
    """Turn the errors we understand into one line and exit 1, never a traceback. An
    error we do not understand is a bug: one line too, and the traceback only with
    ``RECONCILER_DEBUG=1``."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ReconcilerError as err:
            fail(str(err))
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as err:
            if os.environ.get(DEBUG_ENV):
                raise
            fail(conventions.explain_unexpected(err))

    return wrapper  # type: ignore[return-value]


def styler(stream_is_tty: bool) -> Callable[[str, str], str]:
    if not stream_is_tty or conventions.colour_disabled():
        return lambda text, _color: text
    return lambda text, color: click.style(text, fg=color)
