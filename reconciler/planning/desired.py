"""Desired state at an instant: the intent with identities resolved, templates
expanded, and grants split into those in force and those revoked (expired or consumed).

Pure: takes the intent, the identity map read from Globus Auth and ``now``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime

from reconciler.core.actions import Principal
from reconciler.core.intent import GrantIntent, Intent, MembershipIntent, Origin
from reconciler.core.lifecycle import RuleKey
from reconciler.core.live import Identity
from reconciler.core.plan import Problem
from reconciler.core.values import value
from reconciler.planning.paths import format_instant


@value
class DesiredRule:
    key: RuleKey
    grant: GrantIntent
    principal: Principal
    path: str
    notify_email: str | None


@value
class RevokedRule:
    key: RuleKey
    grant: GrantIntent
    principal: Principal
    path: str
    why: str


@value
class DesiredMember:
    group_id: str
    principal: Principal
    membership: MembershipIntent


@value
class DesiredState:
    rules: Mapping[RuleKey, DesiredRule]
    revoked: Mapping[RuleKey, RevokedRule]
    members: Mapping[tuple[str, str], DesiredMember]
    expired_members: Mapping[tuple[str, str], DesiredMember]
    problems: tuple[Problem, ...]
    notes: tuple[str, ...]
    next_expiry: datetime | None


def expand_path(template: str, *, identity_id: str, group_id: str, distribution: str) -> str:
    """Replace the path placeholders the spec language allows; validation has already
    rejected a placeholder that does not fit the grant's principal kind."""
    if "{" not in template:
        return template
    return (
        template.replace("{identity_id}", identity_id)
        .replace("{group_id}", group_id)
        .replace("{distribution}", distribution)
    )


def _resolve_principal(
    grant: GrantIntent, identities: Mapping[str, Identity], group_names: Mapping[str, str]
) -> tuple[Principal, Identity | None] | None:
    ref = grant.principal
    if ref.kind != "identity":
        return Principal(ref.kind, ref.value, group_names.get(ref.value, "")), None
    identity = identities.get(ref.value)
    if identity is None:
        if "@" in ref.value:
            return None
        # A UUID needs no lookup to be granted; Auth only adds a username and an email.
        return Principal("identity", ref.value), None
    return Principal("identity", identity.id, identity.username), identity


CONSUMED_REASON = "grant consumed: the grantee downloaded the whole directory"


@functools.lru_cache(maxsize=4096)
def _expired_reason(expires: datetime) -> str:
    return f"grant expired at {format_instant(expires)}"


def _unresolved(ref: str, origin: Origin) -> Problem:
    return Problem(
        f"identity {ref!r} is not known to Globus Auth",
        origin,
        hint="check the spelling of the username; nothing is changed until it resolves",
    )


def _terms(grant: GrantIntent) -> tuple[object, ...]:
    return (
        grant.permissions,
        grant.expires,
        grant.notify,
        grant.notify_message,
        grant.notify_email,
        grant.revoke_after_download,
        grant.cleanup,
    )


def compute_desired(
    intent: Intent,
    identities: Mapping[str, Identity],
    *,
    now: datetime,
    consumed: frozenset[RuleKey] = frozenset(),
) -> DesiredState:
    """Split the intent at ``now`` into what must exist and what must be gone.

    A grant expires exactly at its ``expires`` instant (``expires <= now`` is absent).
    A consumed grant (downloaded, for revoke-after-download grants) is never in force again.
    """
    rules: dict[RuleKey, DesiredRule] = {}
    revoked: dict[RuleKey, RevokedRule] = {}
    problems: list[Problem] = []
    notes: list[str] = []
    upcoming: list[datetime] = []
    watched: dict[str, Origin] = {}
    group_names = {g.id: g.name for g in intent.groups}

    for grant in intent.grants:
        expired = grant.expires <= now
        resolved = _resolve_principal(grant, identities, group_names)
        if resolved is None:
            if not expired:
                problems.append(_unresolved(grant.principal.value, grant.origin))
            continue
        principal, identity = resolved
        path = expand_path(
            grant.path,
            identity_id=principal.id if principal.type == "identity" else "",
            group_id=principal.id if principal.type == "group" else "",
            distribution=grant.distribution,
        )
        key: RuleKey = (grant.collection_id, principal.type, principal.id, path)
        if expired or key in consumed:
            why = _expired_reason(grant.expires) if expired else CONSUMED_REASON
            revoked.setdefault(key, RevokedRule(key, grant, principal, path, why))
            continue
        upcoming.append(grant.expires)
        existing = rules.get(key)
        if existing is not None:
            if _terms(existing.grant) != _terms(grant):
                problems.append(
                    Problem(
                        f"grant for {principal} on {path} conflicts with the grant at "
                        f"{existing.grant.origin} (same identity written two ways, "
                        "different terms)",
                        grant.origin,
                        hint="make both grants identical or remove one",
                    )
                )
            continue
        email = grant.notify_email or (identity.email if identity is not None else None)
        if grant.notify and email is None:
            notes.append(
                f"{grant.origin}: warning: Globus Auth knows no email address for {principal} "
                "(an identity that never logged in has none), so the rule is created without "
                "a notification; give the grant a `notify_email`"
            )
        rules[key] = DesiredRule(key, grant, principal, path, email if grant.notify else None)
        if grant.revoke_after_download:
            watched.setdefault(grant.distribution, grant.origin)

    notes.extend(
        f"{origin}: distribution {name!r} revokes after download, which sees Globus Transfer "
        "tasks only: a download over HTTPS (the web app's download button, a direct link) is "
        "invisible to Transfer, so such a grant ends at its expiry"
        for name, origin in watched.items()
    )
    members, expired_members = _compute_members(intent, identities, now, problems, upcoming)
    for key in rules:
        revoked.pop(key, None)
    return DesiredState(
        rules=rules,
        revoked=revoked,
        members=members,
        expired_members=expired_members,
        problems=tuple(problems),
        notes=tuple(notes),
        next_expiry=min(upcoming, default=None),
    )


def _compute_members(
    intent: Intent,
    identities: Mapping[str, Identity],
    now: datetime,
    problems: list[Problem],
    upcoming: list[datetime],
) -> tuple[dict[tuple[str, str], DesiredMember], dict[tuple[str, str], DesiredMember]]:
    members: dict[tuple[str, str], DesiredMember] = {}
    expired: dict[tuple[str, str], DesiredMember] = {}
    for membership in intent.memberships:
        is_expired = membership.expires <= now
        identity = identities.get(membership.identity)
        if identity is None and "@" in membership.identity:
            if not is_expired:
                problems.append(_unresolved(membership.identity, membership.origin))
            continue
        principal = (
            Principal("identity", identity.id, identity.username)
            if identity is not None
            else Principal("identity", membership.identity)
        )
        key = (membership.group_id, principal.id)
        entry = DesiredMember(membership.group_id, principal, membership)
        if is_expired:
            expired.setdefault(key, entry)
            continue
        upcoming.append(membership.expires)
        current = members.get(key)
        # The same identity listed twice (by username and by UUID): the later expiry wins,
        # since membership is on or off and the expiry only decides when it ends.
        if current is None or current.membership.expires < membership.expires:
            members[key] = entry
    for key in members:
        expired.pop(key, None)
    return members, expired
