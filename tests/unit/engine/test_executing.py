"""The executor: dependency order, batching, isolation of failures, stopping."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from reconciler.core.live import LiveMember
from reconciler.errors import ReconcilerError
from reconciler.executing import execute
from reconciler.planning import compute_plan
from tests.unit.engine.fake_port import FakePort
from tests.unit.planning.builders import (
    ADMIN_ROLE,
    ALICE,
    BOB,
    CAROL,
    COLL,
    GROUP,
    NOW,
    grant,
    intent,
    live,
    made,
    membership,
    rule,
)

RUN = "/disthome/run42/"


def two_user_plan() -> object:
    grants = (
        grant(path=RUN + "{identity_id}/"),
        grant("bob@example.org", path=RUN + "{identity_id}/", line=2),
    )
    return compute_plan(intent(grants), live(), now=NOW)


@pytest.mark.parametrize("concurrency", [1, 8])
def test_directories_are_made_before_rules_and_parents_before_children(concurrency: int) -> None:
    port = FakePort(directories={(COLL, "/disthome/")})
    result = execute(two_user_plan(), port, concurrency=concurrency)  # type: ignore[arg-type]
    assert result.ok, result.outcomes
    order = port.calls
    assert order.index(f"mkdir {RUN}") < order.index(f"mkdir {RUN}{ALICE}/")
    assert order.index(f"mkdir {RUN}{ALICE}/") < order.index(f"create {RUN}{ALICE}/")
    assert order.index(f"mkdir {RUN}{BOB}/") < order.index(f"create {RUN}{BOB}/")
    assert len(port.rules) == 2


def test_a_failed_directory_fails_only_what_depends_on_it() -> None:
    port = FakePort(directories={(COLL, "/disthome/")}, fail_paths={f"{RUN}{ALICE}/"})
    result = execute(two_user_plan(), port, concurrency=4)  # type: ignore[arg-type]
    assert not result.ok
    failed = [o.action.path for o in result.with_status("failed")]  # type: ignore[union-attr]
    skipped = [o.action.path for o in result.with_status("skipped")]  # type: ignore[union-attr]
    assert failed == [f"{RUN}{ALICE}/"]
    assert skipped == [f"{RUN}{ALICE}/"]  # alice's rule waits for her directory
    assert "make_directory" in result.with_status("skipped")[0].detail
    assert [p for (_c, _p, p) in port.rules.values()] == [f"{RUN}{BOB}/"]


def expired_pair() -> object:
    """Alice's and Bob's grants expired: their rules go, and their directories with them."""
    grants = (
        grant(path="/disthome/a/", days=-1),
        grant("bob@example.org", path="/disthome/b/", days=-1, line=2),
    )
    rules = (
        rule(ALICE, "/disthome/a/", expires=NOW - timedelta(days=1)),
        rule(BOB, "/disthome/b/", expires=NOW - timedelta(days=1)),
    )
    lifecycle = made("/disthome/a/", "/disthome/b/")
    return compute_plan(
        intent(grants), live((ADMIN_ROLE, *rules)), now=NOW, lifecycle=lifecycle
    ), rules


def test_directory_removal_waits_for_its_rule_and_is_one_task_per_collection() -> None:
    plan, strays = expired_pair()  # type: ignore[misc]
    port = FakePort(rules={r.id: (COLL, r.principal, r.path) for r in strays if r.id})
    result = execute(plan, port, concurrency=4)
    assert result.ok
    assert port.delete_tasks == [(COLL, ("/disthome/a/", "/disthome/b/"))]
    assert port.calls[-1].startswith("delete-task")


def test_directory_is_kept_when_its_rule_could_not_be_deleted() -> None:
    plan, _strays = expired_pair()  # type: ignore[misc]
    port = FakePort(fail_paths={"/disthome/a/"})
    result = execute(plan, port)
    assert not result.ok
    assert port.delete_tasks == [(COLL, ("/disthome/b/",))]
    skipped = result.with_status("skipped")
    assert [o.action.path for o in skipped] == ["/disthome/a/"]  # type: ignore[union-attr]
    assert skipped[0].action.kind == "remove_directory"


def pruned_pair() -> object:
    """Two rules no spec asks for (a third stays), with a state store to schedule in."""
    strays = (rule(ALICE, "/disthome/a/"), rule(BOB, "/disthome/b/"))
    kept = rule(CAROL, f"/disthome/{CAROL}/")
    return compute_plan(
        intent((grant(CAROL),)),
        live((ADMIN_ROLE, *strays, kept)),
        now=NOW,
        lifecycle=made("/disthome/a/", "/disthome/b/"),
    )


@pytest.mark.parametrize("concurrency", [1, 8])
def test_a_pruned_rule_is_deleted_only_after_its_directory_removal_is_scheduled(
    concurrency: int,
) -> None:
    port = FakePort()
    result = execute(pruned_pair(), port, concurrency=concurrency)  # type: ignore[arg-type]
    assert result.ok, result.outcomes
    for path in ("/disthome/a/", "/disthome/b/"):
        assert port.calls.index(f"schedule {path}") < port.calls.index(f"delete {path}")
    assert set(port.schedules) == {(COLL, "/disthome/a/"), (COLL, "/disthome/b/")}
    assert port.delete_tasks == []  # the data stays until the grace period is over


def test_a_rule_whose_schedule_could_not_be_recorded_is_kept() -> None:
    port = FakePort(fail_paths={"schedule /disthome/a/"})
    result = execute(pruned_pair(), port)  # type: ignore[arg-type]
    assert not result.ok
    skipped = result.with_status("skipped")
    assert [(o.action.kind, o.action.path) for o in skipped] == [  # type: ignore[union-attr]
        ("delete_rule", "/disthome/a/")
    ]
    assert "delete /disthome/a/" not in port.calls
    assert "delete /disthome/b/" in port.calls


def test_memberships_go_in_one_batch_per_group_with_per_item_errors() -> None:
    stale = LiveMember(BOB, "bob@example.org", "member", "active")
    plan = compute_plan(
        intent(
            memberships=(membership("alice@example.org"), membership("bob@example.org", days=-1))
        ),
        live(members=(stale,)),
        now=NOW,
    )
    port = FakePort(fail_paths={ALICE})
    result = execute(plan, port)
    assert port.calls == [f"batch {GROUP} +1 -1"]
    statuses = {o.action.kind: o.status for o in result.outcomes}
    assert statuses == {"add_member": "failed", "remove_member": "done"}


def test_a_pending_request_is_approved_in_the_same_batch() -> None:
    asker = LiveMember(ALICE, "alice@example.org", "member", "pending")
    plan = compute_plan(
        intent(memberships=(membership("alice@example.org"),)), live(members=(asker,)), now=NOW
    )
    port = FakePort()
    result = execute(plan, port)
    assert port.calls == [f"batch {GROUP} +0 -0 ~1"]
    assert [(o.status, o.detail) for o in result.outcomes] == [("done", "approved")]


def test_stop_event_starts_nothing_new() -> None:
    stop = threading.Event()
    stop.set()
    port = FakePort(directories={(COLL, "/disthome/")})
    result = execute(two_user_plan(), port, stop=stop)  # type: ignore[arg-type]
    assert port.calls == []
    assert {o.status for o in result.outcomes} == {"skipped"}


def test_a_blocked_plan_is_never_executed() -> None:
    plan = compute_plan(intent((grant("nobody@example.org"),)), live(), now=NOW)
    with pytest.raises(ReconcilerError):
        execute(plan, FakePort())


def test_updates_and_deletes_run_without_dependencies() -> None:
    drifted = rule(ALICE, f"/disthome/{ALICE}/", permissions="rw", expires=NOW + timedelta(days=30))
    plan = compute_plan(intent((grant(),)), live((ADMIN_ROLE, drifted)), now=NOW)
    port = FakePort()
    result = execute(plan, port)
    assert result.ok
    assert port.calls == [f"update /disthome/{ALICE}/"]
