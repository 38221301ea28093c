"""What every command does the same way: colour, and how an error is shown.

- **Colour**: on a terminal only, and never when ``NO_COLOR`` is set (to anything but
  the empty string, https://no-color.org) or ``--no-color`` is given before the command.
  Off a terminal click strips colour codes by itself.
- **Errors** begin with ``error:`` everywhere: our own failures (``fail``), click's usage
  errors (after the usage line, exit 2) and the errors we understand
  (``ReconcilerError``), all on one line. An exception we do not understand is a bug:
  one line too, naming ``RECONCILER_DEBUG=1``, which shows the traceback.

``ReconcilerGroup`` is the top-level click group: it applies both to every command
below it (nested groups included), so no command can print a traceback by forgetting
a decorator. This module prints and exits; it decides nothing else.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import IO, Any, NoReturn

import click

from reconciler.errors import ReconcilerError

NO_COLOR_ENV = "NO_COLOR"
DEBUG_ENV = "RECONCILER_DEBUG"

_no_color_flag = False
"""``--no-color`` as given to the running command (reset by each invocation)."""
_retries_shown: set[str] = set()
_retries_lock = threading.Lock()


def set_no_color(value: bool) -> None:
    global _no_color_flag  # noqa: PLW0603 -- one CLI invocation's setting, process-wide
    _no_color_flag = value


def colour_disabled() -> bool:
    """Whether colour is switched off by ``--no-color`` or ``$NO_COLOR``."""
    return _no_color_flag or bool(os.environ.get(NO_COLOR_ENV))


def colour_for(stream: IO[Any]) -> bool:
    """Whether to colour what goes to ``stream``: a terminal, and not switched off."""
    if colour_disabled():
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def echo_error(message: str) -> None:
    """``error: message`` on stderr (``error:`` in red on a terminal)."""
    prefix = click.style("error: ", fg="red", bold=True) if colour_for(sys.stderr) else "error: "
    click.echo(prefix + message, err=True, color=colour_for(sys.stderr))


def echo_retry(notice: object) -> None:
    """``warning: transfer: 127.0.0.1:9: connection refused; retrying (1 of 5)`` on
    stderr, while the SDK retries a request (so a slow failure is never silent); the
    same line from requests failing in parallel is shown once."""
    with _retries_lock:
        if str(notice) in _retries_shown:
            return
        _retries_shown.add(str(notice))
    prefix = click.style("warning: ", fg="yellow") if colour_for(sys.stderr) else "warning: "
    click.echo(f"{prefix}{notice}", err=True, color=colour_for(sys.stderr))


def fail(message: str, code: int = 1) -> NoReturn:
    echo_error(message)
    sys.exit(code)


def explain_unexpected(err: BaseException) -> str:
    return (
        f"internal error: {type(err).__name__}: {err}. This is a bug in the reconciler; "
        f"{DEBUG_ENV}=1 shows the traceback"
    )


class ShownClickError(click.ClickException):
    """A click error shown our way: ``error: ...`` (usage errors after the usage line)."""

    def __init__(self, original: click.ClickException) -> None:
        super().__init__(original.format_message())
        # click declares exit_code on the class; usage errors carry 2, others 1.
        self.exit_code = original.exit_code  # type: ignore[misc]
        self.original = original

    def show(self, file: IO[Any] | None = None) -> None:
        original = self.original
        if isinstance(original, click.UsageError) and original.ctx is not None:
            ctx = original.ctx
            hint = ""
            if ctx.command.get_help_option(ctx) is not None:
                hint = f"Try '{ctx.command_path} {ctx.help_option_names[0]}' for help.\n"
            click.echo(f"{ctx.get_usage()}\n{hint}", err=True, color=False)
        echo_error(original.format_message())


class ReconcilerGroup(click.Group):
    """The top-level group: ``--no-color``, and one way of reporting every error."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        set_no_color(False)
        with _retries_lock:
            _retries_shown.clear()
        return super().main(*args, **kwargs)

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except ShownClickError:
            raise
        except click.ClickException as err:
            raise ShownClickError(err) from err

    def invoke(self, ctx: click.Context) -> Any:
        if colour_disabled():
            ctx.color = False
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.Abort, ShownClickError):
            raise
        except click.ClickException as err:
            raise ShownClickError(err) from err
        except ReconcilerError as err:
            fail(str(err))
        except Exception as err:
            if os.environ.get(DEBUG_ENV):
                raise
            fail(explain_unexpected(err))
