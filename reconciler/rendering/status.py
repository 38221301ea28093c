"""``reconciler status``: managed rules, pruned grants' directories waiting out their
grace period, and listed memberships, each with its time left."""

from __future__ import annotations

import json
from dataclasses import dataclass

from reconciler.core.actions import DeleteRule, RemoveMember, UpdateRule
from reconciler.core.intent import Intent
from reconciler.core.live import LiveState
from reconciler.core.plan import Plan
from reconciler.planning.rules import owned_rules
from reconciler.rendering.describing import format_time, time_left
from reconciler.rendering.text import Style, plain


@dataclass(frozen=True, slots=True)
class StatusRow:
    kind: str  # "rule", "directory" (a scheduled removal) or "membership"
    where: str  # collection:path or group
    principal: str
    permissions: str
    expires: str
    left: str
    state: str


def compute_status_rows(intent: Intent, live: LiveState, plan: Plan) -> list[StatusRow]:
    names = {i.id: i.username for i in live.identities.values()}
    names.update((g.id, g.name) for g in intent.groups)
    revoking = {
        (a.collection_id, a.rule_id): a.reason for a in plan.actions if isinstance(a, DeleteRule)
    }
    drifted = {
        (a.collection_id, a.rule_id): compute_drift(a)
        for a in plan.actions
        if isinstance(a, UpdateRule)
    }
    removing = {
        (a.group_id, a.principal.id): a.reason for a in plan.actions if isinstance(a, RemoveMember)
    }
    rows: list[StatusRow] = []
    for collection in intent.collections:
        found = live.collections.get(collection.id)
        if found is None:
            continue
        for rule in sorted(owned_rules(collection, found), key=lambda r: r.path):
            key = (collection.id, rule.id or "")
            state = revoking.get(key) or drifted.get(key) or "in spec"
            who = names.get(rule.principal, rule.principal) or rule.principal_type
            rows.append(
                StatusRow(
                    "rule",
                    f"{collection.name}:{rule.path}",
                    f"{rule.principal_type}:{who}" if rule.principal else rule.principal_type,
                    rule.permissions,
                    format_time(rule.expires),
                    time_left(rule.expires, plan.now),
                    state,
                )
            )
    for pending in plan.pending_removals:
        rows.append(
            StatusRow(
                "directory",
                f"{pending.collection}:{pending.path}",
                str(pending.principal) if pending.principal is not None else "",
                "",
                format_time(pending.due),
                time_left(pending.due, plan.now),
                "pruned: removal scheduled (restore its grant to keep it)",
            )
        )
    for membership in intent.memberships:
        identity = live.identities.get(membership.identity)
        identity_id = identity.id if identity else membership.identity
        group = live.groups.get(membership.group_id)
        current = next(
            (m for m in (group.members if group else ()) if m.identity_id == identity_id), None
        )
        state = removing.get(
            (membership.group_id, identity_id),
            f"{current.role} ({current.status})" if current else "not a member",
        )
        rows.append(
            StatusRow(
                "membership",
                membership.group,
                names.get(identity_id, membership.identity),
                "member",
                format_time(membership.expires),
                time_left(membership.expires, plan.now),
                state,
            )
        )
    return rows


def compute_drift(update: UpdateRule) -> str:
    """``drifted: permissions rw -> r, expiry never -> ...``: how the live rule differs
    from its grant (changed out of band, or the spec changed); apply sets it right."""
    changes = []
    if update.old_permissions != update.permissions:
        changes.append(f"permissions {update.old_permissions} -> {update.permissions}")
    old = update.old_expires
    if old is None or int(old.timestamp()) != int(update.expires.timestamp()):
        changes.append(f"expiry {format_time(old)} -> {format_time(update.expires)}")
    return "drifted: " + (", ".join(changes) or "terms differ")


def render_status_text(intent: Intent, live: LiveState, plan: Plan, *, style: Style = plain) -> str:
    rows = compute_status_rows(intent, live, plan)
    if not rows:
        return "No managed rules or listed memberships."
    header = ("WHAT", "WHERE", "PRINCIPAL", "PERM", "EXPIRES", "LEFT", "STATE")
    table = [header] + [
        (r.kind, r.where, r.principal, r.permissions, r.expires, r.left, r.state) for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
    lines = []
    for index, row in enumerate(table):
        text = "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])) + "  "
        if index == 0:
            lines.append(style(text + row[-1], "bright_black"))
        else:
            state = row[-1]
            marked = state.startswith(("drifted:", "no spec asks"))
            lines.append(text + (style(state, "yellow") if marked else state))
    pending = len(plan.actions)
    lines.append(f"{len(rows)} entries; {pending} change(s) pending (see `reconciler plan`).")
    return "\n".join(lines)


def render_status_json(intent: Intent, live: LiveState, plan: Plan) -> str:
    rows = [
        {
            "kind": r.kind,
            "where": r.where,
            "principal": r.principal,
            "permissions": r.permissions,
            "expires": r.expires,
            "time_left": r.left,
            "state": r.state,
            "drifted": r.state.startswith("drifted:"),
        }
        for r in compute_status_rows(intent, live, plan)
    ]
    return json.dumps({"now": plan.now.isoformat(), "entries": rows}, indent=2) + "\n"
