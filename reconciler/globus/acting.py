"""Perform plan actions against Globus, idempotently.

Each method makes the smallest number of calls and treats "already so" as success:
``Exists`` on create adopts the existing rule (and brings its terms in line),
``AccessRuleNotFound`` on delete is done, mkdir on an existing directory is done.
Errors leave as ``GlobusError`` so the executor can isolate them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import globus_sdk

from reconciler.core.actions import (
    CancelRemoval,
    CreateRule,
    DeleteRule,
    MakeDirectory,
    ScheduleRemoval,
    StageData,
    UpdateRule,
)
from reconciler.core.live import LiveRule
from reconciler.errors import GlobusError, ReconcilerError
from reconciler.globus.connecting import GlobusClients
from reconciler.globus.listing import DirectoryState, fetch_directory_state
from reconciler.globus.reading import fetch_collection
from reconciler.globus.sources import compute_consent_blocked
from reconciler.globus.tasks import fetch_submission_id, submit_staging
from reconciler.globus.translating import translate

MEMBER_BATCH = 100


def format_time(value: datetime) -> str:
    return value.astimezone(UTC).replace(microsecond=0).isoformat()


@contextmanager
def _translated(service: str) -> Iterator[None]:
    try:
        yield
    except (globus_sdk.GlobusAPIError, globus_sdk.NetworkError) as err:
        raise translate(err, service=service) from err


@dataclass(frozen=True, slots=True)
class CreateOutcome:
    rule_id: str
    adopted: bool
    """True when the rule already existed (a crashed earlier run, or another writer)."""


class GlobusActions:
    """The executor's port to Globus. Thread-safe: the executor calls it concurrently."""

    def __init__(self, clients: GlobusClients, *, stop: threading.Event | None = None) -> None:
        self._clients = clients
        self._stop = stop
        """Set when writing must stop (SIGTERM, lost leadership): a call in flight
        finishes, and a unit of several calls (a large group's membership batches)
        makes no further call."""

    def make_directory(self, action: MakeDirectory) -> bool:
        """Create the directory; True if created, False if it was already there."""
        return self._mkdir(action.collection_id, action.path)

    def stage_data(self, action: StageData) -> str:
        """Submit the staging copy under a fresh submission id. Without a state store
        nothing remembers the id across runs; ``reconciler.recording.RecordingPort``
        reserves it first so a retry never submits a second task."""
        return self.submit_staging(action, self.new_submission_id())

    def new_submission_id(self) -> str:
        return fetch_submission_id(self._clients.transfer)

    def submit_staging(self, action: StageData, submission_id: str) -> str:
        """Submit the copy; a refusal only a person can lift (``ConsentRequired``)
        leaves as ``StagingBlocked``, with the remedy."""
        try:
            return submit_staging(self._clients.transfer, action, submission_id)
        except GlobusError as err:
            blocked = compute_consent_blocked(self._clients, action.source_collection_id, err)
            if blocked is None:
                raise
            raise blocked from err

    def directory_state(self, collection_id: str, path: str) -> DirectoryState:
        """Whether ``path`` is missing, empty, or holds something (one ``ls``)."""
        return fetch_directory_state(self._clients.transfer, collection_id, path)

    def _mkdir(self, collection_id: str, path: str) -> bool:
        """Create ``path``; a missing parent (removed out of band) is created first."""
        try:
            with _translated("transfer"):
                self._clients.transfer.operation_mkdir(collection_id, path)
        except GlobusError as err:
            if err.code and err.code.endswith("Exists"):
                return False
            parent = path.rstrip("/").rsplit("/", 1)[0] + "/"
            if err.code and "NotFound" in err.code and parent not in ("/", path):
                self._mkdir(collection_id, parent)
                return self._mkdir(collection_id, path)
            raise
        return True

    def create_rule(self, action: CreateRule) -> CreateOutcome:
        doc: dict[str, object] = {
            "DATA_TYPE": "access",
            "principal_type": action.principal.type,
            "principal": action.principal.id,
            "path": action.path,
            "permissions": action.permissions,
            "expiration_date": format_time(action.expires),
        }
        if action.notify_email:
            doc["notify_email"] = action.notify_email
            if action.notify_message:
                doc["notify_message"] = action.notify_message
        try:
            with _translated("transfer"):
                response = self._clients.transfer.add_endpoint_acl_rule(action.collection_id, doc)
        except GlobusError as err:
            if err.code != "Exists":
                raise
            return self._adopt(action)
        return CreateOutcome(str(response["access_id"]), adopted=False)

    def _adopt(self, action: CreateRule) -> CreateOutcome:
        live = fetch_collection(self._clients.transfer, action.collection_id)
        match = _find(live.rules, action)
        if match is None or match.id is None:
            raise GlobusError(
                f"rule for {action.principal} on {action.path} reported as existing but not listed",
                service="transfer",
                code="Exists",
                retryable=True,
            )
        if (
            match.permissions != action.permissions
            or match.expires is None
            or int(match.expires.timestamp()) != int(action.expires.timestamp())
        ):
            self._put_rule(action.collection_id, match.id, action.permissions, action.expires)
        return CreateOutcome(match.id, adopted=True)

    def update_rule(self, action: UpdateRule) -> None:
        self._put_rule(action.collection_id, action.rule_id, action.permissions, action.expires)

    def _put_rule(
        self, collection_id: str, rule_id: str, permissions: str, expires: datetime
    ) -> None:
        with _translated("transfer"):
            self._clients.transfer.update_endpoint_acl_rule(
                collection_id,
                rule_id,
                {
                    "DATA_TYPE": "access",
                    "permissions": permissions,
                    "expiration_date": format_time(expires),
                },
            )

    def delete_rule(self, action: DeleteRule) -> bool:
        """True if deleted now, False if it was already gone."""
        try:
            with _translated("transfer"):
                self._clients.transfer.delete_endpoint_acl_rule(
                    action.collection_id, action.rule_id
                )
        except GlobusError as err:
            if err.code == "AccessRuleNotFound":
                return False
            raise
        return True

    def remove_directories(self, collection_id: str, paths: Sequence[str]) -> str:
        """One recursive delete task for all ``paths``; returns its task id."""
        data = globus_sdk.DeleteData(
            collection_id,
            label="reconciler cleanup",
            recursive=True,
            ignore_missing=True,
        )
        for path in paths:
            data.add_item(path)
        with _translated("transfer"):
            response = self._clients.transfer.submit_delete(data)
        return str(response["task_id"])

    def schedule_removal(self, action: ScheduleRemoval) -> None:
        """Globus keeps no schedule; only ``RecordingPort`` (a state store) can. Refusing
        keeps the pruned rule (the executor deletes it only once this succeeded)."""
        raise ReconcilerError(
            f"cannot schedule the removal of {action.path}: scheduling needs the state store"
        )

    def cancel_removal(self, action: CancelRemoval) -> None:
        raise ReconcilerError(
            f"cannot cancel the removal of {action.path}: scheduling needs the state store"
        )

    def change_members(
        self,
        group_id: str,
        *,
        add: Sequence[str],
        remove: Sequence[str],
        approve: Sequence[str] = (),
    ) -> Mapping[str, str | None]:
        """Batch add/remove ``member`` roles and approve pending requests; returns per
        identity None (done) or the error Globus reported for that item. Chunks keep
        requests small."""
        results: dict[str, str | None] = {}
        for start in range(0, max(len(add), len(remove), len(approve)), MEMBER_BATCH):
            adding = list(add[start : start + MEMBER_BATCH])
            removing = list(remove[start : start + MEMBER_BATCH])
            approving = list(approve[start : start + MEMBER_BATCH])
            if start and self._stop is not None and self._stop.is_set():
                for identity in (*add[start:], *remove[start:], *approve[start:]):
                    results[identity] = "STOPPED: not attempted, writing was stopped"
                break
            batch = globus_sdk.BatchMembershipActions()
            if adding:
                batch.add_members(adding, role="member")
            if removing:
                batch.remove_members(removing)
            if approving:
                batch.approve_pending(approving)
            with _translated("groups"):
                response = self._clients.groups.batch_membership_action(group_id, batch)
            for identity in adding + removing + approving:
                results[identity] = None
            errors = response.get("errors") or {}
            for verb in ("add", "remove", "approve"):
                for item in errors.get(verb) or ():
                    identity = str(item.get("identity_id"))
                    code = str(item.get("code") or "ERROR")
                    if verb == "add" and code.upper() in (
                        "ALREADY_ACTIVE",
                        "MEMBER_ALREADY_ACTIVE",
                    ):
                        continue
                    if verb == "remove" and code.upper() in ("NO_MEMBERSHIP", "NOT_FOUND"):
                        continue
                    results[identity] = f"{code}: {item.get('detail') or ''}".strip(": ")
        return results


def _find(rules: Sequence[LiveRule], action: CreateRule) -> LiveRule | None:
    for rule in rules:
        if (
            rule.principal_type == action.principal.type
            and rule.principal == action.principal.id
            and rule.path == action.path
        ):
            return rule
    return None
