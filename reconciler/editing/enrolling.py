"""Memberships: add a time-limited membership in a declared group, extend one, revoke
one. Pure.

Like ``granting``, each ``compute_*`` function returns a ``Proposal`` or refuses with a
hint: an undeclared group (memberships are only for groups the specs declare), a
membership that exists already (``AlreadyExists``: extend it), an expiry in the past.
Files and validation are other modules' jobs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.editing.arguments import Expiry
from reconciler.editing.errors import AlreadyExists, EditRefused
from reconciler.editing.locating import (
    MembershipSite,
    canonical_group,
    canonical_identity,
    compute_declared,
    compute_list_sites,
    compute_memberships,
)
from reconciler.editing.proposals import Proposal
from reconciler.editing.rendering import Timestamp
from reconciler.editing.workspace import (
    Builder,
    Workspace,
    append_to_top_list,
    now_expiry,
    or_similar,
    require_future,
    require_readable,
    set_expiries,
)
from reconciler.editing.yamltext import ParsedText
from reconciler.spec.diagnostics import did_you_mean


@dataclass(frozen=True, slots=True)
class MembershipRequest:
    group: str
    identity: str
    expiry: Expiry
    file: Path | None = None


def compute_membership_addition(ws: Workspace, request: MembershipRequest) -> Proposal:
    """Add a time-limited membership of ``request.identity`` in a declared group."""
    require_future(request.expiry, ws.now, verb="add")
    require_readable(ws)
    groups = compute_declared(ws.files, "groups")
    declaring = _find_group(ws, request.group, groups)
    group_id = canonical_group(request.group, groups)
    for site in compute_memberships(ws.files):
        if _is_membership(site, group_id, request.identity, groups):
            raise AlreadyExists(
                f"{request.identity} is already a member of `{request.group}` "
                f"({site.location}), until {site.expires_text}",
                hint=f"change its expiry with `reconciler membership extend {request.group} "
                f"{request.identity} --for ...` (or --expires ...)",
            )
    if request.file is not None:
        target = ws.file_at(request.file)
    else:
        same = [
            s.file
            for s in compute_memberships(ws.files)
            if s.group and canonical_group(s.group, groups) == group_id
        ]
        lists = compute_list_sites(ws.files, "memberships")
        target = same[-1] if same else lists[-1].file if lists else declaring
    item: dict[str, Any] = {
        "group": request.group,
        "identity": request.identity,
        "expires": Timestamp(request.expiry.text),
    }
    builder = Builder()
    append_to_top_list(ws, builder, target, "memberships", item)
    return Proposal(
        edits=builder.edits(),
        summary=f"membership {request.identity} in {request.group} until {request.expiry.text}",
        expires=request.expiry.instant,
    )


def compute_membership_extension(
    ws: Workspace, group: str, identity: str, expiry: Expiry
) -> Proposal:
    """Move the expiry of ``identity``'s membership in ``group`` to ``expiry``."""
    if expiry.instant <= ws.now:
        raise EditRefused(
            f"the new expiry {expiry.text} is not in the future",
            hint="to end the membership now, use "
            f"`reconciler membership revoke {group} {identity}`",
        )
    require_readable(ws)
    sites = _pick_memberships(ws, group, identity)
    return set_expiries(
        sites,
        expiry,
        summary=f"extend membership {identity} in {group} until {expiry.text}",
        unchanged=f"{identity} is already a member of {group} until {expiry.text}; "
        "nothing to change",
    )


def compute_membership_revocation(ws: Workspace, group: str, identity: str) -> Proposal:
    """End ``identity``'s membership in ``group`` now."""
    require_readable(ws)
    sites = _pick_memberships(ws, group, identity)
    expiry = now_expiry(ws.now)
    live = [s for s in sites if s.expires is None or s.expires > ws.now]
    if not live:
        ended = ", ".join(sorted({s.expires_text or "?" for s in sites}))
        return Proposal(
            edits=(),
            summary=f"{identity}'s membership in {group} already ended ({ended}); "
            "nothing to change",
        )
    return set_expiries(
        live,
        expiry,
        summary=f"revoke membership {identity} in {group} at {expiry.text}",
        unchanged="",
        ends_access=True,
    )


def _pick_memberships(ws: Workspace, group: str, identity: str) -> list[MembershipSite]:
    groups = compute_declared(ws.files, "groups")
    _find_group(ws, group, groups)
    group_id = canonical_group(group, groups)
    sites = [
        s for s in compute_memberships(ws.files) if _is_membership(s, group_id, identity, groups)
    ]
    if not sites:
        members = sorted(
            {
                s.identity
                for s in compute_memberships(ws.files)
                if s.identity and s.group and canonical_group(s.group, groups) == group_id
            }
        )
        raise EditRefused(
            f"{identity} has no membership in `{group}` in {ws.specs_dir}",
            hint=or_similar(
                f"add one with `reconciler membership add {group} {identity} --for ...`",
                did_you_mean(identity, members),
            ),
        )
    return sites


def _is_membership(
    site: MembershipSite, group_id: str, identity: str, groups: dict[str, Any]
) -> bool:
    return (
        site.group is not None
        and site.identity is not None
        and canonical_group(site.group, groups) == group_id
        and canonical_identity(site.identity) == canonical_identity(identity)
    )


def _find_group(
    ws: Workspace, ref: str, groups: dict[str, tuple[ParsedText, str | None]]
) -> ParsedText:
    """The file declaring group ``ref`` (a name or a UUID); refuses an undeclared one."""
    if ref in groups:
        return groups[ref][0]
    for parsed, ident in groups.values():
        if ident is not None and ident.lower() == ref.lower():
            return parsed
    known = ", ".join(sorted(groups)) or "none"
    raise EditRefused(
        f"there is no group `{ref}` declared in {ws.specs_dir} (known: {known})",
        hint=did_you_mean(ref, groups)
        or "memberships are only for groups declared under `groups:`; declare it first",
    )
