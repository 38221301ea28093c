"""What an edit means to do, as values: the splices per file, and the change to the
files' data that those splices must amount to. Pure.

An edit (``granting``, ``enrolling``, ``tidying``) returns a ``Proposal``; ``checking``
applies the splices, reads the new text back and compares its data with ``expected``
applied to the old data, so an edit that would also change something else (a value
shared through a YAML anchor, say) is refused instead of written. Data paths start with
the document number: ``(0, "distributions", 2, "grants")``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from reconciler.editing.splicing import Splice
from reconciler.editing.yamltext import SpecText

DataPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class SetValue:
    """The value at ``path`` becomes ``value``."""

    path: DataPath
    value: Any


@dataclass(frozen=True, slots=True)
class AppendItem:
    """``item`` is appended to the list at ``path``; a missing or empty key (or a
    missing document) is created."""

    path: DataPath
    item: Any


@dataclass(frozen=True, slots=True)
class RemoveItems:
    """The items at ``indices`` of the list at ``path`` are removed."""

    path: DataPath
    indices: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ReplaceDocuments:
    """The file's documents become ``documents`` (a whole file written anew)."""

    documents: tuple[Any, ...]


Expectation = SetValue | AppendItem | RemoveItems | ReplaceDocuments


@dataclass(frozen=True, slots=True)
class FileEdit:
    spec: SpecText
    splices: tuple[Splice, ...]
    expected: tuple[Expectation, ...]


@dataclass(frozen=True, slots=True)
class Removal:
    """One entry ``tidy`` removes (or would remove)."""

    kind: Literal["grant", "membership"]
    location: str
    owner: str
    """The distribution (``collection/name``) or the group."""
    principal: str
    path: str | None
    expires: str

    def __str__(self) -> str:
        where = f" {self.path}" if self.path else ""
        if self.kind == "grant":
            return (
                f"grant {self.principal} on {self.owner}{where}, "
                f"expired {self.expires} ({self.location})"
            )
        return (
            f"membership {self.principal} in {self.owner}, expired {self.expires} ({self.location})"
        )


@dataclass(frozen=True, slots=True)
class Proposal:
    """An edit, ready to check and write. No ``edits`` means nothing to change, and
    ``summary`` says why."""

    edits: tuple[FileEdit, ...]
    summary: str
    details: tuple[str, ...] = ()
    expires: datetime | None = None
    removed: tuple[Removal, ...] = ()
    ends_access: bool = False
    """A revocation: the "expired, treated as absent" warning it causes is the point."""


def compute_expected(documents: Sequence[Any], expectations: Sequence[Expectation]) -> list[Any]:
    """``documents`` (plain data, one per YAML document) with ``expectations`` applied."""
    result = copy.deepcopy(list(documents))
    for change in expectations:
        if isinstance(change, ReplaceDocuments):
            result = copy.deepcopy(list(change.documents))
        elif isinstance(change, SetValue):
            parent = _walk(result, change.path[:-1])
            parent[change.path[-1]] = copy.deepcopy(change.value)
        elif isinstance(change, AppendItem):
            _append(result, change.path, copy.deepcopy(change.item))
        else:
            items = _walk(result, change.path)
            doomed = set(change.indices)
            items[:] = [item for index, item in enumerate(items) if index not in doomed]
    return result


def _walk(data: Any, path: DataPath) -> Any:
    for part in path:
        data = data[part]
    return data


def _append(documents: list[Any], path: DataPath, item: Any) -> None:
    document = path[0]
    assert isinstance(document, int)
    if document == len(documents):
        documents.append({})
    parent = _walk(documents, path[:-1])
    key = path[-1]
    if isinstance(parent, dict) and (key not in parent or parent[key] is None):
        parent[key] = []
    parent[key].append(item)
