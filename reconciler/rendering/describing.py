"""One-line descriptions of actions, shared by every output format."""

from __future__ import annotations

from datetime import UTC, datetime

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

SYMBOL: dict[str, str] = {
    "schedule_removal": "~",
    "cancel_removal": "~",
    "make_directory": "+",
    "stage_data": "+",
    "create_rule": "+",
    "update_rule": "~",
    "delete_rule": "-",
    "remove_directory": "-",
    "add_member": "+",
    "remove_member": "-",
}

TITLE: dict[str, str] = {
    "schedule_removal": "schedule removal",
    "cancel_removal": "cancel removal",
    "make_directory": "make directory",
    "stage_data": "stage data",
    "create_rule": "create rule",
    "update_rule": "update rule",
    "delete_rule": "delete rule",
    "remove_directory": "remove directory",
    "add_member": "add member",
    "remove_member": "remove member",
}


def format_time(value: datetime | None) -> str:
    if value is None:
        return "never"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def time_left(until: datetime | None, now: datetime) -> str:
    if until is None:
        return "no expiry"
    seconds = int((until - now).total_seconds())
    if seconds <= 0:
        return "expired"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {rest % 60}s"


def _of(action: ScheduleRemoval | CancelRemoval) -> str:
    return f" for {action.principal}" if action.principal is not None else ""


def describe(action: Action) -> str:
    """What the action does, without its reason."""
    if isinstance(action, MakeDirectory | RemoveDirectory):
        return f"{action.collection}:{action.path}"
    if isinstance(action, ScheduleRemoval):
        return f"{action.collection}:{action.path} at {format_time(action.due)}{_of(action)}"
    if isinstance(action, CancelRemoval):
        return f"{action.collection}:{action.path} (was due {format_time(action.due)}){_of(action)}"
    if isinstance(action, StageData):
        return (
            f"{action.collection}:{action.path} from "
            f"{action.source_collection_id}:{action.source_path} for {action.principal}"
        )
    if isinstance(action, CreateRule):
        notify = f", notify {action.notify_email}" if action.notify_email else ""
        return (
            f"{action.collection}:{action.path} {action.permissions} for {action.principal} "
            f"until {format_time(action.expires)}{notify}"
        )
    if isinstance(action, UpdateRule):
        changes = []
        if action.old_permissions != action.permissions:
            changes.append(f"{action.old_permissions} -> {action.permissions}")
        if action.old_expires != action.expires:
            changes.append(
                f"until {format_time(action.old_expires)} -> {format_time(action.expires)}"
            )
        return f"{action.collection}:{action.path} for {action.principal}: {', '.join(changes)}"
    if isinstance(action, DeleteRule):
        return f"{action.collection}:{action.path} {action.permissions} for {action.principal}"
    if isinstance(action, AddMember | RemoveMember):
        return f"{action.group}: {action.principal}"
    raise TypeError(type(action))
