"""Diagnostics: what validating a spec set reports, where, and how to fix it.

A ``Diagnostic`` is a value (file, 1-based line and column, severity, message, optional
hint). ``Report`` collects them while the checks run; ``SpecValueError`` carries a
message and a hint out of a pydantic validator. This module also words values and
suggests names ("did you mean ...?"). It knows nothing about the spec language itself
and never reads files.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from reconciler.core.intent import Origin

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding. ``line`` and ``col`` are 1-based; both are 0 when the finding is about
    a path as a whole (a missing file, an empty directory)."""

    file: str
    line: int
    col: int
    severity: Severity
    message: str
    hint: str | None = None

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}:{self.col}" if self.line > 0 else self.file

    def __str__(self) -> str:
        text = f"{self.location}: {self.severity}: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class SpecValueError(ValueError):
    """A value that breaks a rule of the language, with an optional hint on fixing it.

    Raised by the validators in ``fields`` and ``timeparse``; pydantic wraps it in a
    ``value_error`` whose ``ctx["error"]`` is this exception, so the hint survives.
    """

    def __init__(self, message: str, hint: str | None = None, *, offset: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.offset = offset
        """The index in the value of the character at fault, when there is one: the
        diagnostic then points at that character's column."""


class Report:
    """Collects diagnostics in the order they are found; ``diagnostics()`` sorts them."""

    def __init__(self) -> None:
        self._items: list[Diagnostic] = []

    def add(self, diagnostic: Diagnostic) -> None:
        self._items.append(diagnostic)

    def error(self, at: Origin, message: str, hint: str | None = None) -> None:
        self._items.append(Diagnostic(at.file, at.line, at.col, "error", message, hint))

    def warning(self, at: Origin, message: str, hint: str | None = None) -> None:
        self._items.append(Diagnostic(at.file, at.line, at.col, "warning", message, hint))

    def extend(self, diagnostics: Iterable[Diagnostic]) -> None:
        self._items.extend(diagnostics)

    def found(self) -> tuple[Diagnostic, ...]:
        """The diagnostics in the order they were found (``diagnostics()`` sorts them)."""
        return tuple(self._items)

    @property
    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self._items)

    def diagnostics(self) -> tuple[Diagnostic, ...]:
        unique = dict.fromkeys(self._items)  # a value reached twice through an alias
        return tuple(sorted(unique, key=lambda d: (d.file, d.line, d.col)))


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """``"did you mean `x`?"`` for the closest choice, or None when nothing is close."""
    matches = difflib.get_close_matches(word, sorted(set(choices)), n=1, cutoff=0.6)
    return f"did you mean `{matches[0]}`?" if matches else None


def describe_value(value: Any) -> str:
    """How a YAML value reads in a message: ``the number `5```, ``a list``, ..."""
    if value is None:
        return "an empty value (null)"
    if isinstance(value, bool):
        return f"`{'true' if value else 'false'}`"
    if isinstance(value, int | float):
        return f"the number `{value}`"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f"the string `{shown}`"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


def describe_char(char: str) -> str:
    """``U+00A0 NO-BREAK SPACE``: a character by its code point and Unicode name."""
    name = unicodedata.name(char, "") or _CONTROL_NAMES.get(ord(char), "CONTROL CHARACTER")
    return f"U+{ord(char):04X} {name}"


_CONTROL_NAMES = {
    0x00: "NULL",
    0x07: "BELL",
    0x08: "BACKSPACE",
    0x09: "CHARACTER TABULATION",
    0x0A: "LINE FEED",
    0x0B: "LINE TABULATION",
    0x0C: "FORM FEED",
    0x0D: "CARRIAGE RETURN",
    0x1B: "ESCAPE",
    0x7F: "DELETE",
    0x85: "NEXT LINE",
}
