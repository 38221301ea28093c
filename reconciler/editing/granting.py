"""Grants: add one to a distribution (creating the distribution on request), extend
one, revoke one. Pure.

Each ``compute_*`` function takes a ``Workspace`` and returns a ``Proposal`` (splices,
what they must amount to, a one-line summary that is also the commit subject), or
refuses with ``EditRefused`` and a hint: an unknown distribution or collection (with a
"did you mean"), a grant that exists already (``AlreadyExists``: extend it), a principal
with grants on several paths (``--path``), an expiry in the past. Whether the result is
a valid spec set is ``checking``'s job; files are ``applying``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.editing.arguments import Expiry, Principal
from reconciler.editing.errors import AlreadyExists, BadArgument, EditRefused
from reconciler.editing.locating import (
    DistributionSite,
    GrantSite,
    compute_declared,
    compute_distributions,
    compute_grants,
    compute_list_sites,
    same_principal,
)
from reconciler.editing.proposals import AppendItem, Proposal
from reconciler.editing.rendering import Timestamp
from reconciler.editing.splicing import splice_append_item
from reconciler.editing.workspace import (
    Builder,
    Workspace,
    append_to_top_list,
    find_distribution,
    now_expiry,
    or_similar,
    require_future,
    require_readable,
    set_expiries,
)
from reconciler.editing.yamltext import ParsedText, compute_layout
from reconciler.spec.diagnostics import did_you_mean


@dataclass(frozen=True, slots=True)
class GrantRequest:
    """A grant to add. With ``create``, a missing distribution is created in
    ``collection`` (in ``file``, or next to similar entries), and ``path`` becomes the
    distribution's path instead of the grant's own."""

    distribution: str
    principal: Principal
    expiry: Expiry
    permissions: str = "r"
    notify: bool | str = False
    revoke_after_download: bool = False
    path: str | None = None
    cleanup: bool | None = None
    create: bool = False
    collection: str | None = None
    file: Path | None = None


def compute_grant_addition(ws: Workspace, request: GrantRequest) -> Proposal:
    """Add a grant to its distribution (creating the distribution with ``create``)."""
    require_future(request.expiry, ws.now, verb="add")
    require_readable(ws)
    found = find_distribution(ws, request.distribution, creating=request.create, adding=True)
    if found is None:
        return _compute_creation(ws, request)
    if request.file is not None and found.file.spec.path != request.file:
        raise BadArgument(
            f"distribution `{found.name}` is in {found.file.spec.name}, not {request.file}",
            hint="--file only says where --create puts a new distribution; leave it out",
        )
    if request.create and request.collection and request.collection != found.collection:
        raise EditRefused(
            f"distribution `{found.name}` already exists in collection `{found.collection}` "
            f"({found.file.spec.name}:{found.line}), not `{request.collection}`",
            hint="leave out --create, or choose another distribution name",
        )
    path = request.path or found.path
    groups = compute_declared(ws.files, "groups")
    for grant in compute_grants(found):
        mine = grant.principal and same_principal(grant.principal, request.principal, groups)
        if mine and grant.path == path:
            raise AlreadyExists(
                f"{request.principal} already has a grant on {path} in distribution "
                f"`{found.name}` ({grant.location}), until {grant.expires_text}",
                hint=f"change its expiry with `reconciler grant extend {found.name} "
                f"{request.principal} --for ...` (or --expires ...)",
            )
    grants = found.grants
    if grants is None:
        raise EditRefused(
            f"{found.file.spec.name}:{found.line}: distribution `{found.name}` has no "
            "`grants:` list of its own",
            hint="add `grants: []` to it, then run this command again",
        )
    item = _grant_item(request, with_path=request.path is not None)
    layout = compute_layout(found.file, ws.files, key="grants")
    splices = splice_append_item(
        found.file.spec,
        key=grants.key,
        value=grants.value,
        item=item,
        layout=layout,
        in_flow=grants.in_flow,
    )
    builder = Builder()
    builder.add(found.file, splices, AppendItem(grants.path, dict(item)))
    return Proposal(
        edits=builder.edits(),
        summary=_grant_summary(request, found.collection),
        expires=request.expiry.instant,
    )


def _grant_item(request: GrantRequest, *, with_path: bool) -> dict[str, Any]:
    item: dict[str, Any] = {request.principal.kind: request.principal.value}
    if with_path and request.path is not None:
        item["path"] = request.path
    item["expires"] = Timestamp(request.expiry.text)
    item["permissions"] = request.permissions
    if request.notify:
        item["notify"] = True
        if isinstance(request.notify, str):
            item["notify_message"] = request.notify
    if request.revoke_after_download:
        item["revoke_after_download"] = True
    if request.cleanup is not None:
        item["cleanup"] = request.cleanup
    return item


def _grant_summary(request: GrantRequest, collection: str | None) -> str:
    return (
        f"grant {request.principal} {request.permissions} on "
        f"{collection or '?'}/{request.distribution} until {request.expiry.text}"
    )


def _compute_creation(ws: Workspace, request: GrantRequest) -> Proposal:
    """A new distribution holding the one grant ``request`` asks for."""
    if not request.collection:
        raise BadArgument(
            "--create needs the collection of the new distribution",
            hint="add --collection NAME (a collection declared under `collections:`)",
        )
    collections = compute_declared(ws.files, "collections")
    if request.collection not in collections:
        known = ", ".join(sorted(collections)) or "none"
        raise EditRefused(
            f"there is no collection `{request.collection}` in {ws.specs_dir} (known: {known})",
            hint=did_you_mean(request.collection, collections)
            or "declare it under `collections:` first",
        )
    target = _creation_file(ws, request, collections[request.collection][0])
    distribution: dict[str, Any] = {
        "name": request.distribution,
        "collection": request.collection,
    }
    if request.path is not None:
        distribution["path"] = request.path
    distribution["grants"] = [_grant_item(request, with_path=False)]
    summary = _grant_summary(request, request.collection) + " (new distribution)"
    builder = Builder()
    append_to_top_list(ws, builder, target, "distributions", distribution)
    return Proposal(edits=builder.edits(), summary=summary, expires=request.expiry.instant)


def _creation_file(ws: Workspace, request: GrantRequest, declaring: ParsedText) -> ParsedText:
    if request.file is not None:
        return ws.file_at(request.file)
    dists = compute_distributions(ws.files)
    same = [d for d in dists if d.collection == request.collection]
    if same:
        return same[-1].file
    lists = compute_list_sites(ws.files, "distributions")
    return lists[-1].file if lists else declaring


def compute_grant_extension(
    ws: Workspace,
    distribution: str,
    principal: Principal,
    expiry: Expiry,
    *,
    path: str | None = None,
) -> Proposal:
    """Move the expiry of ``principal``'s grant in ``distribution`` to ``expiry``."""
    if expiry.instant <= ws.now:
        raise EditRefused(
            f"the new expiry {expiry.text} is not in the future",
            hint=f"to end access now, use `reconciler grant revoke {distribution} {principal}`",
        )
    require_readable(ws)
    found = find_distribution(ws, distribution, creating=False)
    assert found is not None
    grants = _pick_grants(ws, found, principal, path)
    summary = (
        f"extend grant {principal} on {found.collection or '?'}/{found.name} until {expiry.text}"
    )
    return set_expiries(
        grants,
        expiry,
        summary=summary,
        unchanged=f"{principal} already has "
        f"access to {found.name} until {expiry.text}; nothing to change",
    )


def compute_grant_revocation(
    ws: Workspace, distribution: str, principal: Principal, *, path: str | None = None
) -> Proposal:
    """End ``principal``'s grant in ``distribution`` now: its expiry becomes *now*."""
    require_readable(ws)
    found = find_distribution(ws, distribution, creating=False)
    assert found is not None
    grants = _pick_grants(ws, found, principal, path)
    expiry = now_expiry(ws.now)
    live = [g for g in grants if g.expires is None or g.expires > ws.now]
    summary = f"revoke grant {principal} on {found.collection or '?'}/{found.name} at {expiry.text}"
    if not live:
        ended = ", ".join(sorted({g.expires_text or "?" for g in grants}))
        return Proposal(
            edits=(),
            summary=f"{principal}'s grant in {found.name} already ended ({ended}); "
            "nothing to change",
        )
    return set_expiries(live, expiry, summary=summary, unchanged="", ends_access=True)


def _pick_grants(
    ws: Workspace, found: DistributionSite, principal: Principal, path: str | None
) -> list[GrantSite]:
    """The grants of ``principal`` in ``found`` (on ``path``); refuses none or several
    paths without ``--path``."""
    groups = compute_declared(ws.files, "groups")
    grants = compute_grants(found)
    mine = [g for g in grants if g.principal and same_principal(g.principal, principal, groups)]
    if not mine:
        others = sorted({str(g.principal) for g in grants if g.principal})
        raise EditRefused(
            f"{principal} has no grant in distribution `{found.name}` "
            f"({found.file.spec.name}:{found.line})",
            hint=or_similar(
                f"add one with `reconciler grant add {found.name} {principal} --for ...`",
                did_you_mean(str(principal), others),
            ),
        )
    paths = sorted({g.path or "?" for g in mine})
    if path is not None:
        mine = [g for g in mine if g.path == path]
        if not mine:
            raise EditRefused(
                f"{principal} has no grant on {path} in distribution `{found.name}`",
                hint=f"its grants there are on: {', '.join(paths)}",
            )
    elif len(paths) > 1:
        raise EditRefused(
            f"{principal} has grants on {len(paths)} paths in distribution `{found.name}`",
            hint="pick one with --path: " + ", ".join(paths),
        )
    return mine
