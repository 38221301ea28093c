"""What the specs ask for, lowered from the pydantic spec models into plain frozen data.

An ``Intent`` is the whole validated spec set with names resolved to UUIDs where the
specs alone can do it (collection and group names). Identities given by username and
path templates such as ``{identity_id}`` stay unresolved: planning resolves them with the
identity map fetched from Globus Auth. Nothing here knows about files beyond ``Origin``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from reconciler.core.values import value

PrincipalKind = Literal["identity", "group", "all_authenticated_users", "anonymous"]
Permissions = Literal["r", "rw"]
MembershipMode = Literal["additive", "exclusive"]

PUBLIC_KINDS: frozenset[str] = frozenset({"all_authenticated_users", "anonymous"})
DEFAULT_PRUNE_GRACE = timedelta(days=7)
"""How long a pruned grant's directory is kept before it is removed (``policy.prune_grace``)."""


@value
class Origin:
    """Where a spec entry was written: ``file:line:col`` (1-based line and column)."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@value
class PrincipalRef:
    """Who a grant is for, as written: ``value`` is an identity UUID or username,
    a group UUID (group names are resolved when lowering), or ``""`` for public kinds."""

    kind: PrincipalKind
    value: str


@dataclass(frozen=True, slots=True)
class StageSource:
    """Where a distribution's data is copied from (a collection UUID and a path)."""

    collection_id: str
    path: str


@dataclass(frozen=True, slots=True)
class CollectionIntent:
    name: str
    id: str
    root: str
    cleanup: bool
    origin: Origin
    prune_grace: timedelta = DEFAULT_PRUNE_GRACE
    """A pruned grant's directory is removed this long after its rule (never at once)."""


@dataclass(frozen=True, slots=True)
class GroupIntent:
    name: str
    id: str
    mode: MembershipMode
    origin: Origin


@value
class GrantIntent:
    """One grant of one distribution. ``path`` may hold ``{identity_id}``,
    ``{group_id}`` or ``{distribution}`` templates; ``cleanup`` is already the grant's
    own value or its collection's default."""

    distribution: str
    collection: str
    collection_id: str
    principal: PrincipalRef
    path: str
    permissions: Permissions
    expires: datetime
    notify: bool
    notify_message: str | None
    revoke_after_download: bool
    cleanup: bool
    stage: StageSource | None
    origin: Origin
    notify_email: str | None = None
    """Where the notification goes, when the spec says; else the identity's own email."""


@value
class MembershipIntent:
    """A time-limited ``member`` role in a declared group; ``identity`` is a UUID or username."""

    group: str
    group_id: str
    identity: str
    expires: datetime
    origin: Origin


@dataclass(frozen=True, slots=True)
class Intent:
    collections: tuple[CollectionIntent, ...]
    groups: tuple[GroupIntent, ...]
    grants: tuple[GrantIntent, ...]
    memberships: tuple[MembershipIntent, ...]

    def identity_refs(self) -> frozenset[str]:
        """Every identity the specs name (usernames and UUIDs), in grants and memberships."""
        refs = {g.principal.value for g in self.grants if g.principal.kind == "identity"}
        refs.update(m.identity for m in self.memberships)
        return frozenset(refs)

    def lookup_refs(self) -> frozenset[str]:
        """The identities planning needs looked up in Globus Auth: every username (its
        UUID can change, so it is resolved on every pass) and the UUIDs of grants that
        notify (for the email address). Other UUIDs need no call at all."""
        notifying = {g.principal.value for g in self.grants if g.notify and not g.notify_email}
        return frozenset(r for r in self.identity_refs() if "@" in r or r in notifying)
