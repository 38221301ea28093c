"""What Globus holds now, as read in one pass: access rules per collection and
memberships per managed group, plus the identities the specs name.

These are plain values built by ``reconciler.globus``; planning compares them with
the intent. Times are timezone-aware UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from reconciler.core.intent import Permissions, PrincipalKind


@dataclass(frozen=True, slots=True)
class LiveRule:
    """One entry of a collection's access list. Role-derived entries have ``id`` None
    and ``role_id`` set; they are never planned on."""

    id: str | None
    principal_type: PrincipalKind
    principal: str
    path: str
    permissions: Permissions
    expires: datetime | None
    role_id: str | None = None
    created: datetime | None = None

    @property
    def is_role_derived(self) -> bool:
        return self.id is None or self.role_id is not None


@dataclass(frozen=True, slots=True)
class LiveCollection:
    id: str
    rules: tuple[LiveRule, ...]


@dataclass(frozen=True, slots=True)
class LiveMember:
    identity_id: str
    username: str | None
    role: str
    status: str
    source_group_id: str | None = None
    """Set when the membership is implied by a subgroup: not this group's own, so never
    removed, and a member listed in the specs that has one needs no ``add``."""
    updated: datetime | None = None
    """When the membership last changed status (e.g. when the person left)."""


@dataclass(frozen=True, slots=True)
class LiveGroup:
    id: str
    members: tuple[LiveMember, ...]


@dataclass(frozen=True, slots=True)
class Identity:
    """A Globus Auth identity; ``email`` is used for rule-creation notifications."""

    id: str
    username: str
    email: str | None = None


@dataclass(frozen=True, slots=True)
class Unreadable:
    """What Globus answered when it refused to show a collection or a group."""

    http_status: int | None
    detail: str

    @property
    def missing(self) -> bool:
        return self.http_status == 404


@dataclass(frozen=True, slots=True)
class ServerClock:
    """Globus's clock as one response told it: its HTTP ``Date`` header. ``at`` is None
    when the header was missing or unreadable (``raw`` holds what came, if anything)."""

    source: str
    """Which read it came from, for messages (``transfer access_list of <collection>``)."""
    at: datetime | None
    raw: str | None = None


@dataclass(frozen=True, slots=True)
class LiveState:
    collections: Mapping[str, LiveCollection]
    groups: Mapping[str, LiveGroup]
    identities: Mapping[str, Identity] = field(default_factory=dict)
    """Keyed by every reference the specs used: both the username and the UUID."""
    unreadable_collections: Mapping[str, Unreadable] = field(default_factory=dict)
    """Collections Globus refused to list (403, 404), with what it said: nothing is
    planned on them, and the rest of the pass goes on."""
    unreadable_groups: Mapping[str, Unreadable] = field(default_factory=dict)
    """Groups Globus refused to read (403, 404), likewise."""
    clocks: tuple[ServerClock, ...] = ()
    """Globus's clock from each access list and group read, to check the planning
    instant against before anything is written (never part of the fingerprint)."""
