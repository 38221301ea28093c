"""``reconciler plan``, ``apply`` and ``status``: preview, converge, and inspect.

Exit codes (a contract, see docs/cli.md): ``plan`` 0 ok (or no changes with
``--detailed-exitcode``), 2 changes pending (``--detailed-exitcode`` only), 1 error or
blocked plan; ``apply`` 0 converged, 1 any failure or refusal.
"""

from __future__ import annotations

import functools
import os
import stat
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from reconciler.cli.options import (
    clock_option,
    fail,
    guard_options,
    now_option,
    paths_or_default,
    reported,
    spec_options,
    spec_paths,
    styler,
    target_options,
)
from reconciler.core.actions import Action, ScheduleRemoval
from reconciler.core.intent import Intent
from reconciler.core.live import LiveState
from reconciler.core.plan import GuardPolicy, Plan
from reconciler.executing import ApplyResult, Outcome
from reconciler.locking import compute_target_resources, hold_apply_lock
from reconciler.plan_codec import PlanFileError, plan_from_json, render_plan_json
from reconciler.planning.scoping import Target as Scope
from reconciler.planning.scoping import compute_target, compute_targeted_plan
from reconciler.private import write_private_text
from reconciler.reconciling import (
    apply_plan,
    compute_inventory,
    fetch_plan,
    load_specs,
    record_successful_pass,
)
from reconciler.rendering.applied import render_apply_json
from reconciler.rendering.describing import TITLE, describe
from reconciler.rendering.markdown import render_plan_markdown
from reconciler.rendering.status import render_status_json, render_status_text
from reconciler.rendering.text import render_plan_text, render_result_text
from reconciler.spec import LoadOptions
from reconciler.targeting import Target, TargetOptions, open_target


def _load_intent(
    paths: Sequence[Path], now: datetime, options: LoadOptions
) -> tuple[Intent, dict[str, int]]:
    """The intent, and the inventory of the spec files it came from."""
    given = paths_or_default(paths)
    result = load_specs(given, now=now, options=options)
    for diagnostic in result.diagnostics:
        click.echo(str(diagnostic), err=True)
    if result.intent is None:
        fail("the specs are invalid; nothing was planned (run `reconciler validate` for details)")
    return result.intent, compute_inventory(result, result.intent, given, now=now)


def scope_option(func: Callable[..., object]) -> Callable[..., object]:
    return click.option(
        "--target",
        "target_texts",
        multiple=True,
        metavar="DISTRIBUTION|collection:NAME|group:NAME",
        help="Limit the plan to this distribution, collection or group (repeatable), "
        "like Terraform's -target. The deletion guard still applies.",
    )(func)


def _scoped(plan: Plan, intent: Intent, live: LiveState, texts: Sequence[str]) -> Plan:
    """``plan`` limited to the ``--target`` values, which must name declared things."""
    targets = [compute_target(text) for text in texts]
    for target in targets:
        known = _declared(intent, target)
        if target.name not in known:
            listing = ", ".join(sorted(known)) or "none"
            raise click.UsageError(
                f"--target {target}: there is no {target.kind} {target.name!r} in the specs "
                f"(known: {listing})"
            )
    return compute_targeted_plan(plan, intent, live, targets)


def _declared(intent: Intent, target: Scope) -> set[str]:
    if target.kind == "collection":
        return {c.name for c in intent.collections}
    if target.kind == "group":
        return {g.name for g in intent.groups}
    return {g.distribution for g in intent.grants}


@click.command("plan")
@spec_paths
@target_options
@now_option
@spec_options
@guard_options
@clock_option
@scope_option
@click.option(
    "--output",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="text for people, markdown for a pull-request comment, json for machines.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when nothing would change, 2 when something would, 1 on error.",
)
@click.option(
    "--out",
    "out_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also save the plan as JSON, for `reconciler apply --plan FILE`.",
)
@reported
def plan_command(
    *,
    paths: tuple[Path, ...],
    target: TargetOptions,
    now: datetime,
    now_given: bool,
    load_options: LoadOptions,
    guard: GuardPolicy,
    max_clock_skew: timedelta,
    output: str,
    detailed_exitcode: bool,
    out_file: Path | None,
    target_texts: tuple[str, ...],
) -> None:
    """Show what apply would change to make Globus match the specs."""
    intent, inventory = _load_intent(paths, now, load_options)
    with open_target(target) as opened:
        opened.seed(intent)
        plan, live = fetch_plan(
            opened.clients,
            intent,
            now=now,
            guard=guard,
            store=opened.store,
            # A preview as of --now is not checked against Globus's clock: apply is.
            max_clock_skew=None if now_given else max_clock_skew,
            spec_files=inventory,
            record_progress=False,  # no lock: the daemon's specs may watch more
        )
    plan = _scoped(plan, intent, live, target_texts)
    _echo_plan(plan, output)
    if out_file is not None:
        write_private_text(out_file, render_plan_json(plan))  # 0600: who may read what
    if plan.blocked or plan.errors:
        sys.exit(1)
    if detailed_exitcode and plan.has_changes:
        sys.exit(2)


def _progress_printer(total: int) -> Callable[[Outcome], None]:
    """One line per finished action, numbered, so a long apply shows its progress."""
    done = [0]

    def on_outcome(outcome: Outcome) -> None:
        done[0] += 1
        mark = {"done": "ok", "failed": "FAILED", "skipped": "skipped"}[outcome.status]
        color = {"done": "green", "failed": "red", "skipped": "yellow"}[outcome.status]
        line = (
            f"[{done[0]}/{total}] {TITLE[outcome.action.kind]} "
            f"{describe(outcome.action)}: {outcome.detail}"
        )
        click.echo(click.style(f"{mark:>7} ", fg=color) + line)

    return on_outcome


@click.command("apply")
@spec_paths
@target_options
@now_option
@spec_options
@guard_options
@clock_option
@scope_option
@click.option("--auto-approve", is_flag=True, help="Apply without asking for confirmation.")
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Apply a plan saved by `plan --out`; refused if Globus has changed since.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=8,
    show_default=True,
    help="Actions in flight at once (all share the --rate budget).",
)
@click.option(
    "--lock-timeout",
    type=click.FloatRange(min=0.0),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="Wait this long for the target's apply lock (held by a daemon's pass or "
    "another apply), then refuse.",
)
@click.option(
    "--output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json prints one document (the plan and every outcome) and needs --auto-approve.",
)
@reported
def apply_command(
    *,
    paths: tuple[Path, ...],
    target: TargetOptions,
    now: datetime,
    now_given: bool,
    load_options: LoadOptions,
    guard: GuardPolicy,
    max_clock_skew: timedelta,
    auto_approve: bool,
    plan_file: Path | None,
    concurrency: int,
    lock_timeout: float,
    target_texts: tuple[str, ...],
    output: str,
) -> None:
    """Make Globus match the specs: show the plan, confirm, apply, summarize.

    The plan that is applied is computed while holding the target's apply lock, so it
    never races a daemon's pass or another apply on the same state store."""
    as_json = output == "json"
    _check_apply_options(
        now_given=now_given, sandbox=target.sandbox, as_json=as_json, auto_approve=auto_approve
    )
    intent, inventory = _load_intent(paths, now, load_options)
    saved = _read_saved_plan(plan_file) if plan_file is not None else None
    if saved is not None:
        target_texts = _saved_targets(plan_file, saved, target_texts)
    # A targeted apply leaves the rest unconverged: it must not become the inventory
    # later passes compare with (a vanished spec file would then go unnoticed).
    recorded = None if target_texts else inventory
    style = styler(sys.stdout.isatty())
    with open_target(target) as opened:
        opened.seed(intent)

        def plan_now(*, locked: bool) -> Plan:
            # The host's clock is read again for each plan: a person who took a while
            # to confirm must not be refused for the clock check, nor act on a stale now.
            plan, live = fetch_plan(
                opened.clients,
                intent,
                now=now if now_given else datetime.now(UTC),
                guard=guard,
                store=opened.store,
                max_clock_skew=max_clock_skew,
                spec_files=inventory,
                record_progress=locked,
            )
            return _scoped(plan, intent, live, target_texts)

        shown = functools.partial(
            _plan_to_apply,
            opened,
            inventory=recorded,
            saved=(plan_file, saved) if plan_file is not None and saved is not None else None,
            style=None if as_json else style,
        )
        confirmed: Plan | None = None
        if not auto_approve:
            # Ask first, without the lock: a person at a prompt must not hold up the daemon.
            confirmed = shown(plan_now(locked=False))
            if confirmed is None:
                return
            if not sys.stdin.isatty():
                fail("not a terminal: pass --auto-approve to apply without confirmation")
            if not click.confirm(f"Apply these {len(confirmed.actions)} change(s)?", default=False):
                fail("cancelled; nothing was applied")
        resources = compute_target_resources(opened.clients.caller_id, intent)
        waiting = functools.partial(
            click.echo, f"waiting up to {lock_timeout:g} s for the apply lock...", err=True
        )

        def settling(delay: float) -> None:
            click.echo(
                f"waiting {delay:.0f} s for the lease of a process that lost the apply lock "
                "to run out...",
                err=True,
            )

        with hold_apply_lock(
            opened.store, resources, timeout=lock_timeout, on_wait=waiting, on_settle=settling
        ) as lost:
            if confirmed is None:
                plan = shown(plan_now(locked=True))
                if plan is None:
                    return
            else:
                plan = plan_now(locked=True)
                if plan.blocked:
                    click.echo(render_plan_text(plan, style=style))
                    fail("nothing was applied")
                if _comparable(plan.actions) != _comparable(confirmed.actions):
                    fail(
                        "the plan changed while you were confirming (another process "
                        "applied, or Globus changed); nothing was applied: run apply again"
                    )
            result = apply_plan(
                opened.clients,
                plan,
                concurrency=concurrency,
                on_outcome=None if as_json else _progress_printer(len(plan.actions)),
                stop=lost,
                store=opened.store,
            )
            # Approved and carried out (even if some actions failed and are retried
            # later): its spec files are what later passes compare with.
            if recorded is not None:
                record_successful_pass(opened.store, recorded, now=plan.now)
    _report(plan, result, lost=lost.is_set(), as_json=as_json, style=style)


def _check_apply_options(
    *, now_given: bool, sandbox: bool, as_json: bool, auto_approve: bool
) -> None:
    """Refuse ``--now`` against Globus itself, and JSON output with nobody to ask."""
    if as_json and not auto_approve:
        raise click.UsageError("--output json needs --auto-approve (nobody can be asked)")
    if now_given and not sandbox:
        fail(
            f"--now: apply plans with this host's clock ({datetime.now(UTC):%Y-%m-%d %H:%M:%SZ}) "
            "against Globus: a time of your choosing could revoke grants and delete data "
            "early. Use `reconciler plan --now` to preview, or fix the host's clock"
        )


def _report(
    plan: Plan,
    result: ApplyResult,
    *,
    lost: bool,
    as_json: bool,
    style: Callable[[str, str], str],
) -> None:
    if as_json:
        click.echo(render_apply_json(plan, result, refused=None), nl=False)
    else:
        click.echo(render_result_text(result, style=style))
    if lost:
        fail("the apply lock was lost (the state store became unreachable); run apply again")
    if not result.ok or plan.errors:
        sys.exit(1)


def _saved_targets(plan_file: Path | None, saved: Plan, given: tuple[str, ...]) -> tuple[str, ...]:
    """A saved plan is applied with the targets it was made with, and only with them."""
    if not saved.targets:
        if given:
            fail(
                f"{plan_file}: this plan was made without --target; apply it without "
                "--target, or save a targeted one with `reconciler plan --target ... --out`"
            )
        return given
    if given and tuple(given) != saved.targets:
        fail(
            f"{plan_file}: this plan was made with --target {' '.join(saved.targets)}; "
            "apply it without --target (its own are used) or make a new plan"
        )
    return saved.targets


def _plan_to_apply(
    opened: Target,
    plan: Plan,
    *,
    inventory: Mapping[str, int] | None,
    saved: tuple[Path, Plan] | None,
    style: Callable[[str, str], str] | None,
) -> Plan | None:
    """Check a saved plan against ``plan`` and show it (as text, or with no ``style``
    as the JSON result when nothing will be applied); None when there is nothing to
    apply (Globus matches the specs: the pass counts as successful, and ``inventory``,
    None for a targeted plan, is recorded). Exits 1 when the plan is blocked or only
    errors remain."""
    if saved is not None:
        _check_saved_plan(saved[0], saved[1], current=plan)
    if style is not None:
        click.echo(render_plan_text(plan, style=style))
    elif plan.blocked or not plan.has_changes:
        refused = "nothing was applied" if plan.blocked else None
        click.echo(render_apply_json(plan, None, refused=refused), nl=False)
    if plan.blocked:
        fail("nothing was applied")
    if not plan.has_changes:
        if inventory is not None:
            record_successful_pass(opened.store, inventory, now=plan.now)
        if plan.errors:
            fail(f"{len(plan.errors)} error(s) above need fixing")
        return None
    return plan


MAX_PLAN_FILE = 1 << 30
"""Bytes of a saved plan read at most (100 000 actions take about 60 MB)."""


def _read_saved_plan(plan_file: Path) -> Plan:
    """The plan saved in ``plan_file``: a regular file (opened without waiting, so a FIFO
    is refused rather than waited on forever, and a device such as /dev/zero is never
    read) of at most ``MAX_PLAN_FILE`` bytes."""
    try:
        handle = os.open(plan_file, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        with os.fdopen(handle, "rb") as stream:
            if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
                fail(f"{plan_file}: not a regular file, so not a plan saved by `plan --out`")
            data = stream.read(MAX_PLAN_FILE + 1)
        if len(data) > MAX_PLAN_FILE:
            fail(f"{plan_file}: larger than {MAX_PLAN_FILE} bytes, so not a saved plan")
        return plan_from_json(data.decode("utf-8"))
    except (OSError, UnicodeDecodeError, PlanFileError) as err:
        fail(f"{plan_file}: {getattr(err, 'strerror', None) or err}")


def _check_saved_plan(plan_file: Path, saved: Plan, *, current: Plan) -> None:
    """Refuse a saved plan unless applying now would do exactly what it says (up to
    the due dates of scheduled removals, which count from the time of applying)."""
    if saved.live_fingerprint != current.live_fingerprint:
        fail(
            f"{plan_file}: Globus has changed since this plan was made "
            f"(fingerprint {saved.live_fingerprint} != {current.live_fingerprint}); "
            "run `reconciler plan` again"
        )
    if _comparable(saved.actions) != _comparable(current.actions):
        # Same Globus, different plan: time has passed (something expired or came due)
        # or the specs changed. Applying the old one could re-grant what has expired.
        fail(
            f"{plan_file}: this plan is no longer what applying now would do (the specs "
            "changed, or something expired since it was made); run `reconciler plan` again"
        )


_EPOCH = datetime.fromtimestamp(0, UTC)


def _comparable(actions: Sequence[Action]) -> list[Action]:
    """A scheduled removal is due a grace period after the rule's deletion, so its date
    moves with the time of applying; the current plan's (later) date is the one used."""
    return [
        replace(a, due=_EPOCH, since=_EPOCH) if isinstance(a, ScheduleRemoval) else a
        for a in actions
    ]


@click.command("status")
@spec_paths
@target_options
@now_option
@spec_options
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@reported
def status_command(
    *,
    paths: tuple[Path, ...],
    target: TargetOptions,
    now: datetime,
    now_given: bool,
    load_options: LoadOptions,
    output: str,
) -> None:
    """Show managed rules, scheduled directory removals and memberships, with the time
    they have left."""
    del now_given  # status only reads: any instant may be shown
    intent, _inventory = _load_intent(paths, now, load_options)
    with open_target(target) as opened:
        opened.seed(intent)
        plan, live = fetch_plan(
            opened.clients, intent, now=now, store=opened.store, record_progress=False
        )
    if output == "json":
        click.echo(render_status_json(intent, live, plan), nl=False)
    else:
        click.echo(render_status_text(intent, live, plan, style=styler(sys.stdout.isatty())))


@click.command("show-plan")
@click.argument("plan_file", metavar="FILE", type=click.Path(path_type=Path))
@click.option(
    "--output",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
    help="text for people, markdown for a pull-request comment, json as saved.",
)
@reported
def show_plan_command(*, plan_file: Path, output: str) -> None:
    """Show a plan saved with `reconciler plan --out FILE`, without talking to Globus."""
    _echo_plan(_read_saved_plan(plan_file), output)


def _echo_plan(plan: Plan, output: str) -> None:
    """The plan as ``output`` (json, markdown or text) on stdout."""
    if output == "json":
        click.echo(render_plan_json(plan), nl=False)
    elif output == "markdown":
        click.echo(render_plan_markdown(plan), nl=False)
    else:
        click.echo(render_plan_text(plan, style=styler(sys.stdout.isatty())))


COMMANDS = [plan_command, apply_command, status_command, show_plan_command]
