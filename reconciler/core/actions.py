"""The closed vocabulary of changes a plan may contain, each carrying its reason.

Actions are values: they say what to do and why, never how. ``reconciler.executing``
performs them through ``reconciler.globus``; renderers turn them into text, JSON and
Markdown. ``kind`` is the stable name used in JSON output and logs.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from reconciler.core.intent import Origin, Permissions, PrincipalKind
from reconciler.core.values import value


@value
class Principal:
    """A resolved principal as Globus stores it; ``label`` is for humans (a username)."""

    type: PrincipalKind
    id: str
    label: str = ""

    def __str__(self) -> str:
        if self.type in ("all_authenticated_users", "anonymous"):
            return self.type
        shown = self.label or self.id
        return f"{self.type}:{shown}"


@value
class MakeDirectory:
    kind: ClassVar[str] = "make_directory"
    collection: str
    collection_id: str
    path: str
    reason: str
    grant_directory: bool = False
    """True for a grant's own directory (recorded, and removed at revocation when
    cleanup applies); False for a parent made on the way (never removed)."""


@value
class CreateRule:
    kind: ClassVar[str] = "create_rule"
    collection: str
    collection_id: str
    principal: Principal
    path: str
    permissions: Permissions
    expires: datetime
    notify_email: str | None
    notify_message: str | None
    reason: str
    origin: Origin | None = None


@value
class UpdateRule:
    kind: ClassVar[str] = "update_rule"
    collection: str
    collection_id: str
    rule_id: str
    principal: Principal
    path: str
    permissions: Permissions
    expires: datetime
    old_permissions: Permissions
    old_expires: datetime | None
    reason: str
    origin: Origin | None = None


@value
class DeleteRule:
    kind: ClassVar[str] = "delete_rule"
    collection: str
    collection_id: str
    rule_id: str
    principal: Principal
    path: str
    permissions: Permissions
    reason: str
    pruned: bool
    """True when deleted because no spec asks for it (counts against the deletion guard);
    False for expiry or consumption, which the specs declare and the guard never blocks."""


@value
class RemoveDirectory:
    kind: ClassVar[str] = "remove_directory"
    collection: str
    collection_id: str
    path: str
    reason: str
    pruned: bool
    principal: Principal | None = None
    """Whose access the directory served, when known (for the journal and history)."""


@value
class ScheduleRemoval:
    """Remember (in the state store, before the rule is deleted) that a pruned grant's
    directory is to be removed at ``due``, once its grace period is over. No Globus call:
    the data stays until then, and comes back with the grant if a spec asks for it again."""

    kind: ClassVar[str] = "schedule_removal"
    collection: str
    collection_id: str
    path: str
    due: datetime
    reason: str
    principal: Principal | None = None
    since: datetime | None = None
    """What the grace counts from (the planning instant; when first scheduled, for a
    schedule a lengthened grace extends), recorded with it."""


@value
class CancelRemoval:
    """Forget a scheduled removal: a spec asks for the directory again (or cleanup no
    longer applies). No Globus call; the directory and its data stay."""

    kind: ClassVar[str] = "cancel_removal"
    collection: str
    collection_id: str
    path: str
    due: datetime
    reason: str
    principal: Principal | None = None


@value
class StageData:
    """Copy a distribution's source into a grant's directory (checksum sync); the rule
    is created in a later pass, once the task has succeeded."""

    kind: ClassVar[str] = "stage_data"
    collection: str
    collection_id: str
    principal: Principal
    path: str
    source_collection_id: str
    source_path: str
    reason: str
    origin: Origin | None = None


@value
class AddMember:
    kind: ClassVar[str] = "add_member"
    group: str
    group_id: str
    principal: Principal
    reason: str
    origin: Origin | None = None
    approve: bool = False
    """True when the identity asked to join (a ``pending`` membership): Globus Groups
    takes an ``approve`` for it, not an ``add``."""


@value
class RemoveMember:
    kind: ClassVar[str] = "remove_member"
    group: str
    group_id: str
    principal: Principal
    reason: str
    pruned: bool


Action = (
    ScheduleRemoval
    | CancelRemoval
    | MakeDirectory
    | StageData
    | CreateRule
    | UpdateRule
    | DeleteRule
    | RemoveDirectory
    | AddMember
    | RemoveMember
)
DELETIONS = (DeleteRule, RemoveDirectory, RemoveMember)
