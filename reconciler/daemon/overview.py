"""Who can read what until when, after the last pass: grant and membership rows per
collection and group, the changes the last plan made (drift included), the upcoming
expiries, and the problems that block or qualify it. Pure: computed from the intent,
the live state read at the start of the pass, its plan and the action outcomes.

The live state was read *before* the pass applied anything, so the rows are that state
with the outcomes laid over it: a rule created in the pass is shown, one deleted is not,
and an action that failed or was not applied leaves its row marked with why. This is
what the reconciler knows of Globus at the end of the pass, without another read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from reconciler.core.actions import (
    Action,
    AddMember,
    CreateRule,
    DeleteRule,
    RemoveMember,
    UpdateRule,
)
from reconciler.core.intent import CollectionIntent, Intent
from reconciler.core.live import LiveState
from reconciler.core.plan import Plan
from reconciler.daemon.snapshots import (
    ChangeRow,
    CollectionView,
    ExpiryRow,
    GrantRow,
    GroupView,
    MembershipRow,
    ProblemRow,
)
from reconciler.executing import Outcome
from reconciler.logs import redact_text
from reconciler.planning.rules import owned_rules
from reconciler.rendering.describing import describe

IN_FORCE = "in force"
NOT_APPLIED = "not applied"

RowKey = tuple[str, str, str]
"""(principal type, principal id, path) within one collection."""


@dataclass(frozen=True, slots=True)
class Overview:
    collections: tuple[CollectionView, ...]
    groups: tuple[GroupView, ...]
    expiries: tuple[ExpiryRow, ...]
    problems: tuple[ProblemRow, ...]


def compute_overview(
    intent: Intent,
    live: LiveState,
    plan: Plan,
    outcomes: Sequence[Outcome],
    *,
    row_limit: int = 1000,
) -> Overview:
    """Rows per collection and group (at most ``row_limit`` each; ``total`` counts all),
    every upcoming expiry, and the plan's problems and grant-level errors."""
    status = {o.action: o for o in outcomes}
    names = {i.id: i.username for i in live.identities.values()}
    names.update((g.id, g.name) for g in intent.groups)
    grants = {c.name: _grant_rows(c, live, plan, status, names) for c in intent.collections}
    members = {
        g.name: _membership_rows(
            g.id, intent=intent, live=live, plan=plan, status=status, names=names
        )
        for g in intent.groups
    }
    collections = tuple(
        CollectionView(
            name=c.name,
            grants=grants[c.name][:row_limit],
            total=len(grants[c.name]),
            changes=_changes(plan, status, collection_id=c.id),
        )
        for c in intent.collections
    )
    groups = tuple(
        GroupView(
            name=g.name,
            memberships=members[g.name][:row_limit],
            total=len(members[g.name]),
            changes=_changes(plan, status, group_id=g.id),
        )
        for g in intent.groups
    )
    return Overview(
        collections=collections,
        groups=groups,
        expiries=_expiries(grants, members, plan.now),
        problems=compute_plan_problems(plan),
    )


def _collection_of(action: Action) -> str | None:
    return None if isinstance(action, AddMember | RemoveMember) else action.collection_id


def _group_of(action: Action) -> str | None:
    return action.group_id if isinstance(action, AddMember | RemoveMember) else None


def _changes(
    plan: Plan,
    status: Mapping[Action, Outcome],
    *,
    collection_id: str | None = None,
    group_id: str | None = None,
) -> tuple[ChangeRow, ...]:
    return tuple(
        _change(a, status, plan.blocked)
        for a in plan.actions
        if (collection_id is not None and _collection_of(a) == collection_id)
        or (group_id is not None and _group_of(a) == group_id)
    )


def compute_plan_problems(plan: Plan) -> tuple[ProblemRow, ...]:
    """What blocks the plan (each problem, then the deletion guard), then the grant-level
    errors that do not block it, with their ``file:line:col`` where known."""
    rows = [
        ProblemRow(
            "blocked",
            redact_text(p.message + (f" (hint: {p.hint})" if p.hint else "")),
            str(p.origin) if p.origin else None,
        )
        for p in plan.problems
    ]
    if plan.guard.tripped:
        rows.append(ProblemRow("blocked", plan.guard.explanation))
    rows += [
        ProblemRow("grant", redact_text(e.message), str(e.origin) if e.origin else None)
        for e in plan.errors
    ]
    return tuple(rows)


def _outcome_text(action: Action, status: Mapping[Action, Outcome], blocked: bool) -> str:
    outcome = status.get(action)
    if outcome is not None:
        return outcome.status
    return NOT_APPLIED if blocked else "pending"


def _change(action: Action, status: Mapping[Action, Outcome], blocked: bool) -> ChangeRow:
    outcome = status.get(action)
    return ChangeRow(
        kind=action.kind,
        target=describe(action),
        reason=action.reason,
        outcome=_outcome_text(action, status, blocked),
        detail=redact_text(outcome.detail)
        if outcome is not None and outcome.status != "done"
        else "",
    )


def _label(kind: str, ident: str, names: Mapping[str, str], fallback: str = "") -> str:
    if kind in ("all_authenticated_users", "anonymous"):
        return kind
    return f"{kind}:{names.get(ident) or fallback or ident}"


def _grant_rows(
    collection: CollectionIntent,
    live: LiveState,
    plan: Plan,
    status: Mapping[Action, Outcome],
    names: Mapping[str, str],
) -> tuple[GrantRow, ...]:
    rows: dict[RowKey, GrantRow] = {}
    found = live.collections.get(collection.id)
    for rule in owned_rules(collection, found) if found is not None else ():
        key = (rule.principal_type, rule.principal, rule.path)
        rows[key] = GrantRow(
            _label(rule.principal_type, rule.principal, names),
            rule.path,
            rule.permissions,
            rule.expires,
            IN_FORCE,
        )
    for action in plan.actions:
        if isinstance(action, CreateRule | UpdateRule | DeleteRule) and (
            action.collection_id == collection.id
        ):
            _lay_over(rows, action, status.get(action), plan.blocked, names)
    return tuple(sorted(rows.values(), key=lambda r: (r.path, r.principal)))


def _lay_over(
    rows: dict[RowKey, GrantRow],
    action: CreateRule | UpdateRule | DeleteRule,
    outcome: Outcome | None,
    blocked: bool,
    names: Mapping[str, str],
) -> None:
    key = (action.principal.type, action.principal.id, action.path)
    label = _label(action.principal.type, action.principal.id, names, action.principal.label)
    done = outcome is not None and outcome.status == "done"
    why = outcome.status if outcome is not None else (NOT_APPLIED if blocked else "pending")
    if isinstance(action, DeleteRule):
        if done:
            rows.pop(key, None)
        elif key in rows:
            rows[key] = _restate(rows[key], f"to be revoked ({why}): {action.reason}")
        return
    if done:
        rows[key] = GrantRow(label, action.path, action.permissions, action.expires, IN_FORCE)
    elif isinstance(action, UpdateRule) and key in rows:
        rows[key] = _restate(rows[key], f"to be updated ({why}): {action.reason}")
    else:
        rows[key] = GrantRow(
            label,
            action.path,
            action.permissions,
            action.expires,
            f"to be created ({why}): {action.reason}",
        )


def _restate(row: GrantRow, state: str) -> GrantRow:
    return GrantRow(row.principal, row.path, row.permissions, row.expires, state)


def _membership_rows(
    group_id: str,
    *,
    intent: Intent,
    live: LiveState,
    plan: Plan,
    status: Mapping[Action, Outcome],
    names: Mapping[str, str],
) -> tuple[MembershipRow, ...]:
    group = live.groups.get(group_id)
    members = {m.identity_id: m for m in (group.members if group is not None else ())}
    actions = [a for a in plan.actions if _group_of(a) == group_id]
    added = {a.principal.id: a for a in actions if isinstance(a, AddMember)}
    removed = {a.principal.id: a for a in actions if isinstance(a, RemoveMember)}
    rows = []
    for membership in intent.memberships:
        if membership.group_id != group_id or membership.expires <= plan.now:
            continue
        identity = live.identities.get(membership.identity)
        identity_id = identity.id if identity is not None else membership.identity
        shown = names.get(identity_id) or membership.identity
        current = members.get(identity_id)
        state = f"{current.role} ({current.status})" if current is not None else "not a member"
        for table, verb in ((added, "added"), (removed, "removed")):
            action = table.get(identity_id)
            if action is None:
                continue
            outcome = status.get(action)
            if outcome is not None and outcome.status == "done":
                state = "member (active)" if verb == "added" else "not a member"
            else:
                state = f"to be {verb} ({_outcome_text(action, status, plan.blocked)})"
        rows.append(MembershipRow(f"identity:{shown}", membership.expires, state))
    return tuple(sorted(rows, key=lambda r: (r.expires, r.principal)))


def _expiries(
    grants: Mapping[str, Sequence[GrantRow]],
    members: Mapping[str, Sequence[MembershipRow]],
    now: datetime,
) -> tuple[ExpiryRow, ...]:
    rows = [
        ExpiryRow(grant.expires, "rule", f"{name}:{grant.path}", grant.principal)
        for name, table in grants.items()
        for grant in table
        if grant.expires is not None and grant.expires > now
    ]
    rows += [
        ExpiryRow(member.expires, "membership", name, member.principal)
        for name, table in members.items()
        for member in table
        if member.expires > now
    ]
    rows.sort(key=lambda r: (r.at, r.where, r.principal))
    return tuple(rows)
