"""Validated spec models to ``reconciler.core.intent`` values.

Lowering resolves what the specs alone can resolve: collection and group names become
UUIDs, a grant's path becomes its own ``path`` or its distribution's, its ``cleanup``
its own value or its collection policy's.
Usernames and path placeholders stay as written (planning resolves them with Globus
Auth). A grant whose references do not resolve lowers to ``None``: ``checking`` has
reported why. Nothing here reports diagnostics or decides validity.
"""

from __future__ import annotations

from reconciler.core.intent import (
    CollectionIntent,
    GrantIntent,
    GroupIntent,
    MembershipIntent,
    PrincipalRef,
    StageSource,
)
from reconciler.spec.indexing import Index
from reconciler.spec.models import Collection, Distribution, Grant, Group, Membership
from reconciler.spec.timeparse import parse_duration
from reconciler.spec.validating import Entry, grants_of


def effective_path(grant: Grant, distribution: Distribution) -> str | None:
    """The path a grant gives access to, placeholders still in place."""
    return grant.path if grant.path is not None else distribution.path


def principal_of(grant: Grant, index: Index) -> PrincipalRef | None:
    """Who a grant is for, a group name resolved to its UUID; None unless exactly one."""
    given = [grant.identity, grant.group, grant.public]
    if sum(value is not None for value in given) != 1:
        return None
    if grant.identity is not None:
        return PrincipalRef("identity", grant.identity)
    if grant.group is not None:
        group_id = index.group_id(grant.group)
        return PrincipalRef("group", group_id) if group_id else None
    if grant.public == "anonymous":
        return PrincipalRef("anonymous", "")
    return PrincipalRef("all_authenticated_users", "")


def lower_collection(entry: Entry[Collection]) -> CollectionIntent:
    model = entry.model
    return CollectionIntent(
        name=entry.name,
        id=model.id,
        root=model.root,
        cleanup=model.policy.cleanup,
        origin=entry.where.key(),
        prune_grace=parse_duration(model.policy.prune_grace),
    )


def lower_group(entry: Entry[Group]) -> GroupIntent:
    return GroupIntent(
        name=entry.name, id=entry.model.id, mode=entry.model.members, origin=entry.where.key()
    )


def lower_grants(index: Index, entry: Entry[Distribution]) -> list[GrantIntent]:
    """The grants of one distribution whose references all resolve."""
    distribution = entry.model
    collection = index.collections.get(distribution.collection)
    if collection is None:
        return []
    stage: StageSource | None = None
    if distribution.stage is not None:
        source_id = index.collection_id(distribution.stage.collection)
        if source_id is None:
            return []
        stage = StageSource(collection_id=source_id, path=distribution.stage.path)
    lowered: list[GrantIntent] = []
    for where, grant in grants_of(entry):
        principal = principal_of(grant, index)
        path = effective_path(grant, distribution)
        if principal is None or path is None:
            continue
        lowered.append(
            GrantIntent(
                distribution=distribution.name,
                collection=distribution.collection,
                collection_id=collection.model.id,
                principal=principal,
                path=path,
                permissions=grant.permissions,
                expires=grant.expires,
                notify=grant.notify,
                notify_message=grant.notify_message if grant.notify else None,
                revoke_after_download=grant.revoke_after_download,
                cleanup=(
                    grant.cleanup if grant.cleanup is not None else collection.model.policy.cleanup
                ),
                stage=stage,
                origin=where.at(),
                notify_email=grant.notify_email if grant.notify is not False else None,
            )
        )
    return lowered


def lower_membership(index: Index, entry: Entry[Membership]) -> MembershipIntent | None:
    group = index.declared_group(entry.model.group)
    if group is None:
        return None
    return MembershipIntent(
        group=group.name,
        group_id=group.model.id,
        identity=entry.model.identity,
        expires=entry.model.expires,
        origin=entry.where.at(),
    )
