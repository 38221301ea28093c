"""What ``reconciler apply --output json`` prints: the plan, whether it was applied, and
the outcome of every action. Pure. The shape is documented in docs/plan-json.md."""

from __future__ import annotations

import json

from reconciler.core.plan import Plan
from reconciler.executing import ApplyResult
from reconciler.plan_codec import FORMAT_VERSION, action_to_json, plan_to_json


def render_apply_json(plan: Plan, result: ApplyResult | None, *, refused: str | None) -> str:
    """``result`` is None when nothing was carried out: no changes, or ``refused`` (why)."""
    outcomes = result.outcomes if result is not None else ()
    counts = {
        status: sum(1 for o in outcomes if o.status == status)
        for status in ("done", "failed", "skipped")
    }
    document = {
        "format_version": FORMAT_VERSION,
        "applied": result is not None,
        "ok": refused is None and not plan.errors and (result is None or result.ok),
        "refused": refused,
        "summary": counts,
        "outcomes": [
            {"status": o.status, "detail": o.detail, "action": action_to_json(o.action)}
            for o in outcomes
        ],
        "plan": plan_to_json(plan),
    }
    return json.dumps(document, indent=2) + "\n"
