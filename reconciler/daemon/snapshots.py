"""What the daemon shows of itself, as one plain value: the ``DaemonSnapshot`` that
``reconciler daemon status``, ``/api/status`` and the dashboard at ``/`` all read.

Frozen dataclasses of texts, numbers and instants, and their JSON form (through a
pydantic ``TypeAdapter``, so the codec is declared, not hand-written). A snapshot never
holds a secret, a client, a token or a webhook URL: error texts are redacted before they
get here. Nothing here does I/O or decides anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import TypeAdapter


@dataclass(frozen=True, slots=True)
class PassRecord:
    """One pass that ran (wake-ups while suspended are not passes)."""

    number: int
    """1 for the first pass since the daemon started, then 2, 3..."""
    pass_id: str
    result: str
    started: datetime
    finished: datetime
    duration: float
    done: int
    failed: int
    skipped: int
    error: str | None = None
    grant_errors: tuple[str, ...] = ()
    """Grant-level errors the plan reported (``file:line:col: message``); not blocking."""


@dataclass(frozen=True, slots=True)
class GrantRow:
    """A managed access rule as Globus holds it after the last pass."""

    principal: str
    """``identity:alice@example.org``, ``group:tutorial-users``, ``anonymous``..."""
    path: str
    permissions: str
    expires: datetime | None
    state: str
    """``in force``, or what is pending or failed about it (``revoking: grant expired...``)."""


@dataclass(frozen=True, slots=True)
class MembershipRow:
    principal: str
    expires: datetime
    state: str


@dataclass(frozen=True, slots=True)
class ChangeRow:
    """One action of the last plan: what was out of line with the specs (drift, a new or
    expired grant) and what the pass did about it."""

    kind: str
    target: str
    reason: str
    outcome: str
    """``done``, ``failed``, ``skipped`` or ``not applied`` (a blocked plan)."""
    detail: str = ""


@dataclass(frozen=True, slots=True)
class CollectionView:
    name: str
    grants: tuple[GrantRow, ...]
    total: int
    """Grants managed in all; ``grants`` may show fewer (the dashboard caps its rows)."""
    changes: tuple[ChangeRow, ...] = ()


@dataclass(frozen=True, slots=True)
class GroupView:
    name: str
    memberships: tuple[MembershipRow, ...]
    total: int
    changes: tuple[ChangeRow, ...] = ()


@dataclass(frozen=True, slots=True)
class ExpiryRow:
    at: datetime
    kind: str
    """``rule`` or ``membership``."""
    where: str
    """``collection:path`` or the group name."""
    principal: str


@dataclass(frozen=True, slots=True)
class ProblemRow:
    kind: str
    """``spec`` (invalid specs), ``blocked`` (a problem or the deletion guard), ``grant``
    (a grant-level error) or ``pass`` (the last pass failed)."""
    message: str
    location: str | None = None
    """``file:line:col`` where the specs say so."""


@dataclass(frozen=True, slots=True)
class HistoryRow:
    at: datetime
    event: str
    where: str
    principal: str
    reason: str
    status: str


@dataclass(frozen=True, slots=True)
class DaemonSnapshot:
    now: datetime
    version: str
    role: str
    """``leader`` or ``standby`` (``leader`` when no election is configured)."""
    suspended: str | None
    """Why no pass runs, or None when the daemon is not suspended."""
    in_pass: bool
    passes_started: int
    passes: tuple[PassRecord, ...]
    """The most recent passes, newest first."""
    next_wake: datetime | None
    next_wake_reason: str | None
    spec_valid: bool | None
    """None until the specs have been read once."""
    diagnostics: tuple[str, ...]
    """The first spec diagnostics (``file:line:col: severity: message``), errors first."""
    planned_at: datetime | None
    """When the plan that ``collections``, ``groups`` and ``expiries`` come from was made."""
    collections: tuple[CollectionView, ...]
    groups: tuple[GroupView, ...]
    expiries: tuple[ExpiryRow, ...]
    """Upcoming expiries, soonest first."""
    problems: tuple[ProblemRow, ...]
    history: tuple[HistoryRow, ...]
    """The most recent journal entries, newest first."""

    @property
    def last_pass(self) -> PassRecord | None:
        return self.passes[0] if self.passes else None


_ADAPTER: TypeAdapter[DaemonSnapshot] = TypeAdapter(DaemonSnapshot)


def render_snapshot_json(snapshot: DaemonSnapshot) -> bytes:
    return _ADAPTER.dump_json(snapshot, indent=2) + b"\n"


def parse_snapshot_json(data: bytes | str) -> DaemonSnapshot:
    """The inverse of ``render_snapshot_json``; raises ``ValueError`` on anything else."""
    return _ADAPTER.validate_json(data)
