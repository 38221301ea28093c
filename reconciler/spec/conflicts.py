"""Two specs asking for the same thing: a conflict (an error) or a duplicate (a warning).

Globus keeps one access rule per principal and path in a collection, and one membership
per identity in a group. Two grants for the same principal and path (placeholders that
the specs alone determine are filled in first) must therefore agree on every term; if
they do, only the first is kept. The later one is reported, citing the earlier one.
Works on lowered intent values; knows nothing of YAML or pydantic.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from reconciler.core.intent import GrantIntent, MembershipIntent
from reconciler.spec.diagnostics import Report
from reconciler.spec.fields import is_uuid
from reconciler.spec.timeparse import format_instant

_GRANT_TERMS = (
    "permissions",
    "expires",
    "notify",
    "notify_message",
    "notify_email",
    "revoke_after_download",
    "cleanup",
)


def compute_unique_grants(grants: Iterable[GrantIntent], report: Report) -> tuple[GrantIntent, ...]:
    """``grants`` without repeats; each repeat is reported against the first."""
    first_by_key: dict[tuple[str, str, str, str], GrantIntent] = {}
    unique: list[GrantIntent] = []
    for grant in grants:
        principal = grant.principal
        key = (grant.collection_id, principal.kind, principal.value.casefold(), _rule_path(grant))
        first = first_by_key.setdefault(key, grant)
        if first is grant:
            unique.append(grant)
            continue
        differences = [
            f"{term} ({_show(getattr(first, term))} vs {_show(getattr(grant, term))})"
            for term in _GRANT_TERMS
            if getattr(first, term) != getattr(grant, term)
        ]
        if differences:
            report.error(
                grant.origin,
                f"conflicts with the grant at {first.origin}: same principal and path "
                f"`{key[3]}` but different {', '.join(differences)}",
                hint="make the two grants agree, or remove one of them",
            )
        else:
            report.warning(
                grant.origin,
                f"repeats the grant at {first.origin}; only one access rule is kept",
                hint="remove one of them",
            )
    return tuple(unique)


def compute_unique_memberships(
    memberships: Iterable[MembershipIntent], report: Report
) -> tuple[MembershipIntent, ...]:
    """``memberships`` without repeats; each repeat is reported against the first."""
    first_by_key: dict[tuple[str, str], MembershipIntent] = {}
    unique: list[MembershipIntent] = []
    for membership in memberships:
        key = (membership.group_id, membership.identity.casefold())
        first = first_by_key.setdefault(key, membership)
        if first is membership:
            unique.append(membership)
        elif first.expires != membership.expires:
            report.error(
                membership.origin,
                f"conflicts with the membership at {first.origin}: same group and identity "
                f"but different expires ({_show(first.expires)} vs {_show(membership.expires)})",
                hint="keep one membership with the expiry you mean",
            )
        else:
            report.warning(
                membership.origin,
                f"repeats the membership at {first.origin}",
                hint="remove one of them",
            )
    return tuple(unique)


def _rule_path(grant: GrantIntent) -> str:
    """The grant's path with every placeholder the specs determine filled in."""
    path = grant.path.replace("{distribution}", grant.distribution)
    if grant.principal.kind == "group":
        path = path.replace("{group_id}", grant.principal.value)
    if grant.principal.kind == "identity" and is_uuid(grant.principal.value):
        path = path.replace("{identity_id}", grant.principal.value)
    return path


def _show(value: object) -> str:
    if isinstance(value, datetime):
        return format_instant(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "none" if value is None else str(value)
