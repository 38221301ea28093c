"""Planning access rules and directories, from plain data."""

from __future__ import annotations

from datetime import timedelta

import pytest

from reconciler.core.actions import (
    CreateRule,
    DeleteRule,
    MakeDirectory,
    RemoveDirectory,
    UpdateRule,
)
from reconciler.planning import compute_plan
from tests.unit.planning.builders import (
    ADMIN_ROLE,
    ALICE,
    BOB,
    COLL,
    GROUP,
    NOW,
    grant,
    intent,
    live,
    made,
    rule,
)


def kinds(plan: object) -> list[tuple[str, str]]:
    return [(a.kind, getattr(a, "path", "")) for a in plan.actions]  # type: ignore[attr-defined]


def test_new_identity_grant_makes_its_directory_then_the_rule() -> None:
    plan = compute_plan(intent((grant(notify=True),)), live(), now=NOW)
    assert kinds(plan) == [
        ("make_directory", f"/disthome/{ALICE}/"),
        ("create_rule", f"/disthome/{ALICE}/"),
    ]
    create = plan.actions[1]
    assert isinstance(create, CreateRule)
    assert create.principal.id == ALICE
    assert create.principal.label == "alice@example.org"
    assert create.expires == NOW + timedelta(days=30)
    assert create.notify_email == "alice@example.org"
    assert create.permissions == "r"
    assert not plan.blocked


def test_parents_are_made_first_and_only_once() -> None:
    grants = (
        grant(path="/disthome/run42/{identity_id}/"),
        grant("bob@example.org", path="/disthome/run42/{identity_id}/", line=2),
    )
    plan = compute_plan(intent(grants), live(), now=NOW)
    assert kinds(plan)[:3] == [
        ("make_directory", "/disthome/run42/"),
        ("make_directory", f"/disthome/run42/{ALICE}/"),
        ("make_directory", f"/disthome/run42/{BOB}/"),
    ]
    assert [a.kind for a in plan.actions].count("make_directory") == 3


def test_parent_of_a_live_rule_is_known_to_exist() -> None:
    existing = rule(BOB, f"/disthome/run42/{BOB}/", expires=NOW + timedelta(days=30))
    grants = (
        grant(path="/disthome/run42/{identity_id}/"),
        grant("bob@example.org", path="/disthome/run42/{identity_id}/", line=2),
    )
    plan = compute_plan(intent(grants), live((ADMIN_ROLE, existing)), now=NOW)
    assert kinds(plan) == [
        ("make_directory", f"/disthome/run42/{ALICE}/"),
        ("create_rule", f"/disthome/run42/{ALICE}/"),
    ]


def test_matching_live_rule_means_no_change() -> None:
    existing = rule(ALICE, f"/disthome/{ALICE}/", expires=NOW + timedelta(days=30))
    plan = compute_plan(intent((grant(),)), live((ADMIN_ROLE, existing)), now=NOW)
    assert plan.actions == ()
    assert plan.managed_rules == 1


@pytest.mark.parametrize(
    ("live_permissions", "live_expiry", "expected_reason"),
    [
        ("rw", timedelta(days=30), "permissions rw -> r"),
        ("r", timedelta(days=10), "expiry"),
        ("r", None, "expiry never"),
    ],
)
def test_drifted_rule_is_updated_in_place(
    live_permissions: str, live_expiry: timedelta | None, expected_reason: str
) -> None:
    existing = rule(
        ALICE,
        f"/disthome/{ALICE}/",
        permissions=live_permissions,
        expires=NOW + live_expiry if live_expiry else None,
    )
    plan = compute_plan(intent((grant(),)), live((ADMIN_ROLE, existing)), now=NOW)
    assert len(plan.actions) == 1
    update = plan.actions[0]
    assert isinstance(update, UpdateRule)
    assert update.rule_id == existing.id
    assert update.permissions == "r"
    assert update.expires == NOW + timedelta(days=30)
    assert expected_reason in update.reason


def test_expiry_at_now_is_exact() -> None:
    existing = rule(ALICE, f"/disthome/{ALICE}/", expires=NOW)
    at_now = grant(days=0)
    mine = made(f"/disthome/{ALICE}/")
    plan = compute_plan(intent((at_now,)), live((ADMIN_ROLE, existing)), now=NOW, lifecycle=mine)
    assert [a.kind for a in plan.actions] == ["delete_rule", "remove_directory"]
    assert "expired" in plan.actions[0].reason
    just_before = compute_plan(
        intent((at_now,)), live((ADMIN_ROLE, existing)), now=NOW - timedelta(microseconds=1)
    )
    assert just_before.actions == ()
    assert just_before.next_expiry == NOW


def test_expired_grant_is_not_created_and_not_counted_as_prune() -> None:
    plan = compute_plan(intent((grant(days=-1),)), live(), now=NOW)
    assert plan.actions == ()
    existing = rule(ALICE, f"/disthome/{ALICE}/", expires=NOW - timedelta(days=1))
    plan = compute_plan(intent((grant(days=-1),)), live((ADMIN_ROLE, existing)), now=NOW)
    delete = plan.actions[0]
    assert isinstance(delete, DeleteRule)
    assert not delete.pruned


def test_rule_no_spec_asks_for_is_pruned_and_its_directory_scheduled_with_collection_cleanup() -> (
    None
):
    """Its directory is no longer removed in the same pass: it is scheduled for the end
    of the grace period (docs/semantics.md, "Directories"), and only with a state store."""
    stray = rule(BOB, "/disthome/stray/", expires=None)
    store = made("/disthome/stray/")
    plan = compute_plan(
        intent((), cleanup=True), live((ADMIN_ROLE, stray)), now=NOW, lifecycle=store
    )
    assert [a.kind for a in plan.actions] == ["schedule_removal", "delete_rule"]
    assert plan.actions[1].pruned  # type: ignore[union-attr]
    assert "no spec" in plan.actions[1].reason
    assert plan.actions[0].due == NOW + timedelta(days=7)  # type: ignore[union-attr]
    no_cleanup = compute_plan(
        intent((), cleanup=False), live((ADMIN_ROLE, stray)), now=NOW, lifecycle=store
    )
    assert [a.kind for a in no_cleanup.actions] == ["delete_rule"]


def test_grant_cleanup_override_wins_for_an_expired_grant() -> None:
    existing = rule(ALICE, f"/disthome/{ALICE}/", expires=NOW)
    plan = compute_plan(
        intent((grant(days=-1, cleanup=False),), cleanup=True),
        live((ADMIN_ROLE, existing)),
        now=NOW,
    )
    assert [a.kind for a in plan.actions] == ["delete_rule"]


@pytest.mark.parametrize(
    "untouchable",
    [
        rule(BOB, "/", role=True, permissions="rw"),
        rule(BOB, "/disthome/"),  # the root itself is not owned
        rule(BOB, "/elsewhere/"),  # outside the root
        rule(BOB, "/disthomeX/"),  # a sibling sharing the root's prefix text
    ],
)
def test_nothing_outside_the_owned_subtree_is_touched(untouchable: object) -> None:
    plan = compute_plan(intent(()), live((ADMIN_ROLE, untouchable)), now=NOW)  # type: ignore[arg-type]
    assert plan.actions == ()


def test_directory_still_used_by_a_kept_rule_is_not_removed() -> None:
    shared = "/disthome/shared/"
    keep = rule(GROUP, shared, kind="group", expires=NOW + timedelta(days=30))
    gone = rule(BOB, shared, expires=None)
    group_grant = grant(GROUP, kind="group", path=shared)
    plan = compute_plan(intent((group_grant,)), live((ADMIN_ROLE, keep, gone)), now=NOW)
    assert [a.kind for a in plan.actions] == ["delete_rule"]


def test_directory_with_a_wanted_rule_below_is_not_removed() -> None:
    parent = rule(BOB, "/disthome/run42/", expires=None)
    plan = compute_plan(
        intent((grant(path="/disthome/run42/{identity_id}/"),)), live((ADMIN_ROLE, parent)), now=NOW
    )
    assert not any(isinstance(a, RemoveDirectory) for a in plan.actions)
    # and the parent is known to exist, so only the leaf is made
    assert [a.path for a in plan.actions if isinstance(a, MakeDirectory)] == [
        f"/disthome/run42/{ALICE}/"
    ]


def test_unknown_username_blocks_the_plan_but_an_expired_one_does_not() -> None:
    plan = compute_plan(intent((grant("nobody@example.org", line=7),)), live(), now=NOW)
    assert plan.blocked
    assert "nobody@example.org" in plan.problems[0].message
    assert str(plan.problems[0].origin) == "specs/t.yaml:7:5"
    expired = compute_plan(intent((grant("nobody@example.org", days=-1),)), live(), now=NOW)
    assert not expired.blocked


def test_uuid_principal_needs_no_lookup() -> None:
    stranger = "eeeeeeee-0000-4000-8000-000000000005"
    plan = compute_plan(intent((grant(stranger),)), live(), now=NOW)
    assert not plan.blocked
    assert plan.actions[-1].path == f"/disthome/{stranger}/"  # type: ignore[union-attr]


def test_same_identity_by_name_and_uuid_with_different_terms_is_a_problem() -> None:
    grants = (grant("alice@example.org"), grant(ALICE, permissions="rw", line=9))
    plan = compute_plan(intent(grants), live(), now=NOW)
    assert plan.blocked
    assert "conflicts" in plan.problems[0].message


def test_consumed_grant_is_revoked_and_never_recreated() -> None:
    key = (COLL, "identity", ALICE, f"/disthome/{ALICE}/")
    existing = rule(ALICE, f"/disthome/{ALICE}/", expires=NOW + timedelta(days=30))
    consumed = made(f"/disthome/{ALICE}/", consumed=frozenset({key}))
    plan = compute_plan(
        intent((grant(),)), live((ADMIN_ROLE, existing)), now=NOW, lifecycle=consumed
    )
    assert [a.kind for a in plan.actions] == ["delete_rule", "remove_directory"]
    assert "consumed" in plan.actions[0].reason
    removed = made(consumed=frozenset({key}))  # its directory removed since
    again = compute_plan(intent((grant(),)), live(), now=NOW, lifecycle=removed)
    assert again.actions == ()


def test_public_grant_principal_is_empty() -> None:
    public = grant("", kind="all_authenticated_users", path="/disthome/public/")
    plan = compute_plan(intent((public,)), live(), now=NOW)
    create = plan.actions[-1]
    assert isinstance(create, CreateRule)
    assert (create.principal.type, create.principal.id) == ("all_authenticated_users", "")


def test_notify_without_known_email_is_a_note() -> None:
    plan = compute_plan(intent((grant("bob@example.org", notify=True),)), live(), now=NOW)
    create = plan.actions[-1]
    assert isinstance(create, CreateRule)
    assert create.notify_email is None
    assert any("no email" in n for n in plan.notes)


def test_revocations_come_before_creations() -> None:
    stray = rule(BOB, "/disthome/stray/")
    plan = compute_plan(intent((grant(),)), live((ADMIN_ROLE, stray)), now=NOW)
    order = [a.kind for a in plan.actions]
    assert order.index("delete_rule") < order.index("create_rule")
