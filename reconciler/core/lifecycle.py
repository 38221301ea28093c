"""What the reconciler remembers about data around grants, as plain values for planning:
staging tasks, consumed (downloaded) grants, directories it made, and the directories of
pruned grants waiting out their grace period.

These facts cannot be derived from specs and live state alone; they come from the state
store (``reconciler.state``). Losing them is safe in the ways docs/lifecycle.md explains.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from reconciler.core.intent import Origin

RuleKey = tuple[str, str, str, str]
"""(collection id, principal type, principal id, path): what Globus keeps unique."""

StagingStatus = Literal["submitting", "submitted", "succeeded", "failed"]

NEEDS_ACTION = "needs action: "
"""How a failed staging's error begins when only a person can unblock it (consent,
identity mapping): reported as a located error on its grant, retried hourly."""
BLOCKED_RETRY = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class LocatedError:
    message: str
    origin: Origin | None = None

    def __str__(self) -> str:
        return f"{self.origin}: {self.message}" if self.origin else self.message


@dataclass(frozen=True, slots=True)
class Staging:
    """The staging of one grant's directory from a source.

    ``submitting``: a submission id is reserved, the task may or may not exist (resubmit
    with the same id: Globus runs it once). ``failed``: retried from ``next_attempt``.
    """

    key: RuleKey
    source_collection_id: str
    source_path: str
    status: StagingStatus
    submission_id: str | None = None
    task_id: str | None = None
    attempts: int = 0
    next_attempt: datetime | None = None
    error: str | None = None

    def same_source(self, collection_id: str, path: str) -> bool:
        return (self.source_collection_id, self.source_path) == (collection_id, path)

    @property
    def needs_action(self) -> bool:
        return self.status == "failed" and (self.error or "").startswith(NEEDS_ACTION)


@dataclass(frozen=True, slots=True)
class MemberRefusal:
    """Globus Groups refused to ``add`` an identity (e.g. its settings forbid being added
    to groups): remembered so the add is not retried on every pass."""

    detail: str
    at: datetime


MemberKey = tuple[str, str]
"""(group id, identity id)."""


@dataclass(frozen=True, slots=True)
class ScheduledRemoval:
    """A pruned grant's directory, to be removed at ``due`` unless a spec asks for it
    again first. ``principal_*`` say whose access it served ("" when unknown)."""

    collection_id: str
    path: str
    due: datetime
    principal_type: str = ""
    principal_id: str = ""
    principal_label: str = ""
    scheduled_at: datetime | None = None
    """When the schedule was recorded (None when unknown): a grace lengthened since
    counts from then, and keeps the directory longer; a shorter one never brings the
    removal forward."""


@dataclass(frozen=True, slots=True)
class Lifecycle:
    stagings: Mapping[RuleKey, Staging] = field(default_factory=dict)
    consumed: frozenset[RuleKey] = frozenset()
    errors: tuple[LocatedError, ...] = ()
    """Grant-level failures found while following data (e.g. no activity monitor role):
    reported, not blocking, so the rest of the pass still converges."""
    made_directories: frozenset[tuple[str, str]] = frozenset()
    """(collection id, path) of grant directories the reconciler made and has not yet
    removed: known to exist, and eligible for cleanup even if Globus already dropped
    the rule at its expiry."""
    pending_directories: frozenset[tuple[str, str]] = frozenset()
    """Grant directories a run was making when it stopped (recorded before the mkdir
    call, which may or may not have reached Globus): not known to exist, and never
    removed while merely reserved: the directory may have been there all along, with
    someone's data. The next applying pass settles each one (claimed if empty,
    released otherwise; ``reconciler.following``)."""

    removing_directories: frozenset[tuple[str, str]] = frozenset()
    """Grant directories whose delete task has not finished: neither removed again nor
    granted anew until it has (the task would take the new grant's data with it)."""

    member_refusals: Mapping[MemberKey, MemberRefusal] = field(default_factory=dict)
    """Refused ``add``s by membership: reported, and tried again only after a while."""
    durable: bool = False
    """True when these facts come from a state store, which can remember when a pruned
    grant's directory is due for removal. Without one that directory is never removed
    (deleting data is never urgent; forgetting the schedule must not make it so)."""
    scheduled_removals: Mapping[tuple[str, str], ScheduledRemoval] = field(default_factory=dict)
    """Pruned grants' directories waiting out their grace, by (collection id, path)."""

    @property
    def cleanable_directories(self) -> frozenset[tuple[str, str]]:
        """Grant directories the reconciler knows it made, and so may clean up."""
        return self.made_directories
