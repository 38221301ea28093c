"""Plan access rules and their directories for one collection.

Ownership: the tool owns the non-role rules whose path is strictly under the
collection's root. Anything else in the access list (role-derived entries, rules on the
root itself or outside it) is never planned on.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from reconciler.core.actions import (
    Action,
    CreateRule,
    DeleteRule,
    MakeDirectory,
    Principal,
    StageData,
    UpdateRule,
)
from reconciler.core.intent import CollectionIntent
from reconciler.core.lifecycle import Lifecycle, RuleKey, Staging
from reconciler.core.live import LiveCollection, LiveRule
from reconciler.core.plan import PendingRemoval
from reconciler.planning.cleanup import (
    Cleanup,
    compute_absent_rule_cleanups,
    compute_cleanup_actions,
    compute_unclaimed_made_directories,
    merge_cleanup,
)
from reconciler.planning.desired import DesiredRule, RevokedRule
from reconciler.planning.paths import (
    ancestors_between,
    format_instant,
    is_strictly_under,
    self_and_ancestors,
)

STAGING_POLL = timedelta(seconds=10)
"""How soon to look at a staging task in flight again."""
DOWNLOAD_POLL = timedelta(seconds=30)
"""How often to read the task history of collections with revoke-after-download grants."""


@dataclass(frozen=True, slots=True)
class RulePlan:
    actions: tuple[Action, ...]
    managed: int
    notes: tuple[str, ...] = ()
    next_check: datetime | None = None
    pending: tuple[PendingRemoval, ...] = ()
    """Pruned grants' directories still waiting out their grace period."""


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
    return a == b or int(a.timestamp()) == int(b.timestamp())


@dataclass
class _Wanted:
    """What the grants in force need, sorted out against the live rules."""

    updates: list[UpdateRule] = field(default_factory=list)
    to_create: list[DesiredRule] = field(default_factory=list)
    to_stage: list[DesiredRule] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checks: list[datetime] = field(default_factory=list)


def compute_rule_actions(
    collection: CollectionIntent,
    live: LiveCollection,
    wanted: Mapping[RuleKey, DesiredRule],
    revoked: Mapping[RuleKey, RevokedRule],
    *,
    lifecycle: Lifecycle,
    now: datetime,
) -> RulePlan:
    """Creates, updates, deletes, staging and directory changes for one collection;
    ``wanted`` and ``revoked`` hold this collection's entries only."""
    owned = owned_rules(collection, live)
    live_by_key: dict[RuleKey, LiveRule] = {
        (live.id, r.principal_type, r.principal, r.path): r for r in owned
    }
    sorted_out = _sort_out_wanted(collection, live_by_key, wanted, lifecycle=lifecycle, now=now)

    deletes: list[DeleteRule] = []
    cleaned: dict[str, Cleanup] = {}
    uncleaned: list[str] = []
    for key, current in live_by_key.items():
        if key in wanted or current.id is None:
            continue
        gone = revoked.get(key)
        delete = _delete(collection, current, gone)
        deletes.append(delete)
        if gone.grant.cleanup if gone else collection.cleanup:
            reason = (
                "cleanup of the revoked rule's directory"
                if gone
                else "cleanup of the pruned rule's directory"
            )
            merge_cleanup(cleaned, current.path, Cleanup(gone is None, reason, delete.principal))
        else:
            uncleaned.append(current.path)
    deletes.sort(key=lambda d: (d.path, d.principal.id))
    for path, cleanup in compute_absent_rule_cleanups(
        collection, live_by_key, revoked, lifecycle
    ).items():
        merge_cleanup(cleaned, path, cleanup)
    for path, cleanup in compute_unclaimed_made_directories(
        collection, wanted, revoked, lifecycle
    ).items():
        cleaned.setdefault(path, cleanup)

    # Kept: what grants in force use, and what revoked grants asked to keep (a
    # recursive delete of a parent would take it along), whether their rule is still
    # there or already gone.
    kept_by_revoked = [gone.path for gone in revoked.values() if not gone.grant.cleanup]
    cleanup_plan = compute_cleanup_actions(
        collection,
        cleaned,
        kept_paths=[rule.path for rule in wanted.values()] + uncleaned + kept_by_revoked,
        lifecycle=lifecycle,
        now=now,
    )
    actions: list[Action] = [*deletes, *sorted_out.updates, *cleanup_plan.actions]
    made = {
        path
        for cid, path in lifecycle.made_directories
        if cid == collection.id and _being_removed(cid, path, lifecycle) is None
    }
    new_directories = [*sorted_out.to_stage, *sorted_out.to_create]
    actions.extend(_directories_for(collection, new_directories, live.rules, made))
    actions.extend(_stage(collection, rule) for rule in sorted_out.to_stage)
    actions.extend(_create(collection, rule) for rule in sorted_out.to_create)
    checks = sorted_out.checks
    if cleanup_plan.next_check is not None:
        checks.append(cleanup_plan.next_check)
    return RulePlan(
        tuple(actions),
        managed=len(owned),
        notes=(*sorted_out.notes, *cleanup_plan.notes),
        next_check=min(checks, default=None),
        pending=tuple(cleanup_plan.pending),
    )


def _sort_out_wanted(
    collection: CollectionIntent,
    live_by_key: Mapping[RuleKey, LiveRule],
    wanted: Mapping[RuleKey, DesiredRule],
    *,
    lifecycle: Lifecycle,
    now: datetime,
) -> _Wanted:
    """Each grant in force: update its drifted rule, create it, stage its data first, or
    wait (a note); and when to look at its data again."""
    out = _Wanted()
    for key, rule in wanted.items():
        watched = rule.grant.revoke_after_download
        current = live_by_key.get(key)
        if current is not None:
            if watched:
                out.checks.append(now + DOWNLOAD_POLL)
            if current.id is not None and (
                current.permissions != rule.grant.permissions
                or not same_instant(current.expires, rule.grant.expires)
            ):
                out.updates.append(_update(collection, current, rule))
            continue
        removing = _being_removed(collection.id, rule.path, lifecycle)
        if removing is not None:
            out.notes.append(
                f"{rule.grant.origin}: waiting for the removal of {removing} to finish "
                f"before granting {rule.path}"
            )
            out.checks.append(now + STAGING_POLL)
            continue
        staging = lifecycle.stagings.get(key)
        step = compute_staging_step(rule, staging, now)
        if step == "create":
            out.to_create.append(rule)
            if watched:
                out.checks.append(now + DOWNLOAD_POLL)
        elif step == "stage":
            out.to_stage.append(rule)
            out.checks.append(now + STAGING_POLL)
        else:
            out.notes.append(step)
            retry = staging.next_attempt if staging and staging.status == "failed" else None
            out.checks.append(retry or now + STAGING_POLL)
    out.to_create.sort(key=lambda r: r.key)
    out.to_stage.sort(key=lambda r: r.key)
    out.updates.sort(key=lambda u: (u.path, u.principal.id))
    return out


def _being_removed(collection_id: str, path: str, lifecycle: Lifecycle) -> str | None:
    """The directory at or above ``path`` whose delete task has not finished, if any."""
    for ancestor in self_and_ancestors(path):
        if (collection_id, ancestor) in lifecycle.removing_directories:
            return ancestor
    return None


def compute_staging_step(rule: DesiredRule, staging: Staging | None, now: datetime) -> str:
    """``"create"`` the rule, ``"stage"`` the data first, or a note saying why neither
    happens in this pass. A grant with a source gets its rule only after its staging
    task succeeded, so nobody is notified of an empty directory."""
    source = rule.grant.stage
    if source is None:
        return "create"
    if staging is None or not staging.same_source(source.collection_id, source.path):
        return "stage"
    if staging.status == "succeeded":
        return "create"
    if staging.status == "submitted":
        return f"{rule.grant.origin}: waiting for staging task {staging.task_id} into {rule.path}"
    if (
        staging.status == "failed"
        and staging.next_attempt is not None
        and now < staging.next_attempt
    ):
        return (
            f"{rule.grant.origin}: staging into {rule.path} failed ({staging.error}); "
            f"attempt {staging.attempts + 1} after {format_instant(staging.next_attempt)}"
        )
    return "stage"


def _stage(collection: CollectionIntent, rule: DesiredRule) -> StageData:
    source = rule.grant.stage
    assert source is not None
    return StageData(
        collection=collection.name,
        collection_id=collection.id,
        principal=rule.principal,
        path=rule.path,
        source_collection_id=source.collection_id,
        source_path=source.path,
        reason=f"distribution {rule.grant.distribution!r} stages its data before granting",
        origin=rule.grant.origin,
    )


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
        reason=_grant_reason(rule.grant.distribution, rule.grant.expires),
        origin=rule.grant.origin,
    )


@functools.lru_cache(maxsize=4096)
def _grant_reason(distribution: str, expires: datetime) -> str:
    # Cached: every grant of a distribution usually shares one expiry, and building
    # this text per grant showed up when planning 100,000 grants.
    return f"granted by distribution {distribution!r} until {format_instant(expires)}"


def _directories_for(
    collection: CollectionIntent,
    to_create: Iterable[DesiredRule],
    live_rules: Iterable[LiveRule],
    made: set[str],
) -> list[MakeDirectory]:
    """Directories to make before new rules, parents first; a directory that holds or
    contains a live rule's path is known to exist and costs no call."""
    to_create = list(to_create)
    if not to_create:
        return []
    known = {collection.root}
    for path in made:
        known.update(self_and_ancestors(path))
    for live_rule in live_rules:
        known.update(self_and_ancestors(live_rule.path))
    needed: dict[str, str] = {}
    for rule in to_create:
        for directory in ancestors_between(rule.path, collection.root):
            if directory in known:
                continue
            if directory == rule.path:
                needed[directory] = rule.path  # a grant's own directory, even if also a parent
            else:
                needed.setdefault(directory, rule.path)
    # Parents first: by depth, then by name (a bucket per depth avoids a key per path).
    by_depth: dict[int, list[str]] = {}
    for path in needed:
        by_depth.setdefault(path.count("/"), []).append(path)
    ordered = [path for depth in sorted(by_depth) for path in sorted(by_depth[depth])]
    return [
        MakeDirectory(
            collection=collection.name,
            collection_id=collection.id,
            path=path,
            reason="the grant's directory must exist before its rule"
            if needed[path] == path
            else f"parent of {needed[path]}",
            grant_directory=needed[path] == path,
        )
        for path in ordered
    ]
