"""Saved plans read back identically; broken files give a clear error."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from reconciler.core.lifecycle import ScheduledRemoval
from reconciler.core.live import LiveMember
from reconciler.plan_codec import PlanFileError, plan_from_json, render_plan_json
from reconciler.planning import compute_plan
from reconciler.rendering.markdown import render_plan_markdown
from reconciler.rendering.text import render_plan_text
from tests.unit.planning.builders import (
    ADMIN_ROLE,
    ALICE,
    BOB,
    COLL,
    NOW,
    grant,
    intent,
    live,
    made,
    membership,
    rule,
)


def busy_plan() -> object:
    """Every kind of action, and a removal waiting out its grace period."""
    drifted = rule(ALICE, f"/disthome/{ALICE}/", permissions="rw", expires=NOW + timedelta(days=3))
    stray = rule(BOB, "/disthome/stray/")
    leaving = LiveMember(BOB, "bob@example.org", "member", "active")

    def scheduled(path: str, due: timedelta) -> ScheduledRemoval:
        return ScheduledRemoval(COLL, path, NOW + due, "identity", BOB, "bob@example.org")

    schedules = [
        scheduled("/disthome/old/", -timedelta(hours=1)),  # due: removed now
        scheduled("/disthome/later/", timedelta(days=2)),  # still waiting
        scheduled(f"/disthome/{ALICE}/", timedelta(days=2)),  # wanted again: cancelled
    ]
    return compute_plan(
        intent(
            (grant(), grant("bob@example.org", path="/disthome/new/{identity_id}/", notify=True)),
            (membership("alice@example.org"), membership("bob@example.org", days=-1)),
        ),
        live((ADMIN_ROLE, drifted, stray), (leaving,)),
        now=NOW,
        lifecycle=made(
            "/disthome/stray/",
            *(s.path for s in schedules),
            scheduled_removals={(s.collection_id, s.path): s for s in schedules},
        ),
    )


def test_round_trip_preserves_every_action() -> None:
    plan = busy_plan()
    kinds = {a.kind for a in plan.actions}  # type: ignore[attr-defined]
    assert kinds == {
        "schedule_removal",
        "cancel_removal",
        "update_rule",
        "delete_rule",
        "remove_directory",
        "make_directory",
        "create_rule",
        "add_member",
        "remove_member",
    }
    assert [p.path for p in plan.pending_removals] == ["/disthome/later/"]  # type: ignore[attr-defined]
    assert plan_from_json(render_plan_json(plan)) == plan  # type: ignore[arg-type]


def test_a_plan_saved_before_a_field_existed_reads_with_its_default() -> None:
    plan = busy_plan()
    doc = json.loads(render_plan_json(plan))  # type: ignore[arg-type]
    for action in doc["actions"]:
        action.pop("approve", None)
    assert plan_from_json(json.dumps(doc)) == plan


@pytest.mark.parametrize(
    "text",
    ["", "[]", "{}", json.dumps({"format_version": 99}), "{not json"],
)
def test_broken_plan_files_are_refused_clearly(text: str) -> None:
    with pytest.raises(PlanFileError):
        plan_from_json(text)


def test_text_and_markdown_show_every_action_with_its_reason() -> None:
    plan = busy_plan()
    text = render_plan_text(plan)  # type: ignore[arg-type]
    markdown = render_plan_markdown(plan)  # type: ignore[arg-type]
    for action in plan.actions:  # type: ignore[attr-defined]
        assert action.reason in text
        assert action.reason.replace("|", "\\|") in markdown
    assert "Plan: 10 change(s)" in text
    assert "| `+` | create rule |" in markdown
    assert "| `~` | schedule removal |" in markdown
    waiting = "petrel:/disthome/later/ (was identity:bob@example.org) is removed at 2026-11-28"
    assert f"scheduled: {waiting}" in text
    assert waiting in markdown
