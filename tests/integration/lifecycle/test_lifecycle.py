"""The data lifecycle end to end on the sandbox: stage, grant with notification,
download, revoke, clean up, all in the journal; partial downloads keep access; failed
staging creates no rule; restarts neither duplicate a task nor re-grant."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reconciler.credentials import SANDBOX_CLIENT_ID
from reconciler.reconciling import apply_plan, fetch_plan
from reconciler.rendering.text import render_plan_text
from reconciler.state import JournalQuery, open_store
from tests.integration.engine.conftest import COLLECTION, World

SOURCE = "0b3c5e1a-9f0e-4b61-8b0a-5e7d0c2f4a11"


def distribution(*, source_path: str = "/datasets/run42/", revoke: bool = True) -> str:
    return f"""
distributions:
  - name: run42
    collection: tutorial
    path: /disthome/run42/{{identity_id}}/
    stage: {{collection: {SOURCE}, path: {source_path}}}
    grants:
      - identity: alice@example.org
        expires: 2027-06-30
        notify: true
        revoke_after_download: {"true" if revoke else "false"}
"""


def apply(world: World) -> str:
    result = world.cli("apply", "--sandbox", "--auto-approve", str(world.specs))
    assert result.exit_code == 0, result.output + result.stderr
    return result.output


def history(world: World) -> list[str]:
    result = world.cli("history", "--sandbox", "--output", "json")
    assert result.exit_code == 0, result.output
    return [e["event"] for e in json.loads(result.output)["entries"] if e["status"] == "done"]


def transfer_tasks(world: World) -> list[dict[str, object]]:
    """The staging tasks the reconciler submitted (simulated downloads are tasks too)."""
    return [
        t
        for t in world.control.dump()["tasks"]
        if t["type"] == "TRANSFER" and str(t.get("label", "")).startswith("reconciler staging")
    ]


@pytest.fixture
def alice_dir(world: World) -> str:
    return f"/disthome/run42/{world.identity('alice@example.org')}/"


def test_stage_grant_download_revoke_cleanup(world: World, alice_dir: str) -> None:
    world.write("run42.yaml", distribution())

    first = apply(world)
    assert "stage data" in first
    assert "create rule" not in first  # nobody is notified of an empty directory
    assert world.rules() == []
    assert len(transfer_tasks(world)) == 1

    waiting = apply(world)  # the task is still running on sandbox time
    assert "waiting for staging task" in waiting
    assert world.rules() == []

    world.control.advance_clock(10)
    granted = apply(world)
    assert "create rule" in granted
    (rule,) = world.rules()
    assert rule["path"] == alice_dir
    assert [n["email"] for n in world.control.notifications()] == ["alice@example.org"]
    staged = {p for p in world.directories() if p.startswith(alice_dir)}
    assert len(staged) >= 1

    world.control.advance_clock(5)
    world.control.simulate_download("alice@example.org", COLLECTION, alice_dir)
    revoked = apply(world)
    assert "consumed" in revoked
    assert world.rules() == []
    world.control.advance_clock(10)
    assert alice_dir not in world.directories()

    again = apply(world)
    assert "No changes" in again
    assert world.rules() == []
    assert len(transfer_tasks(world)) == 1

    events = history(world)
    for expected in (
        "make_directory",
        "stage_data",
        "staging_succeeded",
        "create_rule",
        "consumed",
        "delete_rule",
        "remove_directory",
    ):
        assert expected in events, events
    assert events.index("stage_data") < events.index("create_rule") < events.index("consumed")
    alices = world.cli(
        "history", "--sandbox", "--principal", "alice@example.org", "--output", "json"
    )
    mine = [e["event"] for e in json.loads(alices.output)["entries"]]
    assert {"stage_data", "create_rule", "consumed", "delete_rule", "remove_directory"} <= set(mine)


def test_partial_download_keeps_access(world: World, alice_dir: str) -> None:
    world.write("run42.yaml", distribution())
    apply(world)
    world.control.advance_clock(10)
    apply(world)
    assert len(world.rules()) == 1
    world.control.advance_clock(5)
    world.control.simulate_download("alice@example.org", COLLECTION, alice_dir, count=1)
    apply(world)
    assert len(world.rules()) == 1
    assert "consumed" not in history(world)


def test_failed_staging_creates_no_rule_and_is_retried_later(
    world: World, seeded: Callable[[], None], tmp_path: Path
) -> None:
    world.write("run42.yaml", distribution())
    seeded()
    # Without read access to the source, the staging task fails when it runs.
    world.control.revoke_role("access_manager", SANDBOX_CLIENT_ID, collection_id=SOURCE)
    store = open_store(tmp_path / "state.db")
    clients = world.clients()
    try:
        now = datetime.now(UTC)
        plan, _ = fetch_plan(clients, world.intent(), now=now, store=store)
        assert [a.kind for a in plan.actions] == ["make_directory", "make_directory", "stage_data"]
        assert apply_plan(clients, plan, store=store).ok
        world.control.advance_clock(10)

        plan, _ = fetch_plan(clients, world.intent(), now=now, store=store)
        assert plan.actions == ()
        (note,) = [n for n in plan.notes if "staging into" in n]
        (https,) = [n for n in plan.notes if "over HTTPS" in n]  # revoke_after_download's limit
        assert "ends at its expiry" in https
        assert "failed" in note
        assert "attempt 2 after" in note
        assert world.rules() == []
        events = [e.event for e in store.read_journal(JournalQuery())]
        assert "staging_failed" in events

        # After the backoff, staging is tried again (and still no rule before it succeeds).
        retry, _ = fetch_plan(clients, world.intent(), now=now + timedelta(minutes=5), store=store)
        assert [a.kind for a in retry.actions] == ["stage_data"]
    finally:
        clients.close()
        store.close()


def test_restart_at_each_step_changes_nothing_twice(world: World, alice_dir: str) -> None:
    """Every CLI run is a fresh process on the same state store: re-running at each
    step must not submit a second task nor re-grant a consumed grant."""
    world.write("run42.yaml", distribution())
    for _ in range(3):
        apply(world)
    assert len(transfer_tasks(world)) == 1
    world.control.advance_clock(10)
    for _ in range(2):
        apply(world)
    assert len(world.rules()) == 1
    world.control.advance_clock(5)
    world.control.simulate_download("alice@example.org", COLLECTION, alice_dir)
    for _ in range(3):
        apply(world)
    assert world.rules() == []
    assert len(transfer_tasks(world)) == 1
    assert history(world).count("create_rule") == 1


def test_missing_activity_monitor_role_is_a_located_error_not_a_crash(
    world: World, seeded: Callable[[], None], alice_dir: str, tmp_path: Path
) -> None:
    world.write("run42.yaml", distribution())
    seeded()
    store = open_store(tmp_path / "state.db")
    clients = world.clients()
    try:
        for _ in range(2):  # stage, then grant
            plan, _ = fetch_plan(clients, world.intent(), now=datetime.now(UTC), store=store)
            assert apply_plan(clients, plan, store=store).ok
            world.control.advance_clock(10)
        assert [r["path"] for r in world.rules()] == [alice_dir]
        world.control.revoke_role("activity_monitor", SANDBOX_CLIENT_ID, collection_id=COLLECTION)

        plan, _ = fetch_plan(clients, world.intent(), now=datetime.now(UTC), store=store)
    finally:
        clients.close()
        store.close()
    assert not plan.blocked  # the rest of the pass still converges
    (error,) = plan.errors
    assert str(error.origin).startswith(str(world.specs / "run42.yaml"))
    assert "activity_monitor role" in error.message
    text = render_plan_text(plan)
    assert f"error: {error.origin}: cannot read who downloaded what" in text
    assert len(world.rules()) == 1


def _pass(world: World, store: object, *, at: datetime) -> object:
    clients = world.clients()
    try:
        plan, _ = fetch_plan(clients, world.intent(at), now=at, store=store)  # type: ignore[arg-type]
        assert not plan.blocked, plan.problems
        assert apply_plan(clients, plan, store=store).ok  # type: ignore[arg-type]
        return plan
    finally:
        clients.close()


def test_a_grant_extended_after_its_cleanup_is_staged_again(
    world: World, seeded: Callable[[], None], alice_dir: str, tmp_path: Path
) -> None:
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    world.write("run42.yaml", distribution(revoke=False).replace("2027-06-30", soon.isoformat()))
    seeded()
    store = open_store(tmp_path / "state.db")
    now = datetime.now(UTC)
    _pass(world, store, at=now)  # stage
    world.control.advance_clock(10)
    _pass(world, store, at=now)  # grant
    assert len(world.rules()) == 1
    expired = _pass(world, store, at=soon)  # revoke and clean up
    assert [a.kind for a in expired.actions] == ["delete_rule", "remove_directory"]
    world.control.advance_clock(10)
    world.write("run42.yaml", distribution(revoke=False))  # extended to 2027-06-30
    again = _pass(world, store, at=soon)  # the removal is finished: stage again first
    assert "stage_data" in [a.kind for a in again.actions]
    assert "create_rule" not in [a.kind for a in again.actions]
    store.close()


def test_a_failed_download_check_is_tried_again(
    world: World, seeded: Callable[[], None], alice_dir: str, tmp_path: Path
) -> None:
    world.write("run42.yaml", distribution())
    seeded()
    store = open_store(tmp_path / "state.db")
    now = datetime.now(UTC)
    _pass(world, store, at=now)
    world.control.advance_clock(10)
    _pass(world, store, at=now)
    world.control.advance_clock(5)
    world.control.simulate_download("alice@example.org", COLLECTION, alice_dir)
    world.control.inject_fault(
        path=r"/operation/endpoint/.*/ls", method="GET", status=503, times=50
    )
    clients = world.clients()
    try:
        plan, _ = fetch_plan(clients, world.intent(), now=now, store=store)
        assert plan.errors  # the listing failed: reported, not a crash
        world.control.clear_faults()
        plan, _ = fetch_plan(clients, world.intent(), now=now, store=store)
    finally:
        clients.close()
    assert "consumed" in plan.actions[0].reason
    store.close()


def test_an_unreadable_staging_task_is_staged_again_not_a_failed_pass(
    world: World, seeded: Callable[[], None], alice_dir: str, tmp_path: Path
) -> None:
    world.write("run42.yaml", distribution())
    seeded()
    store = open_store(tmp_path / "state.db")
    alice = world.identity("alice@example.org")
    key = (COLLECTION, "identity", alice, alice_dir)
    store.reserve_staging(
        key,
        SOURCE,
        "/datasets/run42/",
        "0" * 8 + "-0000-4000-8000-" + "0" * 12,
        now=datetime.now(UTC),
    )
    store.record_staging(
        key, "submitted", task_id="11111111-2222-4333-8444-555555555555", now=datetime.now(UTC)
    )
    clients = world.clients()
    try:
        plan, _ = fetch_plan(clients, world.intent(), now=datetime.now(UTC), store=store)
    finally:
        clients.close()
    assert not plan.blocked
    assert any("unreadable" in n for n in plan.notes)  # failed, retried after the backoff
    assert "staging_failed" in [e.event for e in store.read_journal(JournalQuery())]
    store.close()
