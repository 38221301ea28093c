"""An in-memory stand-in for Globus behind the executor's ActionPort: a fake injected
through the executor's interface, not a patch of globus_sdk."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from reconciler.core.actions import (
    CancelRemoval,
    CreateRule,
    DeleteRule,
    MakeDirectory,
    ScheduleRemoval,
    StageData,
    UpdateRule,
)
from reconciler.errors import GlobusError


@dataclass(frozen=True)
class Created:
    rule_id: str
    adopted: bool


@dataclass
class FakePort:
    directories: set[tuple[str, str]] = field(default_factory=set)
    rules: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    members: dict[str, set[str]] = field(default_factory=dict)
    delete_tasks: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    schedules: dict[tuple[str, str], str] = field(default_factory=dict)
    """(collection id, path) -> due, as a state store would remember them."""
    fail_paths: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _check(self, path: str) -> None:
        if path in self.fail_paths:
            raise GlobusError("injected", service="transfer", http_status=500, retryable=True)

    def make_directory(self, action: MakeDirectory) -> bool:
        collection_id, path = action.collection_id, action.path
        with self.lock:
            self.calls.append(f"mkdir {path}")
            self._check(path)
            parent = path.rstrip("/").rsplit("/", 1)[0] + "/"
            if parent != "/" and (collection_id, parent) not in self.directories:
                raise GlobusError("parent missing", service="transfer", code="ClientError.NotFound")
            created = (collection_id, path) not in self.directories
            self.directories.add((collection_id, path))
            return created

    def stage_data(self, action: StageData) -> str:
        with self.lock:
            self.calls.append(f"stage {action.path}")
            self._check(action.path)
            return f"task-{action.path}"

    def create_rule(self, action: CreateRule) -> Created:
        with self.lock:
            self.calls.append(f"create {action.path}")
            self._check(action.path)
            if (action.collection_id, action.path) not in self.directories:
                raise GlobusError("no directory", service="transfer", code="InvalidPath")
            rule_id = f"r{len(self.rules)}"
            self.rules[rule_id] = (action.collection_id, action.principal.id, action.path)
            return Created(rule_id, adopted=False)

    def update_rule(self, action: UpdateRule) -> None:
        with self.lock:
            self.calls.append(f"update {action.path}")
            self._check(action.path)

    def delete_rule(self, action: DeleteRule) -> bool:
        with self.lock:
            self.calls.append(f"delete {action.path}")
            self._check(action.path)
            return self.rules.pop(action.rule_id, None) is not None

    def remove_directories(self, collection_id: str, paths: Sequence[str]) -> str:
        with self.lock:
            self.calls.append("delete-task " + ",".join(paths))
            self.delete_tasks.append((collection_id, tuple(paths)))
            return f"task{len(self.delete_tasks)}"

    def schedule_removal(self, action: ScheduleRemoval) -> None:
        with self.lock:
            self.calls.append(f"schedule {action.path}")
            self._check(f"schedule {action.path}")
            self.schedules.setdefault((action.collection_id, action.path), action.due.isoformat())

    def cancel_removal(self, action: CancelRemoval) -> None:
        with self.lock:
            self.calls.append(f"cancel {action.path}")
            self.schedules.pop((action.collection_id, action.path), None)

    def change_members(
        self,
        group_id: str,
        *,
        add: Sequence[str],
        remove: Sequence[str],
        approve: Sequence[str] = (),
    ) -> Mapping[str, str | None]:
        with self.lock:
            approved = f" ~{len(approve)}" if approve else ""
            self.calls.append(f"batch {group_id} +{len(add)} -{len(remove)}{approved}")
            members = self.members.setdefault(group_id, set())
            members.update(add)
            members.update(approve)
            members.difference_update(remove)
            return {
                i: ("REFUSED: injected" if i in self.fail_paths else None)
                for i in [*add, *remove, *approve]
            }
