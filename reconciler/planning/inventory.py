"""The spec-file inventory: which files a spec set was read from, and how many grants and
memberships in force each holds, the way Flux keeps the inventory of what it applied.

The deletion guard compares it with the inventory of the last successful pass (kept in
the state store): prunes while a file that held something has gone (deleted, renamed,
or no longer named ``*.yaml``/``*.yml``) are refused at any size. Files are named by
their path relative to the spec directory they were found in (their own name when given
directly), so a CI checkout elsewhere that shares the store names them alike.

Pure: path arithmetic only, no file system access.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from pathlib import PurePath

from reconciler.core.intent import Intent


def compute_spec_inventory(
    files: Sequence[str], intent: Intent, *, roots: Sequence[str], now: datetime
) -> dict[str, int]:
    """Every file read (even one holding nothing), keyed relative to its spec path,
    with the number of grants and memberships in force at ``now`` it declares."""
    held: Counter[str] = Counter()
    for grant in intent.grants:
        if grant.expires > now:
            held[grant.origin.file] += 1
    for membership in intent.memberships:
        if membership.expires > now:
            held[membership.origin.file] += 1
    return {compute_inventory_name(file, roots): held[file] for file in files}


def compute_inventory_name(file: str, roots: Sequence[str]) -> str:
    """``file`` relative to the first of ``roots`` (spec directories or files, as given on
    the command line) that holds it; its name when it is a root itself."""
    path = PurePath(file)
    for root in roots:
        base = PurePath(root)
        if path == base:
            return path.name
        if base in path.parents:
            return path.relative_to(base).as_posix()
    return path.as_posix()
