"""Path and time text helpers for planning (paths are absolute and end with ``/``)."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta


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


def format_span(length: timedelta, *, units: int = 4) -> str:
    """``7d``, ``1d12h``, ``90m``-style text of a length of time (``0s`` for none),
    keeping the ``units`` largest units from the first that is not zero."""
    seconds = int(length.total_seconds())
    days, rest = divmod(abs(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    first = next((i for i, (n, _) in enumerate(parts) if n), len(parts))
    text = "".join(f"{n}{unit}" for n, unit in parts[first : first + units] if n) or "0s"
    return f"-{text}" if seconds < 0 else text
