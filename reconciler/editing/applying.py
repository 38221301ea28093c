"""Run one edit of a spec directory end to end: lock, read, compute, check, write,
commit. The only module here that sequences I/O.

Under the directory's lock (not taken for a dry run, which writes nothing): read every
spec file, let the operation compute a ``Proposal``, check it (``checking``), then write
each changed file atomically and, with ``commit``, commit them. Anything refused
raises ``EditRefused`` before the first write, so a refusal changes nothing. The
decisions themselves belong to ``granting``, ``enrolling`` and ``tidying``.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from reconciler.editing.checking import compute_checked
from reconciler.editing.committing import apply_commit, load_work_tree
from reconciler.editing.errors import BadArgument, EditRefused
from reconciler.editing.loading import load_spec_texts
from reconciler.editing.locking import hold_spec_lock
from reconciler.editing.proposals import Proposal
from reconciler.editing.results import EditResult, compute_diffs
from reconciler.editing.workspace import Workspace
from reconciler.editing.writing import write_spec_file
from reconciler.editing.yamltext import compute_parsed

DEFAULT_LOCK_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class EditOptions:
    """How to carry out an edit: ``dry_run`` computes and checks but writes nothing;
    ``commit`` commits the edited files in the spec directory's git work tree;
    ``lock_timeout`` bounds the wait for another writer (seconds); ``now`` is the instant
    of the edit (default: the current time), for reproducible runs and tests."""

    dry_run: bool = False
    commit: bool = False
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT
    now: datetime | None = None


def compute_now(options: EditOptions) -> datetime:
    """The edit's instant, in UTC."""
    if options.now is None:
        return datetime.now(UTC)
    if options.now.tzinfo is None or options.now.utcoffset() is None:
        raise BadArgument("`now` must be timezone-aware", hint="e.g. datetime.now(UTC)")
    return options.now.astimezone(UTC)


def apply_edit(
    specs_dir: Path,
    compute: Callable[[Workspace], Proposal],
    options: EditOptions,
    *,
    new_file: Path | None = None,
) -> EditResult:
    """Carry out the edit ``compute`` decides on, in ``specs_dir``."""
    if not specs_dir.is_dir():
        raise EditRefused(
            f"the spec directory {specs_dir} does not exist or is not a directory",
            hint="run from the spec repository, or pass --specs DIR (default: specs/)",
        )
    now = compute_now(options)
    if options.lock_timeout < 0:
        raise BadArgument("the lock timeout cannot be negative")
    work_tree = load_work_tree(specs_dir) if options.commit and not options.dry_run else None
    lock = (
        contextlib.nullcontext()
        if options.dry_run
        else hold_spec_lock(specs_dir, timeout=options.lock_timeout)
    )
    with lock:
        texts = load_spec_texts(specs_dir, new_file=new_file)
        files = tuple(compute_parsed(text) for text in texts)
        try:
            proposal = compute(Workspace(specs_dir, files, now))
            checked = compute_checked(files, proposal, now=now) if proposal.edits else None
        except EditRefused:
            raise
        except Exception as exc:  # a bug must fail closed and visibly, before any write
            raise EditRefused(
                f"internal error while computing the edit: {type(exc).__name__}: {exc}; "
                "nothing was changed",
                hint="this is a bug in reconciler; please report it with the spec files",
            ) from exc
        if checked is None:
            return EditResult(
                changed=False,
                summary=proposal.summary,
                expires=proposal.expires,
                dry_run=options.dry_run,
            )
        specs = [edit.spec for edit in proposal.edits]
        result = EditResult(
            changed=True,
            summary=proposal.summary,
            files=tuple(spec.path for spec in specs),
            diff=compute_diffs([(s.name, s.text, checked.texts[s.path]) for s in specs]),
            expires=proposal.expires,
            removed=proposal.removed,
            details=proposal.details,
            warnings=checked.warnings,
            dry_run=options.dry_run,
        )
        if options.dry_run:
            return result
        for spec in specs:
            write_spec_file(spec.path, spec.encode(checked.texts[spec.path]))
        if work_tree is None:
            return result
        outcome = apply_commit(work_tree, result.files, proposal.summary, proposal.details)
    return dataclasses.replace(result, commit=outcome)
