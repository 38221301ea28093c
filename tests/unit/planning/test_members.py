"""Planning group memberships: additive and exclusive modes, roles never touched, and
the states real Groups has (left, pending, implied by a subgroup, refused adds)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from reconciler.core.actions import AddMember, RemoveMember
from reconciler.core.lifecycle import Lifecycle, MemberRefusal
from reconciler.core.live import LiveMember, Unreadable
from reconciler.planning import compute_plan
from reconciler.planning.members import REFUSAL_RETRY
from tests.unit.planning.builders import (
    ADMIN,
    ALICE,
    BOB,
    CAROL,
    GROUP,
    NOW,
    ORIGIN,
    intent,
    live,
    membership,
)

SUBGROUP = "eeeeeeee-0000-4000-8000-000000000005"

ADMIN_MEMBER = LiveMember(ADMIN, "admin@example.org", "admin", "active")


def members(*extra: LiveMember) -> tuple[LiveMember, ...]:
    return (ADMIN_MEMBER, *extra)


def test_listed_member_is_added() -> None:
    plan = compute_plan(intent(memberships=(membership("alice@example.org"),)), live(), now=NOW)
    assert len(plan.actions) == 1
    add = plan.actions[0]
    assert isinstance(add, AddMember)
    assert add.principal.id == ALICE


@pytest.mark.parametrize("status", ["invited", "removed", "declined", "rejected"])
def test_listed_identity_not_active_is_added_again(status: str) -> None:
    current = LiveMember(ALICE, "alice@example.org", "member", status)
    plan = compute_plan(
        intent(memberships=(membership("alice@example.org"),)),
        live(members=members(current)),
        now=NOW,
    )
    assert [a.kind for a in plan.actions] == ["add_member"]


def test_active_member_means_no_change() -> None:
    current = LiveMember(ALICE, "alice@example.org", "member", "active")
    plan = compute_plan(
        intent(memberships=(membership("alice@example.org"),)),
        live(members=members(current)),
        now=NOW,
    )
    assert plan.actions == ()


def test_expired_membership_is_removed_without_counting_as_prune() -> None:
    current = LiveMember(ALICE, "alice@example.org", "member", "active")
    plan = compute_plan(
        intent(memberships=(membership("alice@example.org", days=-1),)),
        live(members=members(current)),
        now=NOW,
    )
    remove = plan.actions[0]
    assert isinstance(remove, RemoveMember)
    assert not remove.pruned
    assert "expired" in remove.reason


@pytest.mark.parametrize("mode", ["additive", "exclusive"])
def test_admins_and_managers_are_never_touched(mode: str) -> None:
    manager = LiveMember(CAROL, "carol@example.org", "manager", "active")
    listed_admin = membership(ADMIN, days=-1)
    plan = compute_plan(
        intent(memberships=(listed_admin,), mode=mode), live(members=members(manager)), now=NOW
    )
    assert plan.actions == ()


def test_additive_leaves_unlisted_members_and_says_so() -> None:
    stranger = LiveMember(BOB, "bob@example.org", "member", "active")
    plan = compute_plan(intent(mode="additive"), live(members=members(stranger)), now=NOW)
    assert plan.actions == ()
    assert any("1 unlisted member" in n for n in plan.notes)


def test_exclusive_removes_unlisted_members_as_prunes() -> None:
    stranger = LiveMember(BOB, "bob@example.org", "member", "active")
    plan = compute_plan(intent(mode="exclusive"), live(members=members(stranger)), now=NOW)
    remove = plan.actions[0]
    assert isinstance(remove, RemoveMember)
    assert remove.pruned
    assert remove.principal.id == BOB


def test_removed_from_specs_in_additive_mode_is_left_alone() -> None:
    current = LiveMember(ALICE, "alice@example.org", "member", "active")
    plan = compute_plan(intent(mode="additive"), live(members=members(current)), now=NOW)
    assert plan.actions == ()


def test_an_identity_that_left_is_a_located_error_not_an_add() -> None:
    left = LiveMember(ALICE, "alice@example.org", "member", "left", updated=NOW - timedelta(1))
    plan = compute_plan(
        intent(memberships=(membership("alice@example.org"),)),
        live(members=members(left)),
        now=NOW,
    )
    assert plan.actions == ()
    (error,) = plan.errors
    assert error.origin == ORIGIN
    assert "alice@example.org left the group tutorial on 2026-11-25T12:00:00+00:00" in error.message
    assert "they must rejoin or be invited" in error.message


def test_a_pending_request_is_approved_not_added() -> None:
    pending = LiveMember(ALICE, "alice@example.org", "member", "pending")
    plan = compute_plan(
        intent(memberships=(membership("alice@example.org"),)),
        live(members=members(pending)),
        now=NOW,
    )
    (approve,) = plan.actions
    assert isinstance(approve, AddMember)
    assert approve.approve
    assert approve.reason.startswith("approve their request to join")


@pytest.mark.parametrize("mode", ["additive", "exclusive"])
def test_memberships_through_a_subgroup_are_never_removed(mode: str) -> None:
    implied = LiveMember(BOB, "bob@example.org", "member", "active", source_group_id=SUBGROUP)
    expired = membership("bob@example.org", days=-1)
    plan = compute_plan(
        intent(memberships=(expired,), mode=mode), live(members=members(implied)), now=NOW
    )
    assert plan.actions == ()
    assert plan.managed_members == 0
    assert not any("unlisted" in n for n in plan.notes)


def test_a_listed_member_through_a_subgroup_needs_no_add() -> None:
    implied = LiveMember(ALICE, "alice@example.org", "member", "active", source_group_id=SUBGROUP)
    plan = compute_plan(
        intent(memberships=(membership("alice@example.org"),)),
        live(members=members(implied)),
        now=NOW,
    )
    assert plan.actions == ()


@pytest.mark.parametrize("status", ["left", "pending", "invited", "declined"])
def test_a_member_through_a_subgroup_is_no_error_whatever_their_direct_membership(
    status: str,
) -> None:
    """Someone who left the group (or asked to join it) directly but belongs to it
    through a subgroup already has what the specs ask: no write, and no error that
    would fail every pass."""
    direct = LiveMember(ALICE, "alice@example.org", "member", status, updated=NOW)
    implied = LiveMember(ALICE, "alice@example.org", "member", "active", source_group_id=SUBGROUP)
    plan = compute_plan(
        intent(memberships=(membership("alice@example.org"),), mode="exclusive"),
        live(members=members(direct, implied)),
        now=NOW,
    )
    assert plan.actions == ()
    assert plan.errors == ()


def test_a_refused_add_is_reported_and_retried_only_after_a_day() -> None:
    refusal = MemberRefusal("OPTED_OUT: settings forbid it", NOW - timedelta(hours=1))
    lifecycle = Lifecycle(member_refusals={(GROUP, ALICE): refusal})
    spec = intent(memberships=(membership("alice@example.org"),))
    plan = compute_plan(spec, live(), now=NOW, lifecycle=lifecycle)
    assert plan.actions == ()
    (error,) = plan.errors
    assert "OPTED_OUT" in error.message
    assert "invited" in error.message
    later = compute_plan(spec, live(), now=refusal.at + REFUSAL_RETRY, lifecycle=lifecycle)
    assert [a.kind for a in later.actions] == ["add_member"]
    assert later.errors == ()


def test_an_unreadable_group_is_an_error_on_its_memberships_and_changes_nothing() -> None:
    stranger = LiveMember(BOB, "bob@example.org", "member", "active")
    state = replace(
        live(members=members(stranger)),
        unreadable_groups={GROUP: Unreadable(403, "groups 403 FORBIDDEN: not a manager")},
    )
    plan = compute_plan(
        intent(memberships=(membership("alice@example.org", days=-1),), mode="exclusive"),
        state,
        now=NOW,
    )
    assert plan.actions == ()
    assert not plan.blocked
    (error,) = plan.errors
    assert error.origin == ORIGIN
    assert "admin or manager role" in error.message
