"""Pure derivations a pass needs for its report and its log events: the pass result,
action outcome counts, managed objects per collection and group, the fields of one
action event, and spec diagnostics as ``file:line:col: message`` lines.

Everything here is computed from values; nothing logs, reads files or talks to Globus.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from reconciler.core.actions import (
    Action,
    AddMember,
    CreateRule,
    DeleteRule,
    RemoveDirectory,
    RemoveMember,
    UpdateRule,
)
from reconciler.core.intent import Intent
from reconciler.core.lifecycle import RuleKey
from reconciler.core.live import LiveState
from reconciler.core.plan import Plan
from reconciler.daemon.reports import PassResult
from reconciler.executing import Outcome
from reconciler.planning.desired import compute_desired
from reconciler.spec import Diagnostic


def compute_result(*, spec_valid: bool, blocked: bool, applied: bool) -> PassResult:
    """Failure outranks a blocked plan, which outranks an invalid spec set (the last
    valid one was still applied): the result names the most urgent problem."""
    if not applied and not blocked:
        return "failed"
    if blocked:
        return "blocked"
    return "success" if spec_valid else "invalid_spec"


def compute_outcome_counts(outcomes: Iterable[Outcome]) -> dict[tuple[str, str], int]:
    return dict(Counter((o.action.kind, o.status) for o in outcomes))


def compute_managed_counts(
    intent: Intent,
    live: LiveState,
    *,
    now: datetime,
    consumed: frozenset[RuleKey] = frozenset(),
) -> tuple[dict[str, int], dict[str, int]]:
    """Rules per collection and memberships per group that the specs keep in force at
    ``now`` (what Globus holds after a successful pass), keyed by spec names. A grant
    revoked after download (``consumed``) is not in force, as planning decides."""
    desired = compute_desired(intent, live.identities, now=now, consumed=consumed)
    rules = {c.name: 0 for c in intent.collections}
    by_collection_id = {c.id: c.name for c in intent.collections}
    for key in desired.rules:
        name = by_collection_id.get(key[0])
        if name is not None:
            rules[name] += 1
    members = {g.name: 0 for g in intent.groups}
    by_group_id = {g.id: g.name for g in intent.groups}
    for group_id, _identity in desired.members:
        name = by_group_id.get(group_id)
        if name is not None:
            members[name] += 1
    return rules, members


def compute_action_fields(action: Action) -> dict[str, str]:
    """The fields of an ``action_*`` event: kind, collection or group, principal, path
    and reason (whichever the action has), plus its terms where it sets some."""
    fields: dict[str, str] = {"kind": action.kind}
    if isinstance(action, AddMember | RemoveMember):
        fields["group"] = action.group
    else:
        fields["collection"] = action.collection
    principal = getattr(action, "principal", None)
    if principal is not None:
        fields["principal"] = str(principal)
    path = getattr(action, "path", None)
    if path is not None:
        fields["path"] = str(path)
    if isinstance(action, CreateRule | UpdateRule):
        fields["permissions"] = action.permissions
        fields["expires"] = action.expires.isoformat()
    source = getattr(action, "source_path", None)
    if source is not None:
        fields["source"] = f"{getattr(action, 'source_collection_id', '')}:{source}"
    if isinstance(action, DeleteRule | RemoveDirectory | RemoveMember):
        fields["pruned"] = "yes" if action.pruned else "no"
    fields["reason"] = action.reason
    return fields


def compute_diagnostic_lines(diagnostics: Iterable[Diagnostic]) -> list[str]:
    """Errors and warnings as ``file:line:col: severity: message (hint: ...)``."""
    lines = []
    for d in diagnostics:
        hint = f" (hint: {d.hint})" if d.hint else ""
        lines.append(f"{d.location}: {d.severity}: {d.message}{hint}")
    return lines


def compute_blocked_reasons(plan: Plan) -> list[str]:
    """Why a blocked plan applies nothing: each problem, then the deletion guard."""
    reasons = [str(p) for p in plan.problems]
    if plan.guard.tripped:
        reasons.append(plan.guard.explanation)
    return reasons


def compute_overdue_revocations(plan: Plan, outcomes: Iterable[Outcome]) -> int:
    """Rules and memberships whose access should have ended (expired or consumed, not
    pruned) that the plan revokes but that are not revoked after the pass: all of them
    when the plan was blocked, the failed and skipped ones otherwise."""
    done = {o.action for o in outcomes if o.status == "done"}
    return sum(
        1
        for a in plan.actions
        if isinstance(a, DeleteRule | RemoveMember) and not a.pruned and a not in done
    )
