"""Plans as Markdown, sized for a pull-request comment."""

from __future__ import annotations

from reconciler.core.plan import Plan
from reconciler.rendering.describing import SYMBOL, TITLE, describe
from reconciler.rendering.text import describe_pending, render_summary, render_targeted

MAX_ROWS = 200  # GitHub comments are limited to 65536 characters


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_plan_markdown(plan: Plan) -> str:
    lines = ["### reconciler plan", ""]
    if plan.problems or plan.guard.tripped or plan.errors:
        lines.append("> [!CAUTION]")
        for problem in plan.problems:
            lines.append(f"> {_cell(str(problem))}")
        for error in plan.errors:
            lines.append(f"> {_cell(str(error))}")
        if plan.guard.tripped:
            lines.append(f"> {_cell(plan.guard.explanation)}")
        lines.append("")
    if plan.targets:
        lines += ["> [!WARNING]", f"> {_cell(render_targeted(plan))}", ""]
    lines.append(f"**{render_summary(plan)}**")
    lines.append("")
    if plan.actions:
        lines += ["| | action | what | why |", "|---|---|---|---|"]
        for action in plan.actions[:MAX_ROWS]:
            lines.append(
                f"| `{SYMBOL[action.kind]}` | {TITLE[action.kind]} | {_cell(describe(action))} "
                f"| {_cell(action.reason)} |"
            )
        if len(plan.actions) > MAX_ROWS:
            lines.append(f"\n… and {len(plan.actions) - MAX_ROWS} more (see `--output json`).")
        lines.append("")
    if plan.pending_removals:
        lines.append(
            f"**{len(plan.pending_removals)} directory removal(s) scheduled** (pruned grants):"
        )
        lines.append("")
        lines += [f"- {_cell(describe_pending(p, plan))}" for p in plan.pending_removals]
        lines.append("")
    if plan.notes:
        lines.append("<details><summary>Notes</summary>\n")
        lines += [f"- {_cell(note)}" for note in plan.notes]
        lines.append("\n</details>")
    return "\n".join(lines) + "\n"
