"""Access may end at once; data is deleted only on purpose (design semantics 12).

A pruned grant's rule goes now, its directory only once ``policy.prune_grace`` has
passed since the schedule was recorded; a grant that comes back first keeps its data.
Expired and consumed grants keep their immediate cleanup."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from reconciler.core.actions import (
    CancelRemoval,
    Principal,
    RemoveDirectory,
    ScheduleRemoval,
)
from reconciler.core.lifecycle import Lifecycle, ScheduledRemoval
from reconciler.core.plan import Plan
from reconciler.planning import compute_plan
from tests.unit.planning.builders import (
    ADMIN_ROLE,
    ALICE,
    BOB,
    COLL,
    NOW,
    collection,
    grant,
    intent,
    live,
    made,
    rule,
)

MINE = f"/disthome/{ALICE}/"
BOBS = "/disthome/bob/"
ALICE_RULE = rule(ALICE, MINE, expires=NOW + timedelta(days=30))
BOB_RULE = rule(BOB, BOBS)


def scheduled(path: str, due_in: timedelta, *, who: str = BOB) -> Lifecycle:
    """A removal scheduled for ``path``, a directory the reconciler made."""
    entry = ScheduledRemoval(COLL, path, NOW + due_in, "identity", who, "bob@example.org")
    return made(path, scheduled_removals={(COLL, path): entry})


def kinds(plan: Plan) -> list[tuple[str, str]]:
    return [(a.kind, getattr(a, "path", "")) for a in plan.actions]


def test_a_pruned_rule_goes_now_and_its_directory_is_scheduled_first() -> None:
    plan = compute_plan(
        intent((grant(),)),
        live((ADMIN_ROLE, ALICE_RULE, BOB_RULE)),
        now=NOW,
        lifecycle=made(BOBS),
    )
    assert kinds(plan) == [("schedule_removal", BOBS), ("delete_rule", BOBS)]
    schedule = plan.actions[0]
    assert isinstance(schedule, ScheduleRemoval)
    assert schedule.due == NOW + timedelta(days=7)
    assert schedule.principal == Principal("identity", BOB, "")
    assert "policy.prune_grace (7d)" in schedule.reason
    assert plan.next_check == schedule.due  # the daemon wakes to remove it


def test_the_grace_comes_from_the_collection_policy() -> None:
    hour = replace(
        intent((grant(),)), collections=(replace(collection(), prune_grace=timedelta(hours=1)),)
    )
    plan = compute_plan(
        hour, live((ADMIN_ROLE, ALICE_RULE, BOB_RULE)), now=NOW, lifecycle=made(BOBS)
    )
    assert plan.actions[0].due == NOW + timedelta(hours=1)  # type: ignore[union-attr]


def test_without_a_state_store_a_pruned_directory_is_never_removed() -> None:
    plan = compute_plan(intent((grant(),)), live((ADMIN_ROLE, ALICE_RULE, BOB_RULE)), now=NOW)
    assert kinds(plan) == [("delete_rule", BOBS)]
    assert any("without a state store" in note for note in plan.notes)


def test_a_scheduled_directory_waits_out_its_grace_then_is_removed() -> None:
    waiting = compute_plan(
        intent((grant(),)),
        live((ADMIN_ROLE, ALICE_RULE)),
        now=NOW,
        lifecycle=scheduled(BOBS, timedelta(days=3)),
    )
    assert waiting.actions == ()  # converged: nothing to do but wait
    assert [(p.path, p.due) for p in waiting.pending_removals] == [(BOBS, NOW + timedelta(days=3))]
    assert waiting.next_check == NOW + timedelta(days=3)

    due = compute_plan(
        intent((grant(),)),
        live((ADMIN_ROLE, ALICE_RULE)),
        now=NOW + timedelta(days=3),
        lifecycle=scheduled(BOBS, timedelta(days=3)),
    )
    assert kinds(due) == [("remove_directory", BOBS)]
    removal = due.actions[0]
    assert isinstance(removal, RemoveDirectory)
    assert removal.pruned
    assert "grace period ended" in removal.reason
    assert removal.principal == Principal("identity", BOB, "bob@example.org")
    assert due.pending_removals == ()
    assert not due.guard.tripped  # removing data after the grace is not a prune


def test_a_rule_still_there_keeps_its_schedule_date() -> None:
    """A run that stopped after recording the schedule but before deleting the rule."""
    plan = compute_plan(
        intent((grant(),)),
        live((ADMIN_ROLE, ALICE_RULE, BOB_RULE)),
        now=NOW,
        lifecycle=scheduled(BOBS, timedelta(days=6)),
    )
    assert kinds(plan) == [("delete_rule", BOBS)]
    assert [p.due for p in plan.pending_removals] == [NOW + timedelta(days=6)]


def test_a_grant_that_comes_back_in_time_keeps_its_directory() -> None:
    back = grant("bob@example.org", path=BOBS, line=2)
    waiting = scheduled(BOBS, timedelta(days=3))
    plan = compute_plan(
        intent((grant(), back)), live((ADMIN_ROLE, ALICE_RULE)), now=NOW, lifecycle=waiting
    )
    # No mkdir (the directory is still there), the rule again, the schedule dropped.
    assert kinds(plan) == [("cancel_removal", BOBS), ("create_rule", BOBS)]
    cancel = plan.actions[0]
    assert isinstance(cancel, CancelRemoval)
    assert "a grant in force uses it" in cancel.reason
    # Also when its rule was never deleted (the deletion failed).
    plan = compute_plan(
        intent((grant(), back)),
        live((ADMIN_ROLE, ALICE_RULE, rule(BOB, BOBS, expires=back.expires))),
        now=NOW,
        lifecycle=waiting,
    )
    assert kinds(plan) == [("cancel_removal", BOBS)]


def test_a_new_grant_below_a_scheduled_directory_cancels_it() -> None:
    below = grant("bob@example.org", path=BOBS + "sub/", line=2)
    plan = compute_plan(
        intent((grant(), below)),
        live((ADMIN_ROLE, ALICE_RULE)),
        now=NOW,
        lifecycle=scheduled(BOBS, -timedelta(days=1)),
    )
    assert ("cancel_removal", BOBS) in kinds(plan)
    assert "remove_directory" not in [k for k, _ in kinds(plan)]


def test_turning_cleanup_off_cancels_a_schedule() -> None:
    plan = compute_plan(
        intent((grant(),), cleanup=False),
        live((ADMIN_ROLE, ALICE_RULE)),
        now=NOW,
        lifecycle=scheduled(BOBS, -timedelta(days=1)),
    )
    assert kinds(plan) == [("cancel_removal", BOBS)]
    assert "policy.cleanup is off" in plan.actions[0].reason


def test_a_schedule_outside_the_root_is_dropped_never_carried_out() -> None:
    moved = replace(intent((grant(),)), collections=(collection(root="/elsewhere/"),))
    plan = compute_plan(
        moved, live((ADMIN_ROLE,)), now=NOW, lifecycle=scheduled(BOBS, -timedelta(days=1))
    )
    assert ("cancel_removal", BOBS) in kinds(plan)
    assert "remove_directory" not in [k for k, _ in kinds(plan)]


def test_an_unclaimed_directory_the_reconciler_made_waits_out_the_grace_too() -> None:
    plan = compute_plan(
        intent((grant(),)), live((ADMIN_ROLE, ALICE_RULE)), now=NOW, lifecycle=made(BOBS)
    )
    assert kinds(plan) == [("schedule_removal", BOBS)]
    assert plan.actions[0].principal is None  # type: ignore[union-attr]


def test_expired_and_pruned_on_one_directory_wait_for_the_grace() -> None:
    """Any pruned grant on a directory protects it for the grace period."""
    shared = "/disthome/shared/"
    expired = grant(path=shared, days=-1)
    plan = compute_plan(
        intent((expired,)),
        live(
            (
                ADMIN_ROLE,
                rule(ALICE, shared, expires=NOW - timedelta(days=1)),
                rule(BOB, shared),
            )
        ),
        now=NOW,
        lifecycle=made(shared),
    )
    assert sorted(kinds(plan)) == [
        ("delete_rule", shared),
        ("delete_rule", shared),
        ("schedule_removal", shared),
    ]


def test_an_expired_parent_waits_for_a_pruned_child_below_it() -> None:
    """A recursive delete of the parent would take the child's data before its grace."""
    parent = grant(path="/disthome/a/", days=-1)
    plan = compute_plan(
        intent((parent,)),
        live(
            (
                ADMIN_ROLE,
                rule(ALICE, "/disthome/a/", expires=NOW - timedelta(days=1)),
                rule(BOB, "/disthome/a/b/"),
            )
        ),
        now=NOW,
        lifecycle=made("/disthome/a/", "/disthome/a/b/"),
    )
    assert sorted(kinds(plan)) == [
        ("delete_rule", "/disthome/a/"),
        ("delete_rule", "/disthome/a/b/"),
        ("schedule_removal", "/disthome/a/b/"),
    ]


def test_expiry_still_removes_the_directory_at_once() -> None:
    expired = rule(ALICE, MINE, expires=NOW - timedelta(days=1))
    plan = compute_plan(
        intent((grant(days=-1),)), live((ADMIN_ROLE, expired)), now=NOW, lifecycle=made(MINE)
    )
    assert kinds(plan) == [("delete_rule", MINE), ("remove_directory", MINE)]
    assert not plan.actions[1].pruned  # type: ignore[union-attr]


def test_a_kept_directory_below_a_removed_one_keeps_the_parent_too() -> None:
    """A revoked grant with ``cleanup: false`` below an expired one: the parent's
    recursive delete would take the kept directory along, rule or no rule."""
    parent = grant(path="/disthome/a/", days=-1)
    kept = grant("bob@example.org", path="/disthome/a/b/", days=-1, cleanup=False, line=2)
    parent_made = made("/disthome/a/")
    for rules in (
        (rule(ALICE, "/disthome/a/", expires=parent.expires),),  # bob's rule already gone
        (),  # both gone: the parent is still the reconciler's to clean up, from the store
    ):
        plan = compute_plan(
            intent((parent, kept)), live((ADMIN_ROLE, *rules)), now=NOW, lifecycle=parent_made
        )
        assert "remove_directory" not in [k for k, _ in kinds(plan)], kinds(plan)


def test_a_lengthened_grace_extends_a_schedule_and_a_shortened_one_never_shortens_it() -> None:
    since = NOW - timedelta(days=2)
    entry = replace(
        scheduled(BOBS, timedelta(days=5)).scheduled_removals[COLL, BOBS], scheduled_at=since
    )
    waiting = made(BOBS, scheduled_removals={(COLL, BOBS): entry})

    def plan_with(grace: timedelta, *, at: timedelta = timedelta(0)) -> Plan:
        spec = replace(intent((grant(),)), collections=(replace(collection(), prune_grace=grace),))
        return compute_plan(spec, live((ADMIN_ROLE, ALICE_RULE)), now=NOW + at, lifecycle=waiting)

    # Unchanged (7 days from when it was scheduled): nothing to do but wait.
    assert plan_with(timedelta(days=7)).actions == ()
    # Lengthened to 30 days: the later date is recorded, from when it was scheduled.
    (extend,) = plan_with(timedelta(days=30)).actions
    assert isinstance(extend, ScheduleRemoval)
    assert (extend.path, extend.due, extend.since) == (BOBS, since + timedelta(days=30), since)
    assert "policy.prune_grace is now 30d" in extend.reason
    # Shortened to a day: the recorded date holds, however far past the new grace.
    short = plan_with(timedelta(days=1), at=timedelta(days=4))
    assert short.actions == ()
    assert [p.due for p in short.pending_removals] == [NOW + timedelta(days=5)]
    # A lengthened grace that is over too: removed, no extension first.
    over = plan_with(timedelta(days=8), at=timedelta(days=6, hours=1))
    assert kinds(over) == [("remove_directory", BOBS)]


def test_a_directory_the_reconciler_did_not_make_is_never_removed() -> None:
    """A grant (or a rule made out of band) on a directory that was there before it,
    such as a dataset shared for a while: neither its expiry nor its prune costs the
    directory, and neither does a parent's removal."""
    dataset = "/disthome/datasets/cryoem/"
    expired = grant(path=dataset, days=-1)
    shared = rule(ALICE, dataset, expires=expired.expires)
    stray = rule(BOB, BOBS)  # made in the web app: pruned
    plan = compute_plan(
        intent((expired,)), live((ADMIN_ROLE, shared, stray)), now=NOW, lifecycle=made()
    )
    assert kinds(plan) == [("delete_rule", BOBS), ("delete_rule", dataset)]
    assert any("the reconciler did not make them" in note for note in plan.notes)

    # A schedule recorded for such a directory is dropped, never carried out.
    entry = ScheduledRemoval(COLL, BOBS, NOW - timedelta(days=1))
    plan = compute_plan(
        intent(()),
        live((ADMIN_ROLE,)),
        now=NOW,
        lifecycle=made(scheduled_removals={(COLL, BOBS): entry}),
    )
    assert kinds(plan) == [("cancel_removal", BOBS)]
    assert "did not make it" in plan.actions[0].reason

    # A directory it made above one it did not is kept too (a recursive delete).
    parent = grant(path="/disthome/datasets/", days=-1, line=2)
    plan = compute_plan(
        intent((expired, parent)),
        live((ADMIN_ROLE, shared, rule(ALICE, "/disthome/datasets/", expires=parent.expires))),
        now=NOW,
        lifecycle=made("/disthome/datasets/"),
    )
    assert "remove_directory" not in [k for k, _ in kinds(plan)], kinds(plan)
