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
class LiveState:
    collections: Mapping[str, LiveCollection]
    groups: Mapping[str, LiveGroup]
    identities: Mapping[str, Identity] = field(default_factory=dict)
    """Keyed by every reference the specs used: both the username and the UUID."""
