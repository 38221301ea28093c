"""Path arithmetic on Globus collection paths (always absolute, ending with ``/``)."""

from __future__ import annotations


def is_strictly_under(path: str, root: str) -> bool:
    return path != root and path.startswith(root)


def is_at_or_under(path: str, ancestor: str) -> bool:
    return path.startswith(ancestor)


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
