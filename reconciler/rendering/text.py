"""Human-readable plans and results, like Terraform's: a symbol, what, and why."""

from __future__ import annotations

from collections.abc import Callable

from reconciler.core.plan import PendingRemoval, Plan
from reconciler.executing import ApplyResult
from reconciler.rendering.describing import SYMBOL, TITLE, describe, format_time, time_left

Style = Callable[[str, str], str]
"""(text, color) -> text; the CLI passes click.style on a terminal, identity otherwise."""

COLOR = {"+": "green", "~": "yellow", "-": "red"}


def describe_pending(pending: PendingRemoval, plan: Plan) -> str:
    """A waiting removal of a pruned grant's directory, and when it will happen."""
    whose = f" (was {pending.principal})" if pending.principal is not None else ""
    return (
        f"{pending.collection}:{pending.path}{whose} is removed at {format_time(pending.due)} "
        f"({time_left(pending.due, plan.now)} left) unless a spec asks for it again"
    )


def plain(text: str, _color: str) -> str:
    return text


def render_plan_text(plan: Plan, *, style: Style = plain) -> str:
    lines: list[str] = []
    for problem in plan.problems:
        lines.append(style(f"error: {problem}", "red"))
    for error in plan.errors:
        lines.append(style(f"error: {error}", "red"))
    if plan.guard.tripped:
        lines.append(style(f"refused: {plan.guard.explanation}", "red"))
    for action in plan.actions:
        symbol = SYMBOL[action.kind]
        head = style(f"  {symbol} {TITLE[action.kind]:<16}", COLOR[symbol])
        lines.append(f"{head} {describe(action)}")
        lines.append(style(f"      because {action.reason}", "bright_black"))
    for note in plan.notes:
        lines.append(style(f"note: {note}", "cyan"))
    for pending in plan.pending_removals:
        lines.append(style(f"scheduled: {describe_pending(pending, plan)}", "cyan"))
    if plan.targets:
        lines.append(style(f"warning: {render_targeted(plan)}", "yellow"))
    lines.append(render_summary(plan))
    return "\n".join(lines)


def render_summary(plan: Plan) -> str:
    if not plan.actions:
        status = "No changes. Globus matches the specs."
    else:
        counts = plan.counts()
        parts = [f"{n} {TITLE[kind]}" for kind, n in counts.items()]
        status = f"Plan: {len(plan.actions)} change(s): " + ", ".join(parts) + "."
    if plan.blocked:
        status += " This plan is BLOCKED and will not be applied."
    return status


def render_targeted(plan: Plan) -> str:
    return (
        f"this plan is limited to {', '.join(plan.targets)} (--target): changes elsewhere "
        "are not shown and not made; run without --target to converge everything"
    )


def render_result_text(result: ApplyResult, *, style: Style = plain) -> str:
    done = len(result.with_status("done"))
    failed = result.with_status("failed")
    skipped = result.with_status("skipped")
    lines = [
        style(f"  x {TITLE[o.action.kind]} {describe(o.action)}: {o.detail}", "red") for o in failed
    ]
    lines += [
        style(f"  - {TITLE[o.action.kind]} {describe(o.action)}: {o.detail}", "yellow")
        for o in skipped
    ]
    summary = f"Apply: {done} done, {len(failed)} failed, {len(skipped)} skipped."
    lines.append(style(summary, "green" if result.ok else "red"))
    return "\n".join(lines)
