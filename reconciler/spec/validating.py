"""One YAML document against the models: pydantic errors become located diagnostics.

``validate_document`` checks a document as a ``SpecFile`` and reports every error at the
position of the value (or, for an unknown key, of the key; for a missing key, of the
mapping that lacks it). Entries that are valid on their own are kept even when a
sibling is not, so that cross-file checks still run on them and one typo does not turn
into a cascade of "unknown collection" errors; the names of invalid collections and
groups are remembered for the same reason.

This module does not look across documents; ``checking`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, TypeVar

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from reconciler.core.intent import Origin
from reconciler.spec.diagnostics import (
    Diagnostic,
    Report,
    SpecValueError,
    describe_value,
    did_you_mean,
)
from reconciler.spec.fields import meant_boolean
from reconciler.spec.models import (
    Collection,
    Distribution,
    Grant,
    Group,
    Membership,
    SpecFile,
    SpecModel,
    model_at,
)
from reconciler.spec.yamlread import DataPath, Document, Positions

M = TypeVar("M", bound=SpecModel)

_EXPECTED = {
    "string_type": "a string",
    "bool_type": "`true` or `false`",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
}
_MISSING_HINTS = {
    "expires": "add `expires: YYYY-MM-DD`: every grant and membership needs an absolute expiry",
    "id": "add the UUID, e.g. `id: e56c36e4-1063-11e6-a747-22000bf2d559`",
    "root": "add the directory this tool owns, e.g. `root: /disthome/`",
    "grants": "add `grants:` with a list of grants (`grants: []` for none)",
}


class Where(NamedTuple):
    """A place in one document: positions of the values at and below ``path``. (A named
    tuple: one is made per grant, twice, and a tuple is the cheapest immutable value.)"""

    file: str
    positions: Positions
    path: DataPath = ()

    def at(self, *sub: str | int) -> Origin:
        """The value at ``sub`` below this place (or the nearest one written)."""
        line, col = self.positions.value_at((*self.path, *sub))
        return Origin(self.file, line, col)

    def key(self, *sub: str | int) -> Origin:
        """The key of the value at ``sub`` below this place."""
        line, col = self.positions.key_at((*self.path, *sub))
        return Origin(self.file, line, col)

    def child(self, *sub: str | int) -> Where:
        return Where(self.file, self.positions, (*self.path, *sub))


@dataclass(frozen=True, slots=True)
class Entry(Generic[M]):
    """A validated model and where it was written; ``name`` is the key for named entries."""

    model: M
    where: Where
    name: str = ""
    kept: tuple[int, ...] | None = None
    """For a distribution with invalid grants: the positions of the grants it kept."""


def grants_of(entry: Entry[Distribution]) -> list[tuple[Where, Grant]]:
    """The grants of a distribution, each with its own place in the document."""
    grants = entry.model.grants
    positions = entry.kept if entry.kept is not None else range(len(grants))
    return [(entry.where.child("grants", p), g) for p, g in zip(positions, grants, strict=True)]


@dataclass(frozen=True, slots=True)
class Fragment:
    """What one document declares, as far as it validated."""

    collections: tuple[Entry[Collection], ...] = ()
    groups: tuple[Entry[Group], ...] = ()
    distributions: tuple[Entry[Distribution], ...] = ()
    memberships: tuple[Entry[Membership], ...] = ()
    broken_collections: frozenset[str] = frozenset()
    """Collections declared here that did not validate: references to them are not unknown."""
    broken_groups: frozenset[str] = frozenset()


def validate_document(file: str, document: Document, report: Report) -> Fragment:
    """The valid entries of ``document``; every problem is added to ``report``."""
    where = Where(file, document.positions)
    data = document.data
    if not isinstance(data, dict):
        keys = ", ".join(f"`{k}`" for k in SpecFile.model_fields)
        report.error(
            where.at(),
            f"a spec document must be a mapping with the keys {keys}, got {describe_value(data)}",
        )
        return Fragment()
    try:
        spec = SpecFile.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        for error in errors:
            report.add(translate_error(error, where))
        return _salvage(data, where, [tuple(e["loc"]) for e in errors], report)
    return Fragment(
        collections=tuple(
            Entry(model, where.child("collections", name), name)
            for name, model in spec.collections.items()
        ),
        groups=tuple(
            Entry(model, where.child("groups", name), name) for name, model in spec.groups.items()
        ),
        distributions=tuple(
            Entry(model, where.child("distributions", i))
            for i, model in enumerate(spec.distributions)
        ),
        memberships=tuple(
            Entry(model, where.child("memberships", i)) for i, model in enumerate(spec.memberships)
        ),
    )


def _salvage(
    data: dict[str, Any], where: Where, errors: list[tuple[Any, ...]], report: Report
) -> Fragment:
    """The entries of a document that failed validation which are valid on their own.

    A distribution whose only errors are in some of its grants keeps its other grants,
    so that its references are still checked.
    """
    bad = {loc[:2] for loc in errors}

    def keep(model: type[M], section: str, key: str | int, raw: Any) -> Entry[M] | None:
        kept: tuple[int, ...] | None = None
        if (section, key) in bad:
            inside = [loc[2:] for loc in errors if loc[:2] == (section, key)]
            if section != "distributions" or not _only_grants(raw, inside):
                return None
            broken = {loc[1] for loc in inside}
            kept = tuple(j for j in range(len(raw["grants"])) if j not in broken)
            raw = {**raw, "grants": [raw["grants"][j] for j in kept]}
        try:
            name = key if isinstance(key, str) else ""
            return Entry(model.model_validate(raw), where.child(section, key), name, kept)
        except ValidationError as exc:  # cannot happen: the document reported no error here
            for error in exc.errors(include_url=False):
                error["loc"] = (section, key, *error["loc"])
                report.add(translate_error(error, where))
            return None

    def named(section: str) -> dict[str, Any]:
        raw = data.get(section)
        return raw if isinstance(raw, dict) and (section,) not in bad else {}

    def listed(section: str) -> list[Any]:
        raw = data.get(section)
        return raw if isinstance(raw, list) and (section,) not in bad else []

    collections = [keep(Collection, "collections", k, v) for k, v in named("collections").items()]
    groups = [keep(Group, "groups", k, v) for k, v in named("groups").items()]
    distributions = [
        keep(Distribution, "distributions", i, v) for i, v in enumerate(listed("distributions"))
    ]
    memberships = [
        keep(Membership, "memberships", i, v) for i, v in enumerate(listed("memberships"))
    ]
    return Fragment(
        collections=tuple(e for e in collections if e is not None),
        groups=tuple(e for e in groups if e is not None),
        distributions=tuple(e for e in distributions if e is not None),
        memberships=tuple(e for e in memberships if e is not None),
        broken_collections=frozenset(n for n in named("collections") if ("collections", n) in bad),
        broken_groups=frozenset(n for n in named("groups") if ("groups", n) in bad),
    )


def _only_grants(raw: Any, inside: list[tuple[Any, ...]]) -> bool:
    """Whether every error below a distribution is inside one of its grants."""
    return (
        isinstance(raw, dict)
        and isinstance(raw.get("grants"), list)
        and all(len(loc) >= 2 and loc[0] == "grants" and isinstance(loc[1], int) for loc in inside)
    )


def translate_error(error: ErrorDetails, where: Where) -> Diagnostic:
    """A pydantic error on a ``SpecFile`` as a diagnostic at the right position."""
    loc = tuple(error["loc"])
    kind = error["type"]
    hint: str | None = None
    if kind == "missing":
        model = model_at(loc[:-1])
        at = where.at(*loc[:-1])
        label = model.label if model else "this entry"
        message = f"{label} needs the key `{loc[-1]}`"
        hint = _MISSING_HINTS.get(str(loc[-1]))
    elif kind == "extra_forbidden":
        model = model_at(loc[:-1])
        allowed = list(model.model_fields) if model else []
        at = where.key(*loc)
        label = model.label if model else "this entry"
        message = f"unknown key `{loc[-1]}` in {label}"
        hint = did_you_mean(str(loc[-1]), allowed) or (
            "allowed keys: " + ", ".join(f"`{k}`" for k in allowed) if allowed else None
        )
    else:
        is_key = bool(loc) and loc[-1] == "[key]"
        target = loc[:-1] if is_key else loc
        at = where.key(*target) if is_key else where.at(*target)
        cause = error.get("ctx", {}).get("error")
        if isinstance(cause, SpecValueError):
            message, hint = cause.message, cause.hint
            if cause.offset is not None:
                value = str(target[-1]) if is_key else error["input"]
                at, message = _at_character(where, at, value, cause.offset, message)
        elif kind == "literal_error":
            expected = str(error.get("ctx", {}).get("expected", "")).replace("'", "`")
            message = f"{_subject(target)} must be {expected}, got {describe_value(error['input'])}"
        elif (
            kind == "bool_type"
            and isinstance(error["input"], str)
            and meant_boolean(error["input"])
        ):
            meant = meant_boolean(error["input"])
            message = (
                f"{_subject(target)} must be `true` or `false`, not the string "
                f"`{error['input']}`: did you mean {meant}?"
            )
            hint = (
                f"write `{meant}` without quotes (YAML 1.2 reads `yes`, `no`, `on` and `off` "
                "as text)"
            )
        elif kind in _EXPECTED:
            message = (
                f"{_subject(target)} must be {_EXPECTED[kind]}, "
                f"got {describe_value(error['input'])}"
            )
            if error["input"] is None and kind in ("dict_type", "list_type"):
                empty = "{}" if kind == "dict_type" else "[]"
                hint = f"for none, write `{empty}` or remove the key"
        else:
            message = f"{_subject(target)}: {error['msg']}"
    return Diagnostic(at.file, at.line, at.col, "error", message, hint)


def _at_character(
    where: Where, at: Origin, value: Any, offset: int, message: str
) -> tuple[Origin, str]:
    """The diagnostic moved onto the character at ``offset`` of ``value``, its column
    named in the message (or its place in the value, when it is not written as-is)."""
    column = (
        where.positions.column_of((at.line, at.col), value, offset)
        if isinstance(value, str)
        else None
    )
    if column is None:
        return at, f"{message} at character {offset + 1} of the value"
    return Origin(at.file, at.line, column), f"{message} at column {column}"


def _subject(loc: tuple[Any, ...]) -> str:
    """How a message names the value at ``loc``: ``\\`expires\\``` or ``each entry of ...``."""
    if not loc:
        return "the document"
    if isinstance(loc[-1], int):
        return f"each entry of `{loc[-2]}`" if len(loc) > 1 else "each entry"
    return f"`{loc[-1]}`"
