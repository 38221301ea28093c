"""``--commit``: record an edit in git with plain ``git`` subprocesses.

``load_work_tree`` says whether the spec directory is inside a git work tree;
``apply_commit`` stages the edited files and commits only them (``git commit -- FILE``,
so whatever else is staged stays out of the commit). It runs under the spec lock, so
two committing editors never race on git's index. A failed commit is returned, not
raised: the edit is already written and stays.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from reconciler.editing.errors import EditRefused
from reconciler.editing.results import CommitOutcome

_TIMEOUT = 120.0


def _git(work_tree: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(work_tree), *args],
        capture_output=True,
        text=True,
        timeout=_TIMEOUT,
        check=False,
    )


def load_work_tree(directory: Path) -> Path:
    """The top of the git work tree holding ``directory``; ``EditRefused`` if none."""
    try:
        found = _git(directory, "rev-parse", "--show-toplevel")
    except (OSError, subprocess.SubprocessError) as exc:
        raise EditRefused(
            f"--commit needs git, which cannot be run: {exc}",
            hint="install git, or leave out --commit",
        ) from exc
    if found.returncode != 0 or not found.stdout.strip():
        raise EditRefused(
            f"--commit: {directory} is not inside a git work tree",
            hint="clone the spec repository (or `git init`), or leave out --commit",
        )
    return Path(found.stdout.strip())


def apply_commit(
    work_tree: Path, files: Sequence[Path], subject: str, body: Sequence[str] = ()
) -> CommitOutcome:
    """Stage and commit ``files`` alone with message ``subject`` (and ``body``)."""
    message = subject + ("\n\n" + "\n".join(body) if body else "")
    paths = [str(path.absolute()) for path in files]
    try:
        added = _git(work_tree, "add", "--", *paths)
        if added.returncode != 0:
            return CommitOutcome(False, message, error=_said(added, "git add failed"))
        arguments = ["commit", "--quiet", "-m", subject]
        if body:
            arguments += ["-m", "\n".join(body)]
        committed = _git(work_tree, *arguments, "--", *paths)
        if committed.returncode != 0:
            return CommitOutcome(False, message, error=_said(committed, "git commit failed"))
        head = _git(work_tree, "rev-parse", "HEAD")
    except (OSError, subprocess.SubprocessError) as exc:
        return CommitOutcome(False, message, error=f"git could not be run: {exc}")
    return CommitOutcome(True, message, revision=head.stdout.strip() or None)


def _said(process: subprocess.CompletedProcess[str], fallback: str) -> str:
    text = (process.stderr.strip() or process.stdout.strip() or fallback).splitlines()
    return " / ".join(line.strip() for line in text[-5:] if line.strip())
