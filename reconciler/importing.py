"""``reconciler import``: adopt the access rules and memberships that already exist, by
writing them into a new spec file, so that a following plan prunes nothing.

The only module of the import that sequences I/O: read and validate the specs, read
the live rules of the named collections and the members of the named groups (through
``reconciler.globus``), resolve identity UUIDs to usernames, then hand everything to
``reconciler.editing.adopting`` (pure) through the editing package's writer: the same
lock, whole-spec-set validation and atomic write as every other edit. Like Terraform's
``import`` and Flux's ``export``, it is a pure function of live state and the specs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from reconciler.core.intent import CollectionIntent, GroupIntent, Intent
from reconciler.core.live import LiveState
from reconciler.editing.adopting import AdoptRequest, Found, compute_adoption
from reconciler.editing.applying import EditOptions, apply_edit, compute_now
from reconciler.editing.arguments import compute_expiry
from reconciler.editing.errors import BadArgument, EditRefused
from reconciler.editing.loading import compute_new_file, find_spec_files
from reconciler.editing.proposals import Proposal
from reconciler.editing.results import EditResult
from reconciler.editing.workspace import Workspace
from reconciler.globus.connecting import GlobusClients
from reconciler.globus.identities import fetch_identities
from reconciler.globus.reading import fetch_live_state
from reconciler.planning.desired import compute_desired
from reconciler.spec import load_spec_set
from reconciler.spec.diagnostics import did_you_mean
from reconciler.targeting import TargetOptions, open_target

_T = TypeVar("_T", CollectionIntent, GroupIntent)


@dataclass(frozen=True, slots=True)
class ImportRequest:
    """What to adopt and where: the declared ``collections`` and ``groups`` (by name),
    the expiry for what has none (``expires`` or ``duration``), the new file ``out``
    inside the spec directory (replaced only with ``overwrite``)."""

    collections: tuple[str, ...]
    out: Path
    groups: tuple[str, ...] = ()
    expires: str | None = None
    duration: str | None = None
    overwrite: bool = False
    prefix: str = "imported"


def apply_import(
    specs_dir: Path,
    request: ImportRequest,
    *,
    target: TargetOptions,
    dry_run: bool = False,
    now: datetime | None = None,
) -> EditResult:
    """Write the adopted rules and memberships into ``request.out``; ``EditRefused``
    (nothing written) when the specs are invalid, a name is unknown, the file exists,
    or the result would not validate."""
    options = EditOptions(dry_run=dry_run, now=now)
    instant = compute_now(options)
    compute_expiry(expires=request.expires, duration=request.duration, now=instant)
    if not request.collections:
        raise BadArgument("name at least one collection to import from", hint="--collection NAME")
    if not specs_dir.is_dir():
        raise EditRefused(
            f"the spec directory {specs_dir} does not exist or is not a directory",
            hint="give the spec directory that declares the collections and groups",
        )
    out = compute_new_file(specs_dir, request.out)
    intent = _load_intent(specs_dir, out, now=instant)
    scope = _scope(intent, request)
    with open_target(target) as opened:
        opened.seed(scope)
        live = fetch_live_state(opened.clients, scope)
        usernames = _fetch_usernames(opened.clients, live)
    found = compute_found(scope, live, intent=intent, usernames=usernames, now=instant)

    def compute(ws: Workspace) -> Proposal:
        expiry = compute_expiry(expires=request.expires, duration=request.duration, now=ws.now)
        adopt = AdoptRequest(out, expiry, overwrite=request.overwrite, prefix=request.prefix)
        return compute_adoption(ws, found, adopt)

    return apply_edit(specs_dir, compute, options, new_file=out)


def _load_intent(specs_dir: Path, out: Path, *, now: datetime) -> Intent:
    """The spec set as it stands, without the file the import will replace (what it
    declares now is not "already in the specs" once it is replaced)."""
    files = [f for f in find_spec_files(specs_dir) if f != out]
    loaded = load_spec_set(files, now=now)
    errors = [d for d in loaded.diagnostics if d.severity == "error"]
    if errors or loaded.intent is None:
        raise EditRefused(
            "the spec set is invalid, so nothing is imported until it is fixed",
            hint="fix the errors above (`reconciler validate` lists them), then run this again",
            diagnostics=errors,
        )
    return loaded.intent


def _scope(intent: Intent, request: ImportRequest) -> Intent:
    """``intent`` narrowed to the named collections and groups (and their entries)."""
    collections = [_named(intent.collections, name, "collection") for name in request.collections]
    groups = [_named(intent.groups, name, "group") for name in request.groups]
    chosen_collections = {c.name for c in collections}
    chosen_groups = {g.name for g in groups}
    return dataclasses.replace(
        intent,
        collections=tuple(collections),
        groups=tuple(groups),
        grants=tuple(g for g in intent.grants if g.collection in chosen_collections),
        memberships=tuple(m for m in intent.memberships if m.group in chosen_groups),
    )


def _named(declared: Sequence[_T], name: str, kind: str) -> _T:
    for entry in declared:
        if entry.name == name:
            return entry
    known = sorted(entry.name for entry in declared)
    raise EditRefused(
        f"there is no {kind} `{name}` declared in the specs (known: {', '.join(known) or 'none'})",
        hint=did_you_mean(name, known) or f"declare it under `{kind}s:` first",
    )


def _fetch_usernames(clients: GlobusClients, live: LiveState) -> dict[str, str]:
    """Identity UUID -> username for the rules' and members' identities Auth knows."""
    ids = {
        rule.principal
        for collection in live.collections.values()
        for rule in collection.rules
        if rule.principal_type == "identity" and rule.principal
    }
    ids.update(m.identity_id for group in live.groups.values() for m in group.members)
    found = fetch_identities(clients.auth, ids)
    return {
        ident: identity.username
        for ident, identity in found.items()
        if identity.username and identity.username != identity.id
    }


def compute_found(
    scope: Intent,
    live: LiveState,
    *,
    intent: Intent,
    usernames: Mapping[str, str],
    now: datetime,
) -> Found:
    """What the adoption needs: the live entries, and what the specs already say
    about them (refused when planning itself would be: an unknown username..., or
    when Globus refused to show a collection or group to adopt from)."""
    unread = [
        f"collection {c.name} ({c.id}): {live.unreadable_collections[c.id].detail}"
        for c in scope.collections
        if c.id in live.unreadable_collections
    ] + [
        f"group {g.name} ({g.id}): {live.unreadable_groups[g.id].detail}"
        for g in scope.groups
        if g.id in live.unreadable_groups
    ]
    if unread:
        raise EditRefused(
            "Globus refused to show what to adopt, so nothing is imported: " + "; ".join(unread),
            hint="the reconciler's client needs the access manager (or administrator) role on "
            "each collection and admin on each group (`reconciler doctor` checks them)",
        )
    desired = compute_desired(scope, live.identities, now=now)
    if desired.problems:
        raise EditRefused(
            "the specs have problems that block planning, so nothing is imported: "
            + "; ".join(str(p) for p in desired.problems),
            hint="fix them first (`reconciler plan` shows the same)",
        )
    return Found(
        collections=tuple((c, live.collections[c.id]) for c in scope.collections),
        groups=tuple((g, live.groups[g.id]) for g in scope.groups),
        usernames=usernames,
        group_names={g.id: g.name for g in intent.groups},
        declared_rules=frozenset(desired.rules),
        revoked_rules=frozenset(desired.revoked),
        listed_members=frozenset(desired.members) | frozenset(desired.expired_members),
    )
