"""A plan: the actions that make Globus match the specs, plus what blocks or qualifies it.

A plan is a value. It is computed by ``reconciler.planning``, rendered by
``reconciler.rendering``, saved and reloaded by ``reconciler.plan_codec``, and carried
out by ``reconciler.executing``. ``live_fingerprint`` identifies the live state it was
computed from, so a saved plan whose world has moved on can be refused.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from reconciler.core.actions import DELETIONS, Action, Principal
from reconciler.core.intent import Origin
from reconciler.core.lifecycle import LocatedError


@dataclass(frozen=True, slots=True)
class Problem:
    """Something that makes the plan unsafe to apply (fail closed): nothing is changed."""

    message: str
    origin: Origin | None = None
    hint: str | None = None

    def __str__(self) -> str:
        where = f"{self.origin}: " if self.origin else ""
        tail = f" (hint: {self.hint})" if self.hint else ""
        return f"{where}{self.message}{tail}"


@dataclass(frozen=True, slots=True)
class GuardPolicy:
    """The deletion guard: prunes (deletions no spec declares) above ``max_deletions``,
    or above ``max_fraction`` of the managed objects once there are more than
    ``fraction_floor`` of them, refuse the whole plan unless ``allow_mass_deletion``.
    So do, at any size, prunes that leave a collection or group with none of the
    managed objects it had, and prunes while a spec file that held grants or
    memberships at the last successful pass is gone."""

    max_deletions: int = 25
    max_fraction: float = 0.5
    fraction_floor: int = 5
    allow_mass_deletion: bool = False


@dataclass(frozen=True, slots=True)
class GuardVerdict:
    pruned: int
    managed: int
    tripped: bool
    explanation: str
    tripped_by: tuple[str, ...] = ()
    """Which checks refuse (or would, without ``--allow-mass-deletion``):
    ``max_deletions``, ``max_deletion_fraction``, ``emptied``, ``vanished_spec_files``."""


@dataclass(frozen=True, slots=True)
class SpecFiles:
    """The spec files of a pass, each with its grants and memberships in force, keyed by
    its path relative to the spec directory it was found in (so a checkout elsewhere
    sharing the state store names them alike); and those of the last successful pass."""

    current: Mapping[str, int]
    previous: Mapping[str, int] = field(default_factory=dict)

    def vanished(self) -> tuple[tuple[str, int], ...]:
        """Files that held something at the last successful pass and are gone now."""
        return tuple(
            (name, held)
            for name, held in sorted(self.previous.items())
            if held > 0 and name not in self.current
        )


@dataclass(frozen=True, slots=True)
class PendingRemoval:
    """A pruned grant's directory waiting out its grace period (already scheduled)."""

    collection: str
    collection_id: str
    path: str
    due: datetime
    principal: Principal | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    now: datetime
    actions: tuple[Action, ...]
    problems: tuple[Problem, ...]
    notes: tuple[str, ...]
    guard: GuardVerdict
    live_fingerprint: str
    next_expiry: datetime | None
    """The earliest instant after ``now`` at which a grant or membership expires."""
    managed_rules: int = 0
    managed_members: int = 0
    errors: tuple[LocatedError, ...] = ()
    """Non-blocking failures to report (the rest of the plan still applies)."""
    next_check: datetime | None = None
    """When data around grants should be looked at again: a staging task in flight or
    due for a retry, downloads to watch, or a scheduled removal coming due. The daemon
    wakes then."""
    pending_removals: tuple[PendingRemoval, ...] = ()
    """Pruned grants' directories already scheduled and still waiting (not due yet)."""
    targets: tuple[str, ...] = ()
    """When limited with ``--target`` (``reconciler.planning.scoping``): the targets,
    and the actions are only theirs. Empty for a whole plan."""

    @property
    def blocked(self) -> bool:
        return bool(self.problems) or self.guard.tripped

    @property
    def has_changes(self) -> bool:
        return bool(self.actions)

    def counts(self) -> dict[str, int]:
        """Actions per kind, in a stable order of first appearance."""
        return dict(Counter(a.kind for a in self.actions))

    def deletions(self) -> tuple[Action, ...]:
        return tuple(a for a in self.actions if isinstance(a, DELETIONS))
