"""The rules that span entries and files: references, principals, paths, policies, expiry.

Runs after every document validated on its own and the ``Index`` of names is built.
Each rule reports at the position of the value that breaks it and keeps going, so one
run shows every problem. Nothing here depends on *now*: each expiry is recorded as an
``ExpiryCheck`` (with its ``max_duration`` cap) for ``expiring`` to judge at a given
instant, so the result of these checks can be cached across time. Conflicts between
grants are found on lowered values, in ``conflicts``. This module reports; it builds
nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime, timedelta

from reconciler.spec.diagnostics import Report, did_you_mean
from reconciler.spec.expiring import ExpiryCheck
from reconciler.spec.fields import is_uuid, placeholders_in
from reconciler.spec.indexing import Index
from reconciler.spec.lowering import effective_path
from reconciler.spec.models import Collection, Distribution, Grant, Membership
from reconciler.spec.timeparse import parse_duration
from reconciler.spec.validating import Entry, Where, grants_of

_PRINCIPAL_KEYS = ("identity", "group", "public")
_PLACEHOLDER_KIND = {"identity_id": "identity", "group_id": "group"}


def check_spec_set(index: Index, *, report: Report) -> tuple[ExpiryCheck, ...]:
    """Report every cross-entry rule the declarations in ``index`` break; return the
    expiries to judge at now (see ``expiring``)."""
    expiries: list[ExpiryCheck] = []
    for distribution in index.distributions:
        _check_distribution(index, distribution, expiries, report)
    for membership in index.memberships:
        _check_membership(index, membership, expiries, report)
    return tuple(expiries)


def _check_membership(
    index: Index, entry: Entry[Membership], expiries: list[ExpiryCheck], report: Report
) -> None:
    membership, where = entry.model, entry.where
    group = index.declared_group(membership.group)
    if group is None and is_uuid(membership.group):
        report.error(
            where.at("group"),
            f"group {membership.group} is not declared under `groups:`",
            hint="memberships are managed only in declared groups: declare it with a name",
        )
    elif group is None and membership.group not in index.broken_groups:
        report.error(
            where.at("group"),
            f"unknown group `{membership.group}`",
            hint=_unknown_hint(membership.group, index.groups, "groups", index),
        )
    expiries.append(
        _expiry(
            membership.expires,
            group.model.max_duration if group else None,
            f"group `{group.name}`" if group else "",
            at=where,
        )
    )


def _check_distribution(
    index: Index, entry: Entry[Distribution], expiries: list[ExpiryCheck], report: Report
) -> None:
    distribution, where = entry.model, entry.where
    collection = index.collections.get(distribution.collection)
    if collection is None and distribution.collection not in index.broken_collections:
        report.error(
            where.at("collection"),
            f"unknown collection `{distribution.collection}`",
            hint=_unknown_hint(distribution.collection, index.collections, "collections", index),
        )
    if collection is not None and distribution.path is not None:
        _check_under_root(distribution.path, collection, where, ("path",), report)
    stage = distribution.stage
    if (
        stage is not None
        and index.collection_id(stage.collection) is None
        and stage.collection not in index.broken_collections
    ):
        report.error(
            where.at("stage", "collection"),
            f"unknown collection `{stage.collection}`",
            hint=_unknown_hint(stage.collection, index.collections, "collections", index),
        )
    for grant_where, grant in grants_of(entry):
        _check_grant(
            index,
            distribution,
            grant,
            grant_where,
            collection=collection,
            expiries=expiries,
            report=report,
        )


def _check_grant(
    index: Index,
    distribution: Distribution,
    grant: Grant,
    where: Where,
    *,
    collection: Entry[Collection] | None,
    expiries: list[ExpiryCheck],
    report: Report,
) -> None:
    kinds = [key for key in _PRINCIPAL_KEYS if getattr(grant, key) is not None]
    if not kinds:
        report.error(
            where.at(),
            "a grant needs one of `identity`, `group` or `public`",
            hint="add `identity: user@example.org` (or `group:` / `public:`)",
        )
    elif len(kinds) > 1:
        report.error(
            where.key(kinds[1]),
            f"a grant names both `{kinds[0]}` and `{kinds[1]}`, but must name exactly one",
            hint="split it into one grant per principal",
        )
    kind = kinds[0] if len(kinds) == 1 else None
    group = grant.group
    if group is not None and index.group_id(group) is None and group not in index.broken_groups:
        report.error(
            where.at("group"),
            f"unknown group `{group}`",
            hint=_unknown_hint(group, index.groups, "groups", index),
        )
    if kind is not None and kind != "identity":
        for key, value in (
            ("notify", grant.notify),
            ("notify_message", grant.notify_message),
            ("revoke_after_download", grant.revoke_after_download),
        ):
            if value not in (False, None):
                report.error(
                    where.key(key),
                    f"`{key}` is only for identity grants, and this is a {kind} grant",
                    hint=f"remove `{key}`: Globus notifies and tracks single identities only",
                )
    if grant.notify_email is not None and grant.notify is False:
        report.error(
            where.key("notify_email"),
            "`notify_email` says where to send the notification, but `notify` is off",
            hint="add `notify: true` to send it, or remove `notify_email`",
        )
    if grant.notify_message is not None and not grant.notify and kind in (None, "identity"):
        report.error(
            where.key("notify_message"),
            "`notify_message` is sent only with `notify: true`, and this grant does not notify",
            hint="add `notify: true`, or remove `notify_message`",
        )
    _check_grant_path(distribution, grant, where, kind=kind, collection=collection, report=report)
    if collection is None:
        expiries.append(_expiry(grant.expires, None, "", at=where))
        return
    policy = collection.model.policy
    if grant.public is not None and not policy.allow_public:
        report.error(
            where.at("public"),
            f"collection `{collection.name}` does not allow public grants",
            hint=f"set `allow_public: true` in its policy ({collection.where.key()}) "
            "if this release is meant to be public",
        )
    if grant.permissions == "rw" and policy.max_permissions == "r":
        report.error(
            where.at("permissions"),
            f"permissions `rw` exceed the policy of collection `{collection.name}` "
            "(max_permissions: r)",
            hint="grant `r`, or raise `max_permissions` in the collection's policy",
        )
    expiries.append(
        _expiry(
            grant.expires,
            policy.max_duration,
            f"collection `{collection.name}`",
            at=where,
        )
    )


def _check_grant_path(
    distribution: Distribution,
    grant: Grant,
    where: Where,
    *,
    kind: str | None,
    collection: Entry[Collection] | None,
    report: Report,
) -> None:
    path = effective_path(grant, distribution)
    if path is None:
        report.error(
            where.at(),
            f"the grant has no `path`, and distribution `{distribution.name}` has none either",
            hint="add `path:` to the grant, or a default `path:` to the distribution",
        )
        return
    own = grant.path is not None
    at: tuple[str, ...] = ("path",) if own else ()
    source = "" if own else f" (the path of distribution `{distribution.name}`)"
    for name in placeholders_in(path):
        needed = _PLACEHOLDER_KIND.get(name)
        if needed is not None and kind is not None and kind != needed:
            report.error(
                where.at(*at),
                f"`{{{name}}}` in `{path}`{source} only works in {needed} grants, "
                f"and this is a {kind} grant",
                hint="give this grant its own `path`" if not own else None,
            )
    if own and collection is not None:
        # A distribution's default path is checked once, at the distribution.
        _check_under_root(path, collection, where, at, report)


def _check_under_root(
    path: str, collection: Entry[Collection], where: Where, at: tuple[str, ...], report: Report
) -> None:
    """Placeholders stand for one segment each, so the check works on the template text."""
    root = collection.model.root
    if path == root:
        report.error(
            where.at(*at),
            f"`{path}` is the root of collection `{collection.name}`; "
            "a grant must be strictly below it",
            hint=f"grant a directory under the root, e.g. `{root}{{distribution}}/`",
        )
    elif not path.startswith(root):
        report.error(
            where.at(*at),
            f"`{path}` is outside the root `{root}` of collection `{collection.name}`",
            hint=f"paths in this collection start with `{root}`",
        )


def _expiry(expires: datetime, max_duration: str | None, owner: str, *, at: Where) -> ExpiryCheck:
    if max_duration is None:
        return ExpiryCheck(expires, at)
    return ExpiryCheck(expires, at, _parse_cap(max_duration), max_duration, owner)


@functools.lru_cache(maxsize=256)
def _parse_cap(max_duration: str) -> timedelta:
    return parse_duration(max_duration)


def _unknown_hint(name: str, declared: Iterable[str], section: str, index: Index) -> str:
    hint = did_you_mean(name, declared) or f"declare it under `{section}:`"
    if index.unreadable:
        files = ", ".join(index.unreadable)
        hint += f" (or fix {files}: it could not be read and may declare it)"
    return hint
