"""Render a world dump for a human: per collection its roles, rules (principal by
username where known, path, permissions, expiry and time left) and directory tree; the
memberships of each group; recent tasks; notifications. Pure: dump in, text out.
"""

from __future__ import annotations

from typing import Any

from reconciler.sandbox import clock

MAX_TREE_LINES = 60
RECENT_TASKS = 10


def _names(dump: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    usernames = {str(i["id"]): str(i["username"]) for i in dump.get("identities", [])}
    group_names = {str(g["id"]): str(g["name"]) for g in dump.get("groups", [])}
    return usernames, group_names


def _principal(kind: str, value: str, usernames: dict[str, str], groups: dict[str, str]) -> str:
    if kind == "identity":
        return usernames.get(value, value)
    if kind == "group":
        return f"group {groups.get(value, value)}"
    return kind


def _expiry(raw: str | None, now: float) -> str:
    if raw is None:
        return "never"
    left = clock.parse_iso(raw) - now
    marker = " INERT" if left <= 0 else ""
    return f"{raw} ({clock.describe_remaining(left)}){marker}"


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _table(rows: list[list[str]], indent: str) -> list[str]:
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        indent + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
        for row in rows
    ]


def _tree(entries: list[dict[str, Any]], indent: str) -> list[str]:
    lines: list[str] = []
    for entry in entries[:MAX_TREE_LINES]:
        path = str(entry["path"])
        depth = path.count("/") - 1
        name = path.rsplit("/", 1)[-1]
        if entry["type"] == "dir":
            lines.append(f"{indent}{'  ' * depth}{name}/")
        else:
            lines.append(f"{indent}{'  ' * depth}{name}  ({_size(int(entry['size']))})")
    if len(entries) > MAX_TREE_LINES:
        lines.append(f"{indent}... {len(entries) - MAX_TREE_LINES} more entries")
    return lines or [f"{indent}(empty)"]


def render_world(dump: dict[str, Any]) -> str:
    now = clock.parse_iso(str(dump["now"]))
    usernames, group_names = _names(dump)
    cfg = dump.get("settings", {})
    lines = [
        f"Sandbox world at {dump['now']}"
        f" (clock offset {dump.get('clock_offset_seconds', 0):+.0f}s)",
        "Settings: " + ", ".join(f"{key}={value}" for key, value in sorted(cfg.items())),
    ]
    for collection in dump.get("collections", []):
        state = "subscribed" if collection.get("subscribed") else "not subscribed"
        lines += ["", f"Collection {collection['display_name']} ({collection['id']}, {state})"]
        roles = [
            [
                role["role"],
                _principal(role["principal_type"], role["principal"], usernames, group_names),
            ]
            for role in collection.get("roles", [])
        ]
        lines.append(f"  Roles ({len(roles)}):")
        lines += _table(roles, "    ") or ["    (none)"]
        rules = collection.get("rules", [])
        lines.append(f"  Access rules ({len(rules)}):")
        rows = [["PRINCIPAL", "PATH", "PERM", "EXPIRES"]] + [
            [
                _principal(rule["principal_type"], rule["principal"], usernames, group_names),
                rule["path"],
                rule["permissions"],
                _expiry(rule.get("expiration_date"), now),
            ]
            for rule in rules
        ]
        lines += _table(rows, "    ") if rules else ["    (none)"]
        lines.append("  Tree:")
        lines += _tree(collection.get("tree", []), "    ")
    for group in dump.get("groups", []):
        members = group.get("memberships", [])
        lines += ["", f"Group {group['name']} ({group['id']}), {len(members)} memberships"]
        rows = [
            [
                str(m.get("username") or m["identity_id"]),
                m["role"],
                m["status"]
                + (f" (via {m['source_group_id']})" if m.get("source_group_id") else ""),
            ]
            for m in members
        ]
        lines += _table(rows, "    ") or ["    (none)"]
    tasks = dump.get("tasks", [])[-RECENT_TASKS:]
    lines += ["", f"Recent tasks ({len(tasks)} of {len(dump.get('tasks', []))}):"]
    rows = [
        [
            str(task["request_time"]),
            str(task["type"]),
            str(task["status"]),
            str(task.get("owner_string") or task["owner_id"]),
            f"{task.get('source_endpoint_display_name') or '-'} -> "
            f"{task.get('destination_endpoint_display_name') or '-'}",
            f"files={task.get('files', 0)}",
            str(task.get("label") or ""),
        ]
        for task in reversed(tasks)
    ]
    lines += _table(rows, "    ") or ["    (none)"]
    sent = dump.get("notifications", [])
    lines += ["", f"Notifications ({len(sent)}):"]
    rows = [[str(n["sent_at"]), str(n["email"]), str(n.get("message") or "")] for n in sent[-10:]]
    lines += _table(rows, "    ") or ["    (none)"]
    return "\n".join(lines)
