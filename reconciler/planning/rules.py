"""Plan access rules and their directories for one collection.

Ownership: the tool owns the non-role rules whose path is strictly under the
collection's root. Anything else in the access list (role-derived entries, rules on the
root itself or outside it) is never planned on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from reconciler.core.actions import (
    Action,
    CreateRule,
    DeleteRule,
    MakeDirectory,
    Principal,
    RemoveDirectory,
    UpdateRule,
)
from reconciler.core.intent import CollectionIntent
from reconciler.core.live import LiveCollection, LiveRule
from reconciler.planning.desired import DesiredRule, RevokedRule, RuleKey
from reconciler.planning.paths import (
    ancestors_between,
    format_instant,
    is_strictly_under,
    self_and_ancestors,
)


@dataclass(frozen=True, slots=True)
class RulePlan:
    actions: tuple[Action, ...]
    managed: int


def owned_rules(collection: CollectionIntent, live: LiveCollection) -> tuple[LiveRule, ...]:
    return tuple(
        rule
        for rule in live.rules
        if not rule.is_role_derived and is_strictly_under(rule.path, collection.root)
    )


def same_instant(a: datetime | None, b: datetime | None) -> bool:
    """Globus stores whole seconds; compare at that precision."""
    if a is None or b is None:
        return a is b
    return int(a.timestamp()) == int(b.timestamp())


def compute_rule_actions(
    collection: CollectionIntent,
    live: LiveCollection,
    wanted: Mapping[RuleKey, DesiredRule],
    revoked: Mapping[RuleKey, RevokedRule],
) -> RulePlan:
    """Creates, updates, deletes and directory changes for one collection;
    ``wanted`` and ``revoked`` hold this collection's entries only."""
    owned = owned_rules(collection, live)
    live_by_key: dict[RuleKey, LiveRule] = {
        (live.id, r.principal_type, r.principal, r.path): r for r in owned
    }
    updates: list[UpdateRule] = []
    to_create: list[DesiredRule] = []
    for key, rule in wanted.items():
        current = live_by_key.get(key)
        if current is None:
            to_create.append(rule)
        elif current.id is not None and (
            current.permissions != rule.grant.permissions
            or not same_instant(current.expires, rule.grant.expires)
        ):
            updates.append(_update(collection, current, rule))
    to_create.sort(key=lambda r: r.key)
    updates.sort(key=lambda u: (u.path, u.principal.id))

    deletes: list[DeleteRule] = []
    cleaned: list[tuple[LiveRule, bool]] = []
    for key, current in live_by_key.items():
        if key in wanted or current.id is None:
            continue
        gone = revoked.get(key)
        deletes.append(_delete(collection, current, gone))
        if gone.grant.cleanup if gone else collection.cleanup:
            cleaned.append((current, gone is None))
    deletes.sort(key=lambda d: (d.path, d.principal.id))

    actions: list[Action] = [*deletes, *updates]
    if cleaned:
        kept_paths = [rule.path for rule in wanted.values()]
        actions.extend(_directory_removals(collection, cleaned, kept_paths))
    actions.extend(_directories_for(collection, to_create, live.rules))
    actions.extend(_create(collection, rule) for rule in to_create)
    return RulePlan(tuple(actions), managed=len(owned))


def _delete(
    collection: CollectionIntent, current: LiveRule, gone: RevokedRule | None
) -> DeleteRule:
    assert current.id is not None
    return DeleteRule(
        collection=collection.name,
        collection_id=collection.id,
        rule_id=current.id,
        principal=Principal(
            current.principal_type, current.principal, gone.principal.label if gone else ""
        ),
        path=current.path,
        permissions=current.permissions,
        reason=gone.why if gone else "no spec asks for this rule under the managed root",
        pruned=gone is None,
    )


def _update(collection: CollectionIntent, current: LiveRule, rule: DesiredRule) -> UpdateRule:
    changed = []
    if current.permissions != rule.grant.permissions:
        changed.append(f"permissions {current.permissions} -> {rule.grant.permissions}")
    if not same_instant(current.expires, rule.grant.expires):
        before = format_instant(current.expires) if current.expires else "never"
        changed.append(f"expiry {before} -> {format_instant(rule.grant.expires)}")
    assert current.id is not None
    return UpdateRule(
        collection=collection.name,
        collection_id=collection.id,
        rule_id=current.id,
        principal=rule.principal,
        path=rule.path,
        permissions=rule.grant.permissions,
        expires=rule.grant.expires,
        old_permissions=current.permissions,
        old_expires=current.expires,
        reason="live rule differs from the spec: " + ", ".join(changed),
        origin=rule.grant.origin,
    )


def _create(collection: CollectionIntent, rule: DesiredRule) -> CreateRule:
    return CreateRule(
        collection=collection.name,
        collection_id=collection.id,
        principal=rule.principal,
        path=rule.path,
        permissions=rule.grant.permissions,
        expires=rule.grant.expires,
        notify_email=rule.notify_email,
        notify_message=rule.grant.notify_message if rule.notify_email else None,
        reason=f"granted by distribution {rule.grant.distribution!r} until "
        f"{format_instant(rule.grant.expires)}",
        origin=rule.grant.origin,
    )


def _directories_for(
    collection: CollectionIntent, to_create: Iterable[DesiredRule], live_rules: Iterable[LiveRule]
) -> list[MakeDirectory]:
    """Directories to make before new rules, parents first; a directory that holds or
    contains a live rule's path is known to exist and costs no call."""
    to_create = list(to_create)
    if not to_create:
        return []
    known = {collection.root}
    for live_rule in live_rules:
        known.update(self_and_ancestors(live_rule.path))
    needed: dict[str, str] = {}
    for rule in to_create:
        for directory in ancestors_between(rule.path, collection.root):
            if directory not in known:
                needed.setdefault(directory, rule.path)
    ordered = sorted(needed, key=lambda p: (p.count("/"), p))
    return [
        MakeDirectory(
            collection=collection.name,
            collection_id=collection.id,
            path=path,
            reason="the grant's directory must exist before its rule"
            if needed[path] == path
            else f"parent of {needed[path]}",
        )
        for path in ordered
    ]


def _directory_removals(
    collection: CollectionIntent,
    deleted: Iterable[tuple[LiveRule, bool]],
    kept_paths: list[str],
) -> list[RemoveDirectory]:
    """A revoked rule's own directory goes, unless a rule that stays uses it or
    something below it; never the root, never outside it."""
    # A directory is in use when it is a kept path or an ancestor of one.
    in_use = {ancestor for kept in kept_paths for ancestor in self_and_ancestors(kept)}
    out: dict[str, RemoveDirectory] = {}
    for rule, pruned in deleted:
        path = rule.path
        if not is_strictly_under(path, collection.root) or path in in_use:
            continue
        out.setdefault(
            path,
            RemoveDirectory(
                collection=collection.name,
                collection_id=collection.id,
                path=path,
                reason="cleanup of the revoked rule's directory",
                pruned=pruned,
            ),
        )
    return [out[p] for p in sorted(out)]
