"""``reconciler doctor``'s report: one line per check, ending with its remedy (after
``->``) when it did not pass, or the same as JSON for machines. Pure."""

from __future__ import annotations

import json
from collections.abc import Sequence

from reconciler.core.readiness import Check, checks_pass
from reconciler.rendering.text import Style, plain

MARK = {"ok": ("ok", "green"), "warn": ("WARN", "yellow"), "fail": ("FAIL", "red")}


def render_checks_text(checks: Sequence[Check], *, style: Style = plain) -> str:
    lines: list[str] = []
    for check in checks:
        mark, color = MARK[check.status]
        line = f"{style(f'{mark:>4}', color)}  {check.check:<25} {check.subject}: {check.detail}"
        if check.remedy and check.status != "ok":
            line += style(f" -> {check.remedy}", "cyan")
        lines.append(line)
    failed = sum(c.status == "fail" for c in checks)
    warned = sum(c.status == "warn" for c in checks)
    verdict = "ready" if failed == 0 else "NOT ready"
    lines.append(
        style(
            f"{verdict}: {len(checks)} checks, {failed} failed, {warned} warnings",
            "green" if failed == 0 else "red",
        )
    )
    return "\n".join(lines)


def render_checks_json(checks: Sequence[Check]) -> str:
    doc = {
        "format_version": 1,
        "ok": checks_pass(tuple(checks)),
        "checks": [
            {
                "check": c.check,
                "subject": c.subject,
                "status": c.status,
                "detail": c.detail,
                "remedy": c.remedy or None,
            }
            for c in checks
        ],
    }
    return json.dumps(doc, indent=2) + "\n"
