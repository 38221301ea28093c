"""Planning group memberships: additive and exclusive modes, roles never touched."""

from __future__ import annotations

import pytest

from reconciler.core.actions import AddMember, RemoveMember
from reconciler.core.live import LiveMember
from reconciler.planning import compute_plan
from tests.unit.planning.builders import ADMIN, ALICE, BOB, CAROL, NOW, intent, live, membership

ADMIN_MEMBER = LiveMember(ADMIN, "admin@example.org", "admin", "active")


def members(*extra: LiveMember) -> tuple[LiveMember, ...]:
    return (ADMIN_MEMBER, *extra)


def test_listed_member_is_added() -> None:
    plan = compute_plan(intent(memberships=(membership("alice@example.org"),)), live(), now=NOW)
    assert len(plan.actions) == 1
    add = plan.actions[0]
    assert isinstance(add, AddMember)
    assert add.principal.id == ALICE


@pytest.mark.parametrize("status", ["invited", "left", "removed", "declined"])
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
