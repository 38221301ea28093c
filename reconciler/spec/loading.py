"""Spec files to an ``Intent`` and diagnostics: the entry point of this package.

``load_spec_set`` finds and reads the files (the only I/O in ``reconciler.spec``);
``compute_spec_set`` does the rest on their bytes: read YAML with positions, validate
each document, index names across files, check cross-file rules, lower to intent
values, find conflicts. A spec set with any error yields no ``Intent`` (fail closed).

Bad input never raises: every problem is a diagnostic. A bug in this package is caught
per file and reported as an error (naming the exception), never silently dropped.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from reconciler.core.intent import Intent, Origin
from reconciler.spec.checking import check_spec_set
from reconciler.spec.conflicts import compute_unique_grants, compute_unique_memberships
from reconciler.spec.diagnostics import Diagnostic, Report
from reconciler.spec.indexing import compute_index
from reconciler.spec.lowering import (
    lower_collection,
    lower_grants,
    lower_group,
    lower_membership,
)
from reconciler.spec.validating import Fragment, validate_document
from reconciler.spec.yamlread import read_documents

SPEC_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What a spec set asks for (``None`` when it has errors), and what was found."""

    intent: Intent | None
    diagnostics: tuple[Diagnostic, ...]
    files: tuple[Path, ...]

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)


def load_spec_set(paths: Sequence[Path], *, now: datetime) -> LoadResult:
    """Read the spec files at ``paths`` (directories are searched for ``*.yaml``/``*.yml``)
    and validate them as of ``now`` (timezone-aware). Never raises for bad input."""
    report = Report()
    files = _find_files(paths, report)
    sources: list[tuple[str, bytes]] = []
    for file in files:
        try:
            sources.append((str(file), file.read_bytes()))
        except OSError as exc:
            report.error(Origin(str(file), 0, 0), f"cannot read the file: {exc.strerror or exc}")
    intent, diagnostics = compute_spec_set(sources, now=now)
    for diagnostic in diagnostics:
        report.add(diagnostic)
    return LoadResult(
        intent=None if report.has_errors else intent,
        diagnostics=report.diagnostics(),
        files=tuple(files),
    )


def compute_spec_set(
    sources: Sequence[tuple[str, bytes]], *, now: datetime
) -> tuple[Intent | None, tuple[Diagnostic, ...]]:
    """Validate spec files given as ``(name, content)`` pairs as of ``now``. Pure."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("`now` must be timezone-aware")
    report = Report()
    fragments: list[Fragment] = []
    unreadable: list[str] = []
    for name, raw in sources:
        try:
            reading = read_documents(name, raw, report)
            if not reading.complete:
                unreadable.append(name)
            fragments.extend(validate_document(name, doc, report) for doc in reading.documents)
        except Exception as exc:  # a bug must fail closed, visibly, per file
            report.error(
                Origin(name, 1, 1),
                f"internal error while reading this file: {_describe_bug(exc)}",
                hint="this is a bug in reconciler; please report it with the file",
            )
    try:
        intent = _compute_intent(fragments, unreadable, now, report)
    except Exception as exc:  # as above, for the cross-file checks
        report.error(
            Origin(sources[0][0] if sources else "<specs>", 1, 1),
            f"internal error while checking the spec set: {_describe_bug(exc)}",
            hint="this is a bug in reconciler; please report it with the spec files",
        )
        intent = None
    return (None if report.has_errors else intent), report.diagnostics()


def _compute_intent(
    fragments: list[Fragment], unreadable: list[str], now: datetime, report: Report
) -> Intent:
    index = compute_index(fragments, report, unreadable=unreadable)
    check_spec_set(index, now=now, report=report)
    grants = [grant for entry in index.distributions for grant in lower_grants(index, entry)]
    memberships = [lower_membership(index, entry) for entry in index.memberships]
    return Intent(
        collections=tuple(lower_collection(e) for e in index.collections.values()),
        groups=tuple(lower_group(e) for e in index.groups.values()),
        grants=compute_unique_grants(grants, report),
        memberships=compute_unique_memberships((m for m in memberships if m), report),
    )


def _describe_bug(exc: Exception) -> str:
    """The exception and the line that raised it: enough for a bug report."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _find_files(paths: Sequence[Path], report: Report) -> list[Path]:
    """The spec files at ``paths`` in a stable order, each once."""
    found: list[Path] = []
    seen: set[Path] = set()
    for path in paths:
        if path.is_dir():
            in_dir = _scan_directory(path)
            if not in_dir:
                report.warning(Origin(str(path), 0, 0), "no *.yaml or *.yml files here")
        elif path.exists():
            in_dir = [path]
        else:
            report.error(Origin(str(path), 0, 0), "no such file or directory")
            continue
        for file in in_dir:
            try:
                key = file.resolve()
            except (OSError, RuntimeError):  # a symlink loop: it fails to read, reported later
                key = file.absolute()
            if key not in seen:
                seen.add(key)
                found.append(file)
    return found


def _scan_directory(directory: Path) -> list[Path]:
    """``*.yaml``/``*.yml`` below ``directory``, sorted, skipping hidden entries; symlinked
    directories are not followed (no loops)."""
    found: list[Path] = []
    for parent, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(
            Path(parent) / name
            for name in sorted(names)
            if not name.startswith(".") and name.endswith(SPEC_SUFFIXES)
        )
    return sorted(found, key=lambda p: p.relative_to(directory).parts)
