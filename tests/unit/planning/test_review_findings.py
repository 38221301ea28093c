"""Regressions for the findings of a review of planning and execution (one test each)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from reconciler.core.actions import MakeDirectory, RemoveDirectory
from reconciler.core.lifecycle import Lifecycle
from reconciler.executing import execute
from reconciler.planning import compute_plan
from reconciler.state import open_store
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
    made,
    rule,
)


def test_a_grant_directory_that_is_also_a_parent_is_recorded_as_a_grant_directory() -> None:
    grants = (
        grant("bob@example.org", path="/disthome/a/"),
        grant("alice@example.org", path="/disthome/a/b/", line=2),
    )
    plan = compute_plan(intent(grants), live(), now=NOW)
    made = {a.path: a.grant_directory for a in plan.actions if isinstance(a, MakeDirectory)}
    assert made == {"/disthome/a/": True, "/disthome/a/b/": True}


def test_a_revoked_grant_that_keeps_its_directory_protects_it_from_a_parents_cleanup() -> None:
    outer = grant("bob@example.org", path="/disthome/a/", days=-1, cleanup=True)
    inner = grant("alice@example.org", path="/disthome/a/b/", days=-1, cleanup=False, line=2)
    rules = (ADMIN_ROLE, rule(BOB, "/disthome/a/"), rule(ALICE, "/disthome/a/b/"))
    plan = compute_plan(intent((outer, inner)), live(rules), now=NOW)
    assert [a.kind for a in plan.actions] == ["delete_rule", "delete_rule"]


def test_a_failed_rule_deletion_below_keeps_the_parent_directory() -> None:
    outer = grant("bob@example.org", path="/disthome/a/", days=-1)
    inner = grant("alice@example.org", path="/disthome/a/b/", days=-1, line=2)
    rules = (ADMIN_ROLE, rule(BOB, "/disthome/a/"), rule(ALICE, "/disthome/a/b/"))
    both = made("/disthome/a/", "/disthome/a/b/")
    plan = compute_plan(intent((outer, inner)), live(rules), now=NOW, lifecycle=both)
    assert {a.path for a in plan.actions if isinstance(a, RemoveDirectory)} == {
        "/disthome/a/",
        "/disthome/a/b/",
    }
    port = FakePort(fail_paths={"/disthome/a/b/"})
    result = execute(plan, port)
    assert port.delete_tasks == []  # /a/ would take /a/b/ along; /a/b/ is still granted
    assert {o.action.path for o in result.with_status("skipped")} == {  # type: ignore[union-attr]
        "/disthome/a/",
        "/disthome/a/b/",
    }


def test_nothing_is_granted_in_a_directory_whose_removal_is_under_way() -> None:
    removing = Lifecycle(
        removing_directories=frozenset({(COLL, f"/disthome/{ALICE}/")}),
        made_directories=frozenset({(COLL, f"/disthome/{ALICE}/")}),
    )
    plan = compute_plan(intent((grant(),)), live(), now=NOW, lifecycle=removing)
    assert plan.actions == ()
    assert any("waiting for the removal of" in note for note in plan.notes)
    assert plan.next_check == NOW + timedelta(seconds=10)
    # and an expired grant whose directory is being removed is not removed twice
    expired = compute_plan(intent((grant(days=-1),)), live(), now=NOW, lifecycle=removing)
    assert expired.actions == ()


def test_a_removed_directory_forgets_what_was_staged_or_downloaded_there(tmp_path: Path) -> None:
    store = open_store(tmp_path / "state.db")
    key = (COLL, "identity", ALICE, f"/disthome/run/{ALICE}/")
    store.reserve_staging(key, "src", "/data/", "sub-1", now=NOW)
    store.record_staging(key, "succeeded", now=NOW)
    store.add_downloaded_files(key, ["f1"])
    # a second process with a stale plan reuses the id (Globus runs it once)
    assert store.reserve_staging(key, "src", "/data/", "sub-2", now=NOW) == "sub-1"
    store.record_removal(COLL, ["/disthome/run/"], "task-9", now=NOW)
    assert store.load_lifecycle().stagings == {}
    assert store.downloaded_files(key) == set()
    assert store.load_lifecycle().removing_directories == {(COLL, "/disthome/run/")}
    assert store.reserve_staging(key, "src", "/data/", "sub-3", now=NOW) == "sub-3"
    store.close()


def test_expired_grant_outside_removal_still_cleans() -> None:
    made = Lifecycle(made_directories=frozenset({(COLL, f"/disthome/{ALICE}/")}))
    plan = compute_plan(intent((replace(grant(), expires=NOW),)), live(), now=NOW, lifecycle=made)
    assert [a.kind for a in plan.actions] == ["remove_directory"]
