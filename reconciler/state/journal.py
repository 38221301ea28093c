"""Audit journal entries: who got or lost access to what, when and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class JournalEntry:
    at: datetime
    event: str
    """An action kind (``create_rule``, ``remove_member``...) or a lifecycle event
    (``staging_submitted``, ``staging_succeeded``, ``staging_failed``, ``consumed``)."""
    where: str
    """``collection:path`` or the group name."""
    principal: str
    reason: str
    detail: str = ""
    pass_id: str = ""
    status: str = "done"


@dataclass(frozen=True, slots=True)
class JournalQuery:
    principal: str | None = None
    """Matches a username or UUID anywhere in the principal text."""
    where: str | None = None
    """Matches a collection or group name (prefix of ``where``)."""
    since: datetime | None = None
    until: datetime | None = None
    limit: int | None = None
