"""An ActionPort that remembers: it wraps the Globus port and writes to the state store
what later passes need (directories made, staging submissions) before or after each
call, so a crash at any point leaves the store telling the truth, or recording an
attempt whose outcome is unknown.

Staging is reserved before it is submitted: the submission id is stored first, and a
retry (same pass, next pass, or another process) submits under the same id, which
Globus runs once. No duplicate task, even across a crash between submit and record.
A grant directory is reserved before its mkdir the same way, so a crash between Globus
making it and the store recording it cannot leave a directory no pass will clean up.
A pruned grant's directory removal is scheduled here (the executor runs it before the
rule's deletion), so a crash between the two leaves a schedule, never a directory that
is removed early or forgotten.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from reconciler.core.actions import (
    CancelRemoval,
    CreateRule,
    DeleteRule,
    MakeDirectory,
    ScheduleRemoval,
    StageData,
    UpdateRule,
)
from reconciler.core.lifecycle import BLOCKED_RETRY, NEEDS_ACTION, ScheduledRemoval
from reconciler.errors import StagingBlocked
from reconciler.executing import ActionPort, CreateResult
from reconciler.globus.listing import DirectoryState
from reconciler.state import StateStore


class StagingPort(ActionPort, Protocol):
    def new_submission_id(self) -> str: ...
    def submit_staging(self, action: StageData, submission_id: str) -> str: ...
    def directory_state(self, collection_id: str, path: str) -> DirectoryState: ...


class RecordingPort:
    def __init__(
        self, inner: StagingPort, store: StateStore, *, clock: Callable[[], datetime]
    ) -> None:
        self._inner = inner
        self._store = store
        self._clock = clock

    def make_directory(self, action: MakeDirectory) -> bool:
        if not action.grant_directory:
            return self._inner.make_directory(action)
        # Reserved before the call: a crash after Globus made the directory but before
        # it was recorded would leave a directory no later pass knows it may clean up.
        # A failed call keeps the reservation (the directory may exist all the same).
        cid, path = action.collection_id, action.path
        fresh = self._store.reserve_directory(cid, path, now=self._clock())
        created = self._inner.make_directory(action)
        if created:
            self._store.record_made_directory(cid, path, now=self._clock())
        elif fresh:
            self._store.release_directory(cid, path)  # there before: never ours to remove
        else:
            # "Existed" after an interrupted attempt: made by that attempt, or there all
            # along (a dataset the grant points at). Only an empty one is claimed.
            settle_reserved_directory(
                self._store, cid, path, self._inner.directory_state(cid, path), now=self._clock()
            )
        return created

    def stage_data(self, action: StageData) -> str:
        key = (action.collection_id, action.principal.type, action.principal.id, action.path)
        submission_id = self._store.reserve_staging(
            key,
            action.source_collection_id,
            action.source_path,
            self._inner.new_submission_id(),
            now=self._clock(),
        )
        try:
            task_id = self._inner.submit_staging(action, submission_id)
        except StagingBlocked as err:
            # Refused outright (no task exists): failed, with the remedy, tried again in an
            # hour; planning reports it on the grant meanwhile.
            now = self._clock()
            self._store.record_staging(
                key,
                "failed",
                now=now,
                error=NEEDS_ACTION + err.message,
                next_attempt=now + BLOCKED_RETRY,
            )
            raise
        self._store.record_staging(key, "submitted", task_id=task_id, now=self._clock())
        return task_id

    def create_rule(self, action: CreateRule) -> CreateResult:
        return self._inner.create_rule(action)

    def update_rule(self, action: UpdateRule) -> None:
        self._inner.update_rule(action)

    def delete_rule(self, action: DeleteRule) -> bool:
        return self._inner.delete_rule(action)

    def schedule_removal(self, action: ScheduleRemoval) -> None:
        principal = action.principal
        entry = ScheduledRemoval(
            collection_id=action.collection_id,
            path=action.path,
            due=action.due,
            principal_type=principal.type if principal else "",
            principal_id=principal.id if principal else "",
            principal_label=principal.label if principal else "",
        )
        # Recorded with what its grace counts from, so a lengthened grace extends it
        # from there (and an unchanged one never looks lengthened).
        self._store.schedule_removal(entry, now=action.since or self._clock())

    def cancel_removal(self, action: CancelRemoval) -> None:
        self._store.cancel_removal(action.collection_id, action.path)

    def remove_directories(self, collection_id: str, paths: Sequence[str]) -> str:
        # Forgotten only once the delete task has succeeded (reconciler.following):
        # until then the directory still exists, and a failed task is tried again.
        task_id = self._inner.remove_directories(collection_id, paths)
        self._store.record_removal(collection_id, paths, task_id, now=self._clock())
        return task_id

    def change_members(
        self,
        group_id: str,
        *,
        add: Sequence[str],
        remove: Sequence[str],
        approve: Sequence[str] = (),
    ) -> Mapping[str, str | None]:
        results = self._inner.change_members(group_id, add=add, remove=remove, approve=approve)
        # A per-item refusal of `add` is Globus's answer about that person (left, opted
        # out...): remembered so later passes report it rather than ask again each time.
        for identity_id in add:
            refusal = results.get(identity_id)
            if refusal:
                self._store.record_member_refusal(group_id, identity_id, refusal, now=self._clock())
            else:
                self._store.forget_member_refusal(group_id, identity_id)
        return results


def settle_reserved_directory(
    store: StateStore, collection_id: str, path: str, state: DirectoryState, *, now: datetime
) -> bool:
    """Resolve a reservation whose mkdir outcome was never seen: an empty directory is
    recorded as made (removing it later loses nothing); a missing one, or one holding
    anything, is released: the reconciler may remove only what it knows it made, and a
    directory it made is empty until it stages data into it, which happens only after
    the directory was recorded as made. True when recorded as made."""
    if state == "empty":
        store.record_made_directory(collection_id, path, now=now)
        return True
    store.release_directory(collection_id, path)
    return False
