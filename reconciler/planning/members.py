"""Plan group memberships for one declared group.

Only the ``member`` role is ever changed. ``exclusive`` groups: the specs are the whole
truth for member-role memberships. ``additive`` groups: only memberships the specs list
are changed (added while valid, removed at expiry); unlisted members are left alone and
counted in a note. Admins and managers are never touched in either mode, nor are
memberships implied by a subgroup (``source_group_id``): they are the subgroup's.

Globus Groups refuses ``add`` for someone who left the group or whose settings forbid
being added: a listed identity that left is an error on its membership (no write), and
an ``add`` Globus refused is reported, not tried again, until ``REFUSAL_RETRY`` has
passed. A ``pending`` request to join is approved rather than added.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from reconciler.core.actions import Action, AddMember, Principal, RemoveMember
from reconciler.core.intent import GroupIntent
from reconciler.core.lifecycle import LocatedError, MemberKey, MemberRefusal
from reconciler.core.live import LiveGroup, LiveMember
from reconciler.planning.desired import DesiredMember
from reconciler.planning.paths import format_instant

PRESENT = frozenset({"active"})
"""Statuses that already give access: anything else is (re-)added by a batch ``add``."""
REMOVABLE = frozenset({"active", "invited"})
"""Statuses Globus Groups lets an admin remove."""
REFUSAL_RETRY = timedelta(days=1)
"""How long an ``add`` Globus refused waits before it is tried once more (the person may
have changed their settings)."""


@dataclass(frozen=True, slots=True)
class MemberPlan:
    actions: tuple[Action, ...]
    managed: int
    note: str | None
    errors: tuple[LocatedError, ...] = ()


def compute_member_actions(
    group: GroupIntent,
    live: LiveGroup,
    desired: Mapping[tuple[str, str], DesiredMember],
    expired: Mapping[tuple[str, str], DesiredMember],
    *,
    now: datetime | None = None,
    refusals: Mapping[MemberKey, MemberRefusal] | None = None,
) -> MemberPlan:
    own: dict[str, LiveMember] = {}
    implied: dict[str, LiveMember] = {}
    for member in live.members:
        (implied if member.source_group_id else own).setdefault(member.identity_id, member)
    wanted = {k[1]: d for k, d in desired.items() if k[0] == group.id}
    gone = {k[1]: d for k, d in expired.items() if k[0] == group.id}
    actions: list[Action] = []
    errors: list[LocatedError] = []

    for identity_id, entry in sorted(wanted.items()):
        current = own.get(identity_id)
        if current is not None and (current.role != "member" or current.status in PRESENT):
            continue
        if identity_id in implied:
            # A member through a subgroup already, whatever became of a direct
            # membership (left, pending, invited): nothing to add, nothing to report.
            continue
        if current is not None and current.status == "left":
            errors.append(_left_error(entry, current))
            continue
        refusal = (refusals or {}).get((group.id, identity_id))
        if refusal is not None and (now is None or now < refusal.at + REFUSAL_RETRY):
            errors.append(_refused_error(entry, refusal))
            continue
        pending = current is not None and current.status == "pending"
        until = format_instant(entry.membership.expires)
        actions.append(
            AddMember(
                group=group.name,
                group_id=group.id,
                principal=entry.principal,
                reason=(
                    f"approve their request to join: membership listed until {until}"
                    if pending
                    else f"membership listed until {until}"
                ),
                origin=entry.membership.origin,
                approve=pending,
            )
        )

    managed = 0
    unlisted = 0
    for identity_id, current in sorted(own.items()):
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
    return MemberPlan(tuple(actions), managed=managed, note=note, errors=tuple(errors))


def _left_error(entry: DesiredMember, current: LiveMember) -> LocatedError:
    when = f" on {format_instant(current.updated)}" if current.updated else ""
    return LocatedError(
        f"{_who(entry)} left the group {entry.membership.group}{when}; Globus Groups "
        "does not let anyone add them back: they must rejoin or be invited (or remove this "
        "membership from the specs)",
        entry.membership.origin,
    )


def _refused_error(entry: DesiredMember, refusal: MemberRefusal) -> LocatedError:
    again = format_instant(refusal.at + REFUSAL_RETRY)
    return LocatedError(
        f"Globus Groups refused to add {_who(entry)} to {entry.membership.group} at "
        f"{format_instant(refusal.at)} ({refusal.detail}); their settings may forbid being "
        f"added to groups: they must join or be invited. Tried again after {again}",
        entry.membership.origin,
    )


def _who(entry: DesiredMember) -> str:
    return entry.principal.label or entry.principal.id
