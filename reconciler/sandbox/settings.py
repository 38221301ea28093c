"""Per-world behaviour switches, stored in the world so every process agrees on them.

The defaults mirror what the project's Globus facts say; each switch exists because a
behaviour is UNCONFIRMED in real Globus (expiry) or because tests need to reach a limit
cheaply (rule limit, task duration). See docs/sandbox.md.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal

from reconciler.sandbox import store

ExpiryMode = Literal["keep", "delete"]
TransferPaths = Literal["collection", "host"]

_KEY = "settings"


@dataclass(frozen=True, slots=True)
class Settings:
    expiry_mode: ExpiryMode = "keep"
    """``keep``: an expired rule stays listed but grants nothing (default, UNCONFIRMED);
    ``delete``: the rule disappears at its expiration_date."""
    task_seconds: float = 2.0
    """Sandbox seconds a transfer or delete task runs before it completes."""
    open_roles: bool = False
    """When true every authenticated caller holds every collection and group role."""
    max_rules_per_collection: int = 1000
    max_active_tasks: int = 3
    """Running tasks per user and task type; the rest wait, status ACTIVE, nice_status Queued."""
    transfer_rate_limit: float = 0.0
    """Transfer requests per second per identity (10 s windows) before 429; 0 disables."""
    transfer_paths: TransferPaths = "collection"
    """How successful transfers report paths on a guest collection: ``collection`` (in
    its own namespace, default, UNCONFIRMED) or ``host`` (on the mapped collection
    beneath, prefixed by the task's ``source_host_path``)."""


def load(conn: sqlite3.Connection) -> Settings:
    raw = json.loads(store.get_meta(conn, _KEY, "{}"))
    known = {f.name for f in fields(Settings)}
    return replace(Settings(), **{k: v for k, v in raw.items() if k in known})


def update(conn: sqlite3.Connection, changes: dict[str, Any]) -> Settings:
    """Apply validated ``changes``; raise ValueError naming the bad key or value."""
    current = load(conn)
    known = {f.name: f for f in fields(Settings)}
    checked: dict[str, Any] = {}
    for key, value in changes.items():
        if key not in known:
            raise ValueError(f"unknown setting {key!r}; known: {', '.join(sorted(known))}")
        checked[key] = _check(key, value)
    new = replace(current, **checked)
    store.set_meta(conn, _KEY, json.dumps(asdict(new)))
    return new


def _check(key: str, value: Any) -> Any:
    if key == "expiry_mode":
        if value not in ("keep", "delete"):
            raise ValueError("expiry_mode must be 'keep' or 'delete'")
        return value
    if key == "transfer_paths":
        if value not in ("collection", "host"):
            raise ValueError("transfer_paths must be 'collection' or 'host'")
        return value
    if key == "open_roles":
        if not isinstance(value, bool):
            raise ValueError("open_roles must be true or false")
        return value
    if key in ("task_seconds", "transfer_rate_limit"):
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValueError(f"{key} must be a number >= 0")
        return float(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{key} must be an integer >= 1")
    return value
