"""The probe's fence: every path ``reconciler probe`` touches lies in one scratch directory.

``compute_scratch`` validates the directory the operator gave; ``require_inside`` refuses
any path that is not strictly below it (reads may name the scratch directory itself).
Pure; the probe's Globus port calls it before every call that takes a path.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class OutsideScratch(ValueError):
    """A path the probe must not touch."""


def _components(path: str) -> list[str]:
    return path.strip("/").split("/") if path.strip("/") else []


def compute_scratch(path: str) -> str:
    """The scratch directory in canonical form (``/a/b/``), or ``OutsideScratch``."""
    if not path.startswith("/"):
        raise OutsideScratch(f"--path {path!r} must be absolute (start with '/')")
    if _CONTROL.search(path):
        raise OutsideScratch(f"--path {path!r} contains control characters")
    body = path if path.endswith("/") else path + "/"
    if "//" in body:
        raise OutsideScratch(f"--path {path!r} has an empty component ('//')")
    parts = _components(body)
    if not parts:
        raise OutsideScratch("--path may not be the root '/': give a scratch directory")
    if any(part in (".", "..") for part in parts):
        raise OutsideScratch(f"--path {path!r} may not contain '.' or '..'")
    return body


def require_inside(path: str, scratch: str, *, allow_scratch: bool = False) -> str:
    """``path`` unchanged when it is strictly below ``scratch`` (or is it, for reads with
    ``allow_scratch``); otherwise ``OutsideScratch``."""
    if _CONTROL.search(path) or "//" in path:
        raise OutsideScratch(f"refusing {path!r}: not a plain path")
    if any(part in (".", "..") for part in _components(path)):
        raise OutsideScratch(f"refusing {path!r}: '.' and '..' are not allowed")
    as_dir = path if path.endswith("/") else path + "/"
    if as_dir == scratch:
        if allow_scratch:
            return path
        raise OutsideScratch(f"refusing {path!r}: the probe never changes the scratch directory")
    if not as_dir.startswith(scratch):
        raise OutsideScratch(f"refusing {path!r}: outside the scratch directory {scratch}")
    return path
