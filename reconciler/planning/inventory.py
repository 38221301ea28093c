"""The spec-file inventory: which files a spec set was read from, and how many grants and
memberships in force each holds, the way Flux keeps the inventory of what it applied.

The deletion guard compares it with the inventory of the last successful pass (kept in
the state store): prunes while a file that held something has gone (deleted, renamed,
or no longer named ``*.yaml``/``*.yml``) are refused at any size. Files are named by
their path relative to the spec directory they were found in (their own name when given
directly), so a CI checkout elsewhere that shares the store names them alike; files of
different spec directories that would share a name keep the paths they were found at.

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
    names = compute_inventory_names(files, roots)
    return {names[file]: held[file] for file in files}


def compute_inventory_names(files: Sequence[str], roots: Sequence[str]) -> dict[str, str]:
    """Each file's inventory name, unique: files of several spec directories that share
    a relative name (``a/team.yaml`` and ``b/team.yaml`` are both ``team.yaml``) are named
    by their paths as found instead, so deleting one of them is still seen."""
    short = {file: compute_inventory_name(file, roots) for file in files}
    taken = Counter(short.values())
    names = {
        file: name if taken[name] == 1 else PurePath(file).as_posix()
        for file, name in short.items()
    }
    used = Counter(names.values())
    if len(used) == len(names):
        return names
    # Still alike (a path as found equal to another's relative name): number them, in
    # the stable order the files were found in.
    seen: Counter[str] = Counter()
    for file, name in names.items():
        if used[name] > 1:
            seen[name] += 1
            names[file] = f"{name}#{seen[name]}"
    return names


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
