"""Spec file contents to an ``Intent``, in three steps that can be cached apart. Pure.

1. ``compute_file_check`` (per file): read the YAML with positions, validate each
   document on its own. Depends on that file's bytes only.
2. ``compute_set_check`` (across files): index names, check cross-file rules, lower to
   intent values, find conflicts. Depends on the per-file results only; the expiries
   are recorded, not judged.
3. ``compute_outcome`` (at now): judge the expiries at ``now`` (``expiring``) and give
   the intent, or ``None`` when anything is an error (fail closed).

A bug in this package is caught per file (or per set) and reported as an error naming
the exception, never silently dropped.
"""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from reconciler.core.intent import Intent, Origin
from reconciler.spec.checking import check_spec_set
from reconciler.spec.conflicts import compute_unique_grants, compute_unique_memberships
from reconciler.spec.diagnostics import Diagnostic, Report
from reconciler.spec.expiring import (
    ExpiryCheck,
    ExpiryDiagnostics,
    compute_expiry_diagnostics,
    compute_thresholds,
)
from reconciler.spec.indexing import Index, compute_index
from reconciler.spec.lowering import (
    lower_collection,
    lower_grants,
    lower_group,
    lower_membership,
)
from reconciler.spec.validating import Fragment, validate_document
from reconciler.spec.yamlread import read_documents


@dataclass(frozen=True, slots=True)
class FileCheck:
    """What one file declares, as far as it validated on its own, and its problems.
    ``complete`` is False when part of it could not be read at all (bad encoding,
    broken syntax), so it may declare names its fragments do not show."""

    name: str
    fragments: tuple[Fragment, ...]
    diagnostics: tuple[Diagnostic, ...]
    complete: bool


@dataclass(frozen=True, slots=True)
class SetCheck:
    """A spec set checked apart from now: ``intent`` is None when it already has an
    error; ``expiries`` (and their ``thresholds``) are still to judge at now."""

    intent: Intent | None
    diagnostics: tuple[Diagnostic, ...]
    expiries: tuple[ExpiryCheck, ...]
    thresholds: tuple[datetime, ...] = field(default=())


def compute_file_check(name: str, raw: bytes) -> FileCheck:
    """Read and validate one file's bytes on their own."""
    report = Report()
    fragments: list[Fragment] = []
    complete = True
    try:
        reading = read_documents(name, raw, report)
        complete = reading.complete
        fragments.extend(validate_document(name, doc, report) for doc in reading.documents)
    except Exception as exc:  # a bug must fail closed, visibly, per file
        report.error(
            Origin(name, 1, 1),
            f"internal error while reading this file: {describe_bug(exc)}",
            hint="this is a bug in reconciler; please report it with the file",
        )
    return FileCheck(name, tuple(fragments), report.found(), complete)


def compute_set_check(files: Sequence[FileCheck]) -> SetCheck:
    """Check the files together: names, references, policies, conflicts; lower."""
    report = Report()
    for file in files:
        report.extend(file.diagnostics)
    fragments = [fragment for file in files for fragment in file.fragments]
    unreadable = [file.name for file in files if not file.complete]
    expiries: tuple[ExpiryCheck, ...] = ()
    intent: Intent | None
    try:
        index = compute_index(fragments, report, unreadable=unreadable)
        expiries = check_spec_set(index, report=report)
        intent = _lower(index, report)
    except Exception as exc:  # as above, for the cross-file checks
        report.error(
            Origin(files[0].name if files else "<specs>", 1, 1),
            f"internal error while checking the spec set: {describe_bug(exc)}",
            hint="this is a bug in reconciler; please report it with the spec files",
        )
        intent = None
    return SetCheck(
        intent=None if report.has_errors else intent,
        diagnostics=report.found(),
        expiries=expiries,
        thresholds=compute_thresholds(expiries),
    )


def compute_outcome(
    check: SetCheck, now: datetime, *, judged: ExpiryDiagnostics | None = None
) -> tuple[Intent | None, tuple[Diagnostic, ...], ExpiryDiagnostics]:
    """The intent (or ``None``) and sorted diagnostics of ``check`` at ``now``;
    ``judged`` is a previous judgement to reuse when it holds at ``now``."""
    if judged is None or not judged.holds_at(now):
        judged = compute_expiry_diagnostics(check.expiries, check.thresholds, now)
    report = Report()
    report.extend(check.diagnostics)
    report.extend(judged.diagnostics)
    intent = None if report.has_errors else check.intent
    return intent, report.diagnostics(), judged


def _lower(index: Index, report: Report) -> Intent:
    grants = [grant for entry in index.distributions for grant in lower_grants(index, entry)]
    memberships = [lower_membership(index, entry) for entry in index.memberships]
    return Intent(
        collections=tuple(lower_collection(e) for e in index.collections.values()),
        groups=tuple(lower_group(e) for e in index.groups.values()),
        grants=compute_unique_grants(grants, report),
        memberships=compute_unique_memberships((m for m in memberships if m), report),
    )


def describe_bug(exc: Exception) -> str:
    """The exception and the line that raised it: enough for a bug report."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"
