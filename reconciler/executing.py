"""Carry out a plan: dependency order, bounded concurrency, partial failure isolated.

Order: a directory before the directories below it and before the rule on it; a rule
removed before its directory is; a pruned rule's directory removal scheduled (in the
state store) before the rule is deleted, so no crash can lose the schedule. Group
changes go in one batch call per group; all directory removals of a collection in one
delete task. A failed action fails only what depends on it; everything else still runs,
and the result lists both. Setting ``stop`` lets actions in flight finish and starts no
new one (SIGTERM). Scheduling is O(N): at most ``concurrency`` units are submitted,
the rest wait in a ready queue.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from reconciler.core.actions import (
    Action,
    AddMember,
    CancelRemoval,
    CreateRule,
    DeleteRule,
    MakeDirectory,
    RemoveDirectory,
    RemoveMember,
    ScheduleRemoval,
    StageData,
    UpdateRule,
)
from reconciler.core.plan import Plan
from reconciler.errors import ReconcilerError
from reconciler.planning.paths import self_and_ancestors

Status = Literal["done", "failed", "skipped"]
DEFAULT_CONCURRENCY = 8


class CreateResult(Protocol):
    @property
    def rule_id(self) -> str: ...
    @property
    def adopted(self) -> bool: ...


class ActionPort(Protocol):
    """What the executor needs from Globus; ``reconciler.globus.acting.GlobusActions``
    is the real one."""

    def make_directory(self, action: MakeDirectory) -> bool: ...
    def stage_data(self, action: StageData) -> str: ...
    def create_rule(self, action: CreateRule) -> CreateResult: ...
    def update_rule(self, action: UpdateRule) -> None: ...
    def delete_rule(self, action: DeleteRule) -> bool: ...
    def remove_directories(self, collection_id: str, paths: Sequence[str]) -> str: ...
    def schedule_removal(self, action: ScheduleRemoval) -> None: ...
    def cancel_removal(self, action: CancelRemoval) -> None: ...
    def change_members(
        self,
        group_id: str,
        *,
        add: Sequence[str],
        remove: Sequence[str],
        approve: Sequence[str] = (),
    ) -> Mapping[str, str | None]: ...


@dataclass(frozen=True, slots=True)
class Outcome:
    action: Action
    status: Status
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ApplyResult:
    outcomes: tuple[Outcome, ...]

    @property
    def ok(self) -> bool:
        return all(o.status == "done" for o in self.outcomes)

    def with_status(self, status: Status) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if o.status == status)


@dataclass(eq=False)
class _Node:
    """A unit of work: one call (or one batch call) covering one or more actions."""

    actions: tuple[Action, ...]
    run: Callable[[Sequence[Action]], Mapping[int, tuple[Status, str]]]
    """Given the failed actions it depended on, returns per action index (into
    ``actions``) its status and detail."""
    deps: list[_Node] = field(default_factory=list)
    dependents: list[_Node] = field(default_factory=list)
    failed_deps: list[Action] = field(default_factory=list)
    tolerant: bool = False
    """Runs even when a dependency failed (and decides itself what that excludes)."""


def _build_nodes(plan: Plan, port: ActionPort) -> list[_Node]:
    nodes: list[_Node] = []
    removals: dict[str, list[RemoveDirectory]] = {}
    members: dict[str, list[AddMember | RemoveMember]] = {}
    for action in plan.actions:
        if isinstance(action, RemoveDirectory):
            removals.setdefault(action.collection_id, []).append(action)
        elif isinstance(action, AddMember | RemoveMember):
            members.setdefault(action.group_id, []).append(action)
        else:
            nodes.append(_single(action, _bind_single(port, action)))
    _order_directories(nodes)
    _schedule_before_deleting(nodes)
    for collection_id, dirs in removals.items():
        node = _Node(tuple(dirs), _bind_removals(port, collection_id, dirs), tolerant=True)
        removed = {d.path for d in dirs}
        for dep in nodes:
            first = dep.actions[0]
            # A recursive delete also takes what is below: wait for every rule deleted
            # at or below a removed directory.
            if (
                isinstance(first, DeleteRule)
                and first.collection_id == collection_id
                and not removed.isdisjoint(self_and_ancestors(first.path))
            ):
                _link(dep, node)
        nodes.append(node)
    for group_id, changes in members.items():
        nodes.append(_Node(tuple(changes), _bind_members(port, group_id, changes)))
    return nodes


def _single(action: Action, call: Callable[[], str]) -> _Node:
    def run(_failed: Sequence[Action]) -> Mapping[int, tuple[Status, str]]:
        return {0: ("done", call())}

    return _Node((action,), run)


def _bind_single(
    port: ActionPort,
    action: DeleteRule
    | UpdateRule
    | MakeDirectory
    | StageData
    | CreateRule
    | ScheduleRemoval
    | CancelRemoval,
) -> Callable[[], str]:
    if isinstance(action, ScheduleRemoval):
        return _bind_schedule(port, action)
    if isinstance(action, CancelRemoval):
        return _bind_cancel(port, action)
    if isinstance(action, StageData):
        return lambda: f"transfer task {port.stage_data(action)}"
    if isinstance(action, DeleteRule):
        return _bind_delete(port, action)
    if isinstance(action, UpdateRule):
        return _bind_update(port, action)
    if isinstance(action, MakeDirectory):
        return _bind_mkdir(port, action)
    return _bind_create(port, action)


def _order_directories(nodes: Sequence[_Node]) -> None:
    """A directory or rule waits for the deepest planned directory above or at it."""
    mkdirs = {
        (a.collection_id, a.path): n for n in nodes if isinstance(a := n.actions[0], MakeDirectory)
    }
    for node in nodes:
        action = node.actions[0]
        if isinstance(action, MakeDirectory | StageData | CreateRule):
            parent = _deepest_planned_dir(action.collection_id, action.path, mkdirs, node)
            if parent is not None:
                _link(parent, node)


def _schedule_before_deleting(nodes: Sequence[_Node]) -> None:
    """A pruned rule is deleted only once its directory's removal is scheduled: if the
    schedule cannot be recorded, the rule stays until a later pass can."""
    schedules = {
        (a.collection_id, a.path): n
        for n in nodes
        if isinstance(a := n.actions[0], ScheduleRemoval)
    }
    for node in nodes:
        action = node.actions[0]
        if isinstance(action, DeleteRule):
            found = schedules.get((action.collection_id, action.path))
            if found is not None:
                _link(found, node)


def _link(dep: _Node, node: _Node) -> None:
    node.deps.append(dep)
    dep.dependents.append(node)


def _deepest_planned_dir(
    collection_id: str, path: str, mkdirs: Mapping[tuple[str, str], _Node], itself: _Node
) -> _Node | None:
    current = path
    while current != "/":
        found = mkdirs.get((collection_id, current))
        if found is not None and found is not itself:
            return found
        current = current.rstrip("/").rsplit("/", 1)[0] + "/"
    return None


def _bind_delete(port: ActionPort, action: DeleteRule) -> Callable[[], str]:
    return lambda: "deleted" if port.delete_rule(action) else "already gone"


def _bind_schedule(port: ActionPort, action: ScheduleRemoval) -> Callable[[], str]:
    def run() -> str:
        port.schedule_removal(action)
        return f"removal scheduled for {action.due.replace(microsecond=0).isoformat()}"

    return run


def _bind_cancel(port: ActionPort, action: CancelRemoval) -> Callable[[], str]:
    def run() -> str:
        port.cancel_removal(action)
        return "scheduled removal cancelled"

    return run


def _bind_update(port: ActionPort, action: UpdateRule) -> Callable[[], str]:
    def run() -> str:
        port.update_rule(action)
        return "updated"

    return run


def _bind_mkdir(port: ActionPort, action: MakeDirectory) -> Callable[[], str]:
    return lambda: "created" if port.make_directory(action) else "existed"


def _bind_create(port: ActionPort, action: CreateRule) -> Callable[[], str]:
    def run() -> str:
        result = port.create_rule(action)
        return (
            f"adopted existing rule {result.rule_id}"
            if result.adopted
            else f"rule {result.rule_id}"
        )

    return run


def _bind_removals(
    port: ActionPort, collection_id: str, dirs: Sequence[RemoveDirectory]
) -> Callable[[Sequence[Action]], Mapping[int, tuple[Status, str]]]:
    def run(failed: Sequence[Action]) -> Mapping[int, tuple[Status, str]]:
        # A directory whose rule (or a rule below it) could not be deleted stays:
        # someone may still use it.
        still_granted = {
            ancestor
            for a in failed
            if isinstance(a, DeleteRule)
            for ancestor in self_and_ancestors(a.path)
        }
        kept = {d.path for d in dirs if d.path in still_granted}
        out: dict[int, tuple[Status, str]] = {
            i: ("skipped", f"skipped: deleting a rule at or below {d.path} failed")
            for i, d in enumerate(dirs)
            if d.path in kept
        }
        paths = [d.path for d in dirs if d.path not in kept]
        if paths:
            task_id = port.remove_directories(collection_id, paths)
            for i, d in enumerate(dirs):
                if d.path not in kept:
                    out[i] = ("done", f"delete task {task_id}")
        return out

    return run


def _bind_members(
    port: ActionPort, group_id: str, changes: Sequence[AddMember | RemoveMember]
) -> Callable[[Sequence[Action]], Mapping[int, tuple[Status, str]]]:
    def run(_failed: Sequence[Action]) -> Mapping[int, tuple[Status, str]]:
        adds = [c for c in changes if isinstance(c, AddMember)]
        add = [c.principal.id for c in adds if not c.approve]
        approve = [c.principal.id for c in adds if c.approve]
        remove = [c.principal.id for c in changes if isinstance(c, RemoveMember)]
        results = port.change_members(group_id, add=add, remove=remove, approve=approve)
        out: dict[int, tuple[Status, str]] = {}
        for index, change in enumerate(changes):
            error = results.get(change.principal.id)
            done = "removed" if isinstance(change, RemoveMember) else "added"
            if isinstance(change, AddMember) and change.approve:
                done = "approved"
            out[index] = ("failed", error) if error else ("done", done)
        return out

    return run


def execute(
    plan: Plan,
    port: ActionPort,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_outcome: Callable[[Outcome], None] | None = None,
    stop: threading.Event | None = None,
) -> ApplyResult:
    """Run every action of ``plan`` (which must not be blocked) and report each one.

    At most ``concurrency`` units are submitted at a time; the rest wait in a ready
    queue (in plan order) or for their dependencies. Each finished unit comes back
    through a completion queue and releases its dependents, so the cost of scheduling
    is constant per unit however large the plan is."""
    if plan.blocked:
        raise ReconcilerError("refusing to execute a blocked plan")
    nodes = _build_nodes(plan, port)
    outcomes: list[Outcome] = []
    waiting = {id(n): len(n.deps) for n in nodes}
    ready: deque[_Node] = deque(n for n in nodes if not n.deps)
    finished: Finished = queue.SimpleQueue()
    settled: set[int] = set()

    def settle(node: _Node, results: Mapping[int, tuple[Status, str]]) -> None:
        settled.add(id(node))
        failed: list[Action] = []
        for index, action in enumerate(node.actions):
            status, detail = results.get(index, ("failed", "no result"))
            if status != "done":
                failed.append(action)
            outcome = Outcome(action, status, detail)
            outcomes.append(outcome)
            if on_outcome is not None:
                on_outcome(outcome)
        for dependent in node.dependents:
            dependent.failed_deps.extend(failed)
            waiting[id(dependent)] -= 1
            if not waiting[id(dependent)]:
                ready.append(dependent)

    running = 0
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="apply") as pool:
        while True:
            while ready and running < max(1, concurrency):
                node = ready.popleft()
                stopping = stop is not None and stop.is_set()
                if stopping or (node.failed_deps and not node.tolerant):
                    why = (
                        "skipped: stopping"
                        if stopping
                        else f"skipped: {_describe(node.failed_deps[0])} failed"
                    )
                    settle(node, dict.fromkeys(range(len(node.actions)), ("skipped", why)))
                    continue
                future = pool.submit(_guarded, node, stop)
                future.add_done_callback(_sender(finished, node))
                running += 1
            if not running:
                break
            node, future = finished.get()
            running -= 1
            settle(node, future.result())
    # A dependency cycle cannot happen; should one ever, nothing goes unreported.
    for node in nodes:
        if id(node) not in settled:
            settle(node, dict.fromkeys(range(len(node.actions)), ("skipped", "unsatisfiable")))
    return ApplyResult(tuple(outcomes))


Finished = queue.SimpleQueue[tuple[_Node, Future[Mapping[int, tuple[Status, str]]]]]


def _sender(finished: Finished, node: _Node) -> Callable[[Future[Any]], None]:
    """A completion callback (run on the worker thread) that hands ``node`` back."""
    return lambda future: finished.put((node, future))


def _guarded(node: _Node, stop: threading.Event | None) -> Mapping[int, tuple[Status, str]]:
    if stop is not None and stop.is_set():
        # Submitted, but still queued behind the pool's workers when the stop came.
        return dict.fromkeys(range(len(node.actions)), ("skipped", "skipped: stopping"))
    try:
        return node.run(node.failed_deps)
    except ReconcilerError as err:
        return {i: ("failed", str(err)) for i in range(len(node.actions))}
    except Exception as err:
        return {
            i: ("failed", f"unexpected {type(err).__name__}: {err}")
            for i in range(len(node.actions))
        }


def _describe(action: Action) -> str:
    where = getattr(action, "path", None) or getattr(action, "group", "")
    return f"{action.kind} {where}"
