"""Adopt what exists: the spec file ``reconciler import`` writes, from the live access
rules and memberships it read. Pure.

The file is made so that a following plan *prunes nothing* it adopted:

- every non-role rule strictly under a collection's root that the specs do not already
  mention becomes a grant: identities by username where Auth resolved them (else their
  UUID), groups by declared name (else their UUID), public rules as ``public``;
- rules on directories named after their grantee's identity UUID
  (``/disthome/<uuid>/``) are folded into one distribution per parent directory with
  ``path: /disthome/{identity_id}/``; the others go into one distribution with a path
  per grant;
- a rule with no expiry gets the given one (the plan then shows that update: access
  must end); so does one whose expiry is beyond the collection's ``max_duration``;
  permissions beyond ``max_permissions`` are written as the most the policy allows
  (the plan then narrows them); a rule whose expiry has passed keeps it (the plan
  deletes the rule, as at any expiry);
- each adopted grant says ``cleanup: false``: the reconciler did not put that data
  there, so the end of the access keeps it, whatever the collection's policy says now
  or later;
- the ``member`` role of each declared group, for active members the specs do not list
  yet (their own memberships: one through a subgroup is the subgroup's), with the
  given expiry.

Role entries, anything outside the root (or on the root itself), admins and managers
are never touched by the reconciler and are only listed. What cannot be written under
the policy (a public rule where ``allow_public`` is false), a path with ``{`` or ``}``
(they mark placeholders in a spec) and invitations not yet accepted are listed as what
the next plan would remove. The whole file goes through the same check as every edit
(``checking``): the spec set with it must validate; and it is *proved* here: the spec
set with it, planned against the same live state, must keep every rule and membership
adopted (else nothing is written).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ruamel.yaml.nodes import MappingNode, SequenceNode

from reconciler.core.intent import PUBLIC_KINDS, CollectionIntent, GroupIntent
from reconciler.core.lifecycle import RuleKey
from reconciler.core.live import Identity, LiveCollection, LiveGroup, LiveRule
from reconciler.editing.arguments import Expiry
from reconciler.editing.errors import EditRefused
from reconciler.editing.locating import compute_distributions
from reconciler.editing.proposals import FileEdit, Proposal, ReplaceDocuments
from reconciler.editing.rendering import Timestamp, render_block_key
from reconciler.editing.splicing import Splice
from reconciler.editing.workspace import Workspace, require_future, require_readable
from reconciler.editing.yamltext import (
    DEFAULT_LAYOUT,
    ParsedText,
    effective_value,
    own_entry,
    scalar_text,
)
from reconciler.planning.desired import compute_desired
from reconciler.spec import compute_spec_set
from reconciler.spec.diagnostics import SpecValueError
from reconciler.spec.timeparse import format_instant, parse_duration

ADOPTED = "# Adopted from Globus by `reconciler import`"
"""How every file ``import`` writes begins: ``--force`` replaces only such a file."""


@dataclass(frozen=True, slots=True)
class Found:
    """What import read from Globus, and what the specs already say about it."""

    collections: tuple[tuple[CollectionIntent, LiveCollection], ...]
    groups: tuple[tuple[GroupIntent, LiveGroup], ...] = ()
    usernames: Mapping[str, str] = field(default_factory=dict)
    """Identity UUID -> username, for the identities Auth resolved."""
    group_names: Mapping[str, str] = field(default_factory=dict)
    """Group UUID -> declared name, for every declared group."""
    declared_rules: frozenset[RuleKey] = frozenset()
    """Rules the specs ask for (in force): already adopted."""
    revoked_rules: frozenset[RuleKey] = frozenset()
    """Rules the specs revoke (expired, consumed): the plan deletes them on purpose."""
    listed_members: frozenset[tuple[str, str]] = frozenset()
    """(group UUID, identity UUID) of memberships the specs list, in force or not."""


@dataclass(frozen=True, slots=True)
class AdoptRequest:
    """Write into ``out`` (replacing it only with ``overwrite``); ``expiry`` for what has
    none; distributions are named ``<prefix>-<collection>[-per-user]``."""

    out: Path
    expiry: Expiry
    overwrite: bool = False
    prefix: str = "imported"


@dataclass(frozen=True, slots=True)
class _Policy:
    max_permissions: str = "r"
    allow_public: bool = False
    max_duration: timedelta | None = None


@dataclass
class _Listing:
    adopted: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    untouched: list[str] = field(default_factory=list)
    declared: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept_rules: set[RuleKey] = field(default_factory=set)
    """The live rules written into the file, which the next plan must keep."""
    kept_members: set[tuple[str, str]] = field(default_factory=set)
    """(group UUID, identity UUID) of the memberships written into the file."""

    def lines(self) -> tuple[str, ...]:
        out: list[str] = []
        for title, entries in (
            ("adopted", self.adopted),
            ("adopted with new terms (the plan will update the rule)", self.changed),
            (
                "adopted, but expired already (the plan deletes the rule; its data stays)",
                self.expired,
            ),
            ("not adopted: the next plan would remove these", self.removed),
            ("already in the specs", self.declared),
            ("skipped: never touched by the reconciler", self.untouched),
        ):
            if entries:
                out.append(f"{title}:")
                out.extend(f"  {entry}" for entry in entries)
        return tuple(out)


def compute_adoption(ws: Workspace, found: Found, request: AdoptRequest) -> Proposal:
    """The new spec file, or no edits when there is nothing to adopt."""
    require_future(request.expiry, ws.now, verb="import")
    require_readable(ws)
    target = ws.file_at(request.out)
    if target.spec.exists and not request.overwrite:
        raise EditRefused(
            f"{request.out} exists already; nothing was imported",
            hint="choose another --out FILE, or pass --force to replace it",
        )
    if (
        target.spec.exists
        and _declares_entries(target)
        and not target.spec.text.startswith(ADOPTED)
    ):
        # Re-derived from live rules, a hand-written file would lose what only it says:
        # staging, notifications, revoke after download, cleanup choices.
        raise EditRefused(
            f"{request.out} holds entries that `reconciler import` did not write; "
            "--force replaces only a file import wrote; nothing was imported",
            hint="choose another --out FILE; what that file declares (staging, "
            "notifications, revoke after download) cannot be read back from Globus",
        )
    others = [f for f in ws.files if f.spec.path != request.out]
    taken = {d.name for d in compute_distributions(others)}
    listing = _Listing()
    distributions: list[dict[str, Any]] = []
    for collection, live in found.collections:
        policy = compute_policy(ws, collection.name)
        found_here = _distributions(
            collection,
            live,
            found=found,
            request=request,
            policy=policy,
            now=ws.now,
            listing=listing,
        )
        for name, dist in found_here:
            dist["name"] = _unique(name, taken)
            distributions.append(dict(sorted(dist.items(), key=lambda kv: _ORDER.index(kv[0]))))
    memberships = [
        entry
        for group, live_group in found.groups
        for entry in _memberships(group, live_group, found=found, request=request, listing=listing)
    ]
    grants = sum(len(d["grants"]) for d in distributions)
    if not distributions and not memberships:
        return Proposal(
            edits=(),
            summary="nothing to import: every rule and membership found is in the specs "
            "already or never touched by the reconciler",
            details=listing.lines(),
        )
    text = render_adopted(distributions, memberships, now=ws.now, newline=target.spec.newline)
    require_kept(
        ws,
        target,
        text,
        usernames=found.usernames,
        rules=listing.kept_rules,
        members=listing.kept_members,
    )
    document: dict[str, Any] = {}
    if distributions:
        document["distributions"] = distributions
    if memberships:
        document["memberships"] = memberships
    edit = FileEdit(
        target.spec,
        (Splice(0, len(target.spec.text), text),),
        (ReplaceDocuments((document,)),),
    )
    return Proposal(
        edits=(edit,),
        summary=f"import {_count(grants, 'rule')} in {_count(len(distributions), 'distribution')}"
        f" and {_count(len(memberships), 'membership')} from Globus",
        details=listing.lines(),
        expires=request.expiry.instant,
    )


_ORDER = ("name", "collection", "path", "grants")


def require_kept(
    ws: Workspace,
    target: ParsedText,
    text: str,
    *,
    usernames: Mapping[str, str],
    rules: Iterable[RuleKey],
    members: Iterable[tuple[str, str]] = (),
) -> None:
    """Prove the adoption: with ``text`` as ``target``'s new content, planning against
    the same live state (``usernames``: identity UUID -> username, as Auth resolved
    them) keeps the live ``rules`` and ``members`` written (in force, or revoked at an expiry
    that has passed: never pruned). ``EditRefused`` otherwise, so that a mistake here
    can never turn into a prune (and, after the grace, a deleted directory). A spec set
    that does not validate is left to the writer's own check, which names the errors."""
    sources = [
        (f.spec.name, f.spec.encode())
        for f in ws.files
        if f.spec.exists and f.spec.path != target.spec.path
    ]
    sources.append((target.spec.name, target.spec.encode(text)))
    intent, _ = compute_spec_set(sources, now=ws.now)
    if intent is None:
        return
    identities = {
        username: Identity(identity_id, username) for identity_id, username in usernames.items()
    }
    desired = compute_desired(intent, identities, now=ws.now)
    lost = sorted(
        f"{key[1]}:{key[2]} on {key[3]}"
        for key in rules
        if key not in desired.rules and key not in desired.revoked
    )
    lost.extend(
        sorted(
            f"member {identity_id} of group {group_id}"
            for group_id, identity_id in members
            if (group_id, identity_id) not in desired.members
            and (group_id, identity_id) not in desired.expired_members
        )
    )
    if lost:
        raise EditRefused(
            "the file import would write does not keep everything it adopts, so the next "
            f"plan would remove: {'; '.join(lost)}. Nothing was imported",
            hint="this is a bug in `reconciler import`: please report it; meanwhile write "
            "grants for these by hand",
        )


def _declares_entries(parsed: ParsedText) -> bool:
    """True when the file declares anything (an empty list or mapping declares nothing)."""
    for root in parsed.documents:
        if not isinstance(root, MappingNode):
            return True
        for _key, node in root.value:
            if not isinstance(node, SequenceNode | MappingNode) or node.value:
                return True
    return False


def render_adopted(
    distributions: Sequence[Mapping[str, Any]],
    memberships: Sequence[Mapping[str, Any]],
    *,
    now: datetime,
    newline: str = "\n",
) -> str:
    """The file's text: a comment saying where it came from, then the entries."""
    lines = [
        f"{ADOPTED} at {format_instant(now.replace(microsecond=0))}.",
        "# Review it: every grant ends at its `expires`, and a later change goes",
        "# through the specs like any other.",
    ]
    text = newline.join(lines) + newline
    for key, items in (("distributions", distributions), ("memberships", memberships)):
        if items:
            text += render_block_key(
                key, items, key_column=0, layout=DEFAULT_LAYOUT, newline=newline
            )
    return text


def compute_policy(ws: Workspace, collection: str) -> _Policy:
    """The declared policy of ``collection``, read from the spec text (defaults when
    absent; a malformed value is the validator's business, so it falls back)."""
    for parsed in ws.files:
        for root in parsed.documents:
            if not isinstance(root, MappingNode):
                continue
            declared = own_entry(root, "collections")
            if declared is None or not isinstance(declared[1], MappingNode):
                continue
            for name, body in declared[1].value:
                if name.value != collection or not isinstance(body, MappingNode):
                    continue
                policy = effective_value(body, "policy")
                if not isinstance(policy, MappingNode):
                    return _Policy()
                return _read_policy(policy)
    return _Policy()


def _read_policy(node: MappingNode) -> _Policy:
    def text(key: str) -> str | None:
        return scalar_text(effective_value(node, key))

    duration: timedelta | None = None
    if text("max_duration"):
        try:
            duration = parse_duration(str(text("max_duration")))
        except SpecValueError:
            duration = None
    return _Policy(
        max_permissions="rw" if text("max_permissions") == "rw" else "r",
        allow_public=(text("allow_public") or "").lower() == "true",
        max_duration=duration,
    )


def _distributions(
    collection: CollectionIntent,
    live: LiveCollection,
    *,
    found: Found,
    request: AdoptRequest,
    policy: _Policy,
    now: datetime,
    listing: _Listing,
) -> Iterable[tuple[str, dict[str, Any]]]:
    """The distributions holding ``collection``'s adoptable rules, with base names."""
    per_user: dict[str, list[dict[str, Any]]] = {}
    others: list[dict[str, Any]] = []
    for rule in sorted(live.rules, key=lambda r: (r.path, r.principal_type, r.principal)):
        shown = _describe(rule, collection, found)
        if rule.is_role_derived:
            listing.untouched.append(f"{shown} (a role entry)")
            continue
        if rule.path == collection.root or not rule.path.startswith(collection.root):
            listing.untouched.append(f"{shown} (outside the root {collection.root})")
            continue
        key: RuleKey = (collection.id, rule.principal_type, rule.principal, rule.path)
        if key in found.declared_rules:
            listing.declared.append(shown)
            continue
        if key in found.revoked_rules:
            listing.declared.append(f"{shown} (revoked there: the plan deletes it)")
            continue
        if "{" in rule.path or "}" in rule.path:
            listing.removed.append(
                f"{shown} (`{{` and `}}` mark placeholders in a spec's path, so this "
                "path cannot be written there; adopt it by renaming the directory)"
            )
            continue
        if rule.principal_type in PUBLIC_KINDS and not policy.allow_public:
            listing.removed.append(
                f"{shown} (collection {collection.name} has allow_public: false; "
                "allow it in its policy, then import again, to keep this rule)"
            )
            continue
        grant = _grant(
            rule, collection, found=found, request=request, policy=policy, now=now, listing=listing
        )
        listing.kept_rules.add(key)
        prefix = _per_user_prefix(rule)
        if prefix is not None:
            per_user.setdefault(prefix, []).append(grant)
        else:
            principal, *terms = grant.items()
            others.append(dict([principal, ("path", rule.path), *terms]))
    base = f"{request.prefix}-{collection.name}"
    for index, (prefix, grants) in enumerate(sorted(per_user.items())):
        name = f"{base}-per-user" + (f"-{index + 1}" if index else "")
        dist = {"collection": collection.name, "path": prefix + "{identity_id}/", "grants": grants}
        yield name, dist
    if others:
        yield base, {"collection": collection.name, "grants": others}


def _per_user_prefix(rule: LiveRule) -> str | None:
    """``/disthome/`` for an identity's rule on ``/disthome/<its UUID>/``, else None."""
    if rule.principal_type != "identity" or not rule.principal:
        return None
    # Exactly the UUID as Globus spells it in the rule: `{identity_id}` expands to that,
    # so a directory named in another case is another path (and would be pruned).
    tail = rule.principal + "/"
    if not rule.path.endswith("/" + tail):
        return None
    return rule.path[: len(rule.path) - len(tail)]


def _grant(
    rule: LiveRule,
    collection: CollectionIntent,
    *,
    found: Found,
    request: AdoptRequest,
    policy: _Policy,
    now: datetime,
    listing: _Listing,
) -> dict[str, Any]:
    shown = _describe(rule, collection, found)
    changes: list[str] = []
    expires = rule.expires
    if expires is None:
        changes.append("Globus had no expiry: the given one")
        expires = request.expiry.instant
    elif policy.max_duration is not None and expires > now + policy.max_duration:
        changes.append(f"its expiry {format_instant(expires)} is beyond max_duration")
        expires = request.expiry.instant
    permissions = rule.permissions
    if permissions == "rw" and policy.max_permissions == "r":
        changes.append("rw narrowed to r: the policy's max_permissions")
        permissions = "r"
    grant: dict[str, Any] = dict([_principal(rule, found)])
    grant["expires"] = Timestamp(format_instant(expires))
    grant["permissions"] = permissions
    # Always said, not only where the policy cleans up today: a policy switched on later
    # must not delete data the reconciler never put there when this access ends.
    grant["cleanup"] = False
    until = f"until {format_instant(expires)}"
    if expires <= now:
        listing.expired.append(f"{shown} (expired at {format_instant(expires)})")
    elif changes:
        listing.changed.append(f"{shown} {until} ({'; '.join(changes)})")
    else:
        listing.adopted.append(f"{shown} {until}")
    return grant


def _principal(rule: LiveRule, found: Found) -> tuple[str, str]:
    if rule.principal_type == "identity":
        return "identity", found.usernames.get(rule.principal, rule.principal)
    if rule.principal_type == "group":
        return "group", found.group_names.get(rule.principal, rule.principal)
    return "public", rule.principal_type


def _describe(rule: LiveRule, collection: CollectionIntent, found: Found) -> str:
    kind, who = _principal(rule, found)
    principal = rule.principal_type if kind == "public" else f"{kind}:{who}"
    return f"{principal} {rule.permissions} on {collection.name}:{rule.path}"


def _memberships(
    group: GroupIntent,
    live: LiveGroup,
    *,
    found: Found,
    request: AdoptRequest,
    listing: _Listing,
) -> Iterable[dict[str, Any]]:
    for member in sorted(live.members, key=lambda m: m.identity_id):
        who = found.usernames.get(member.identity_id) or member.identity_id
        shown = f"member {who} of {group.name}"
        if member.role != "member":
            listing.untouched.append(f"{member.role} {who} of {group.name} (admins and managers)")
            continue
        if (group.id, member.identity_id) in found.listed_members:
            listing.declared.append(shown)
            continue
        if member.source_group_id:
            # The subgroup's membership, not this group's: listing it would make the
            # reconciler add the person directly once they leave the subgroup.
            via = found.group_names.get(member.source_group_id) or member.source_group_id
            listing.untouched.append(f"{shown} (through subgroup {via}: the subgroup's membership)")
            continue
        if member.status != "active":
            if group.mode == "exclusive" and member.status == "invited":
                listing.removed.append(
                    f"{shown} ({member.status}, not yet a member: an exclusive group's "
                    "plan removes the invitation; list a membership by hand to keep it)"
                )
            else:
                listing.untouched.append(f"{shown} ({member.status}, not a member now)")
            continue
        listing.adopted.append(f"{shown} until {format_instant(request.expiry.instant)}")
        listing.kept_members.add((group.id, member.identity_id))
        yield {
            "group": group.name,
            "identity": who,
            "expires": Timestamp(format_instant(request.expiry.instant)),
        }


def _unique(name: str, taken: set[str]) -> str:
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        candidate = f"{name}-{number}"
    taken.add(candidate)
    return candidate


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
