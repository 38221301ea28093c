"""Plan group memberships for one declared group.

Only the ``member`` role is ever changed. ``exclusive`` groups: the specs are the whole
truth for member-role memberships. ``additive`` groups: only memberships the specs list
are changed (added while valid, removed at expiry); unlisted members are left alone and
counted in a note. Admins and managers are never touched in either mode.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from reconciler.core.actions import Action, AddMember, Principal, RemoveMember
from reconciler.core.intent import GroupIntent
from reconciler.core.live import LiveGroup, LiveMember
from reconciler.planning.desired import DesiredMember
from reconciler.planning.paths import format_instant

PRESENT = frozenset({"active"})
"""Statuses that already give access: anything else is (re-)added by a batch ``add``."""
REMOVABLE = frozenset({"active", "invited"})
"""Statuses Globus Groups lets an admin remove."""


@dataclass(frozen=True, slots=True)
class MemberPlan:
    actions: tuple[Action, ...]
    managed: int
    note: str | None


def compute_member_actions(
    group: GroupIntent,
    live: LiveGroup,
    desired: Mapping[tuple[str, str], DesiredMember],
    expired: Mapping[tuple[str, str], DesiredMember],
) -> MemberPlan:
    by_id: dict[str, LiveMember] = {m.identity_id: m for m in live.members}
    wanted = {k[1]: d for k, d in desired.items() if k[0] == group.id}
    gone = {k[1]: d for k, d in expired.items() if k[0] == group.id}
    actions: list[Action] = []

    for identity_id, entry in sorted(wanted.items()):
        current = by_id.get(identity_id)
        if current is not None and (current.role != "member" or current.status in PRESENT):
            continue
        actions.append(
            AddMember(
                group=group.name,
                group_id=group.id,
                principal=entry.principal,
                reason=f"membership listed until {format_instant(entry.membership.expires)}",
                origin=entry.membership.origin,
            )
        )

    managed = 0
    unlisted = 0
    for identity_id, current in sorted(by_id.items()):
        if current.role != "member" or current.status not in REMOVABLE:
            continue
        principal = Principal("identity", identity_id, current.username or "")
        if identity_id in wanted:
            managed += 1
        elif identity_id in gone:
            managed += 1
            when = format_instant(gone[identity_id].membership.expires)
            actions.append(
                RemoveMember(
                    group=group.name,
                    group_id=group.id,
                    principal=principal,
                    reason=f"membership expired at {when}",
                    pruned=False,
                )
            )
        elif group.mode == "exclusive":
            managed += 1
            actions.append(
                RemoveMember(
                    group=group.name,
                    group_id=group.id,
                    principal=principal,
                    reason="not listed in the specs of an exclusive group",
                    pruned=True,
                )
            )
        else:
            unlisted += 1
    note = (
        f"group {group.name}: {unlisted} unlisted member(s) left alone (additive mode)"
        if unlisted
        else None
    )
    return MemberPlan(tuple(actions), managed=managed, note=note)
