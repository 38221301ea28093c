"""Located errors for the collections and groups Globus refused to show in this pass.

A 403 (the client lacks the role, or the endpoint its subscription) or a 404 (deleted,
or a wrong id) concerns one collection or group: planning leaves it alone, and each
grant or membership that uses it carries an error saying why and what to do, so the
rest converges and the command still exits 1. Pure.
"""

from __future__ import annotations

from reconciler.core.intent import Intent, Origin
from reconciler.core.lifecycle import LocatedError
from reconciler.core.live import LiveState, Unreadable


def compute_unreadable_errors(intent: Intent, live: LiveState) -> tuple[LocatedError, ...]:
    errors: list[LocatedError] = []
    for collection in intent.collections:
        said = live.unreadable_collections.get(collection.id)
        if said is None:
            continue
        message = (
            f"collection {collection.name} ({collection.id}) could not be read ({said.detail}): "
            f"{_collection_remedy(said)}; nothing is granted, revoked or pruned there until "
            "then, and the other collections go on"
        )
        origins = [g.origin for g in intent.grants if g.collection_id == collection.id]
        errors.extend(_located(message, origins, collection.origin))
    for group in intent.groups:
        said = live.unreadable_groups.get(group.id)
        if said is None:
            continue
        message = (
            f"group {group.name} ({group.id}) could not be read ({said.detail}): "
            f"{_group_remedy(said)}; no membership of it changes until then, and the other "
            "groups go on"
        )
        origins = [m.origin for m in intent.memberships if m.group_id == group.id]
        errors.extend(_located(message, origins, group.origin))
    return tuple(errors)


def _located(message: str, origins: list[Origin], declared: Origin) -> list[LocatedError]:
    """One error per entry that uses it, or one on its declaration when none does."""
    return [LocatedError(message, origin) for origin in origins or [declared]]


def _collection_remedy(said: Unreadable) -> str:
    if said.missing:
        return "it does not exist (deleted, or a wrong id in the spec)"
    return (
        "the reconciler's client needs the access_manager (or administrator) role on this "
        "guest collection, whose endpoint needs a subscription to assign roles"
    )


def _group_remedy(said: Unreadable) -> str:
    if said.missing:
        return "it does not exist (deleted, or a wrong id in the spec)"
    return "the reconciler's client needs the admin or manager role in this group"
