"""A run killed between scheduling a pruned grant's directory removal and deleting its
rule (or right after) never leads to an early deletion: the schedule is in the state
store before the rule's deletion is even attempted, and its date never moves."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reconciler.core.actions import DeleteRule
from reconciler.core.live import LiveState
from reconciler.executing import execute
from reconciler.planning import compute_plan
from reconciler.recording import RecordingPort
from reconciler.state import StateStore, open_store
from tests.unit.engine.fake_port import FakePort
from tests.unit.planning.builders import (
    ADMIN_ROLE,
    ALICE,
    BOB,
    COLL,
    NOW,
    grant,
    intent,
    live,
    rule,
)

BOBS = "/disthome/bob/"
ALICE_RULE = rule(ALICE, f"/disthome/{ALICE}/", expires=NOW + timedelta(days=30))
BOB_RULE = rule(BOB, BOBS)


class DiesAtDelete(FakePort):
    """Globus as far as the executor can tell, until the process dies mid-deletion."""

    def delete_rule(self, action: DeleteRule) -> bool:
        raise SystemExit("killed")  # what SIGKILL leaves: nothing after this point


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    opened = open_store(tmp_path / "state.db")
    opened.record_made_directory(COLL, BOBS, now=NOW)  # bob's directory is the reconciler's
    try:
        yield opened
    finally:
        opened.close()


def plan_at(store: StateStore, state: LiveState, *, after: timedelta) -> object:
    return compute_plan(
        intent((grant(),)), state, now=NOW + after, lifecycle=store.load_lifecycle()
    )


def test_a_kill_at_the_rule_deletion_leaves_the_schedule_and_its_date(store: StateStore) -> None:
    before = live((ADMIN_ROLE, ALICE_RULE, BOB_RULE))
    first = plan_at(store, before, after=timedelta(0))
    assert [a.kind for a in first.actions] == ["schedule_removal", "delete_rule"]  # type: ignore[attr-defined]
    dying = RecordingPort(DiesAtDelete(), store, clock=lambda: datetime.now(UTC))
    with pytest.raises(SystemExit):
        execute(first, dying, concurrency=1)  # type: ignore[arg-type]
    (kept,) = store.load_lifecycle().scheduled_removals.values()
    assert (kept.path, kept.due) == (BOBS, NOW + timedelta(days=7))

    # The next run, an hour later: the rule is deleted, the directory still waits for the
    # date recorded first (never pushed back, never brought forward).
    second = plan_at(store, before, after=timedelta(hours=1))
    assert [a.kind for a in second.actions] == ["delete_rule"]  # type: ignore[attr-defined]
    port = FakePort(rules={BOB_RULE.id or "": (COLL, BOB, BOBS)})
    assert execute(second, RecordingPort(port, store, clock=lambda: NOW)).ok  # type: ignore[arg-type]
    assert port.delete_tasks == []

    after = live((ADMIN_ROLE, ALICE_RULE))
    waiting = plan_at(store, after, after=timedelta(days=7) - timedelta(seconds=1))
    assert waiting.actions == ()  # type: ignore[attr-defined]
    due = plan_at(store, after, after=timedelta(days=7))
    assert [(a.kind, a.path) for a in due.actions] == [("remove_directory", BOBS)]  # type: ignore[attr-defined]


def test_a_schedule_is_forgotten_only_once_the_directory_is_gone(store: StateStore) -> None:
    after = live((ADMIN_ROLE, ALICE_RULE))
    first = plan_at(store, live((ADMIN_ROLE, ALICE_RULE, BOB_RULE)), after=timedelta(0))
    port = FakePort(rules={BOB_RULE.id or "": (COLL, BOB, BOBS)})
    assert execute(first, RecordingPort(port, store, clock=lambda: NOW)).ok  # type: ignore[arg-type]
    due = plan_at(store, after, after=timedelta(days=8))
    assert execute(due, RecordingPort(port, store, clock=lambda: NOW)).ok  # type: ignore[arg-type]
    assert port.delete_tasks == [(COLL, (BOBS,))]
    # While the delete task runs the schedule stays; a failed task keeps it too.
    store.finish_removal(COLL, BOBS, succeeded=False)
    assert (COLL, BOBS) in store.load_lifecycle().scheduled_removals
    store.finish_removal(COLL, BOBS, succeeded=True)
    assert store.load_lifecycle().scheduled_removals == {}
