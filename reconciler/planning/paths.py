"""Path and time text helpers for planning (paths are absolute and end with ``/``)."""

from __future__ import annotations

import functools
from datetime import datetime


def is_strictly_under(path: str, root: str) -> bool:
    return path != root and path.startswith(root)


def parent_of(path: str) -> str:
    """``/a/b/`` -> ``/a/``; ``/`` is its own parent."""
    return path[: path.rstrip("/").rfind("/") + 1] or "/"


@functools.lru_cache(maxsize=65536)
def ancestors_between(path: str, root: str) -> tuple[str, ...]:
    """The directories from just below ``root`` down to ``path`` itself, parents first.
    Cached: grants share their parents, and a parent's chain is computed once."""
    if not is_strictly_under(path, root):
        return ()
    return (*ancestors_between(parent_of(path), root), path)


@functools.lru_cache(maxsize=65536)
def self_and_ancestors(path: str) -> tuple[str, ...]:
    """``/a/b/`` -> ``("/", "/a/", "/a/b/")``."""
    if path == "/":
        return ("/",)
    return (*self_and_ancestors(parent_of(path)), path)


@functools.lru_cache(maxsize=4096)
def format_instant(value: datetime) -> str:
    """ISO 8601 text of an instant; cached because thousands of grants usually share
    a handful of expiry instants and formatting dominated planning time."""
    return value.isoformat()
