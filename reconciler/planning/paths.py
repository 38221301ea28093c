"""Path and time text helpers for planning (paths are absolute and end with ``/``)."""

from __future__ import annotations

import functools
from datetime import datetime


def is_strictly_under(path: str, root: str) -> bool:
    return path != root and path.startswith(root)


def ancestors_between(path: str, root: str) -> tuple[str, ...]:
    """The directories from just below ``root`` down to ``path`` itself, parents first."""
    if not is_strictly_under(path, root):
        return ()
    parts = path[len(root) :].strip("/").split("/")
    out: list[str] = []
    current = root
    for part in parts:
        current = f"{current}{part}/"
        out.append(current)
    return tuple(out)


def self_and_ancestors(path: str) -> tuple[str, ...]:
    """``/a/b/`` -> ``("/", "/a/", "/a/b/")``."""
    out = ["/"]
    current = "/"
    for part in path.strip("/").split("/"):
        if part:
            current = f"{current}{part}/"
            out.append(current)
    return tuple(out)


@functools.lru_cache(maxsize=4096)
def format_instant(value: datetime) -> str:
    """ISO 8601 text of an instant; cached because thousands of grants usually share
    a handful of expiry instants and formatting dominated planning time."""
    return value.isoformat()
