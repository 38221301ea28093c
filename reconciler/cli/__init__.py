"""The ``reconciler`` command line: click commands that parse, call, render and map
results to exit codes. Each command lives in its own module; this one assembles them.
"""

from __future__ import annotations

import click

from reconciler import __version__
from reconciler.cli import (
    applying,
    daemoning,
    doctoring,
    editing,
    history,
    importing,
    probing,
    running,
    sandboxing,
    storing,
    validating,
)
from reconciler.cli.conventions import ReconcilerGroup, set_no_color


@click.group(
    cls=ReconcilerGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="reconciler")
@click.option(
    "--no-color",
    is_flag=True,
    help="No colour in the output (also when $NO_COLOR is set).",
)
@click.pass_context
def cli(ctx: click.Context, no_color: bool) -> None:
    """Make Globus access rules, directories and group memberships match YAML specs."""
    if no_color:
        set_no_color(True)
        ctx.color = False


for _module in (
    validating,
    applying,
    history,
    running,
    daemoning,
    sandboxing,
    editing,
    doctoring,
    probing,
    storing,
    importing,
):
    for _command in _module.COMMANDS:
        cli.add_command(_command)


def main() -> None:
    cli(prog_name="reconciler")
