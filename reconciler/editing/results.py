"""What an edit did, as values the API returns and the command line renders. Pure.

``EditResult`` names the files changed (or that would change, with ``dry_run``), the
unified diff, the new expiry, what ``tidy`` removed, the warnings the edit introduced
and the outcome of ``--commit``. ``compute_diff`` renders a unified diff the way git
does, including "No newline at end of file".
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from reconciler.editing.proposals import Removal
from reconciler.spec import Diagnostic


@dataclass(frozen=True, slots=True)
class CommitOutcome:
    """What ``--commit`` did: ``ok`` with the new ``revision``, or the ``error`` git gave
    (the edit is written either way)."""

    ok: bool
    message: str
    revision: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class EditResult:
    """The outcome of an edit that was not refused.

    ``changed`` is True when spec files were written (with ``dry_run``: would be);
    ``files`` are those files; ``diff`` is their unified diff; ``summary`` is one line
    (the commit subject); ``expires`` the expiry written by a grant or membership edit;
    ``removed`` what ``tidy`` took out; ``warnings`` new validator warnings in the edited
    files; ``commit`` the outcome of ``commit=True``.
    """

    changed: bool
    summary: str
    files: tuple[Path, ...] = ()
    diff: str = ""
    expires: datetime | None = None
    removed: tuple[Removal, ...] = ()
    details: tuple[str, ...] = ()
    warnings: tuple[Diagnostic, ...] = ()
    dry_run: bool = False
    commit: CommitOutcome | None = None

    @property
    def file(self) -> Path | None:
        """The (first) file changed, or None."""
        return self.files[0] if self.files else None


def compute_diff(name: str, before: str, after: str) -> str:
    """A unified diff of one file, or "" when equal. Relative names get git's ``a/`` and
    ``b/`` prefixes (so ``git apply`` takes the diff); absolute ones are shown as they are."""
    if before == after:
        return ""
    old, new = (name, name) if name.startswith("/") else (f"a/{name}", f"b/{name}")
    lines = difflib.unified_diff(_lines(before), _lines(after), fromfile=old, tofile=new)
    return "".join(lines)


def compute_diffs(changes: Sequence[tuple[str, str, str]]) -> str:
    """The diffs of ``(name, before, after)`` one after the other."""
    return "".join(compute_diff(name, before, after) for name, before, after in changes)


def _lines(text: str) -> list[str]:
    """Lines split at ``\n`` only (a YAML file may hold other line separators in strings)."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1] + "\n\\ No newline at end of file\n")
    return lines
