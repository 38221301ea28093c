"""YAML bytes to plain data, remembering where every value and key was written.

ruamel.yaml *composes* the node tree, which keeps the line and column of every node (the
pure-Python safe loader: every install parses alike, and no comments are gathered). This
module converts the tree to dicts, lists, strings, numbers, booleans and None itself,
recording a ``Positions`` map from each value's path (``("distributions", 0, "grants",
1, "expires")``) to its 1-based line and column. Timestamps stay strings so that
``timeparse`` alone decides what a date means. Merge keys (``<<: *defaults``) and
aliases are expanded; duplicate keys, unknown tags, cycles and alias bombs are reported.

Every problem becomes a diagnostic in the ``Report``; nothing here raises for bad input.
This module knows YAML, not the spec language: it does not look at key names.
"""

from __future__ import annotations

import importlib.util
import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError

from reconciler.core.intent import Origin
from reconciler.spec.diagnostics import Report

_HAVE_CLIB = importlib.util.find_spec("_ruamel_yaml") is not None
"""ruamel.yaml.clib's C extension (libyaml) is importable."""

DataPath = tuple[str | int, ...]
Position = tuple[int, int]

_TAG = "tag:yaml.org,2002:"
_MAX_DEPTH = 64
# Far above any real spec set, far below what a billion-laughs alias chain expands to.
_MAX_NODES = 200_000
_HINTS = (
    ("'\\t'", "indent with spaces: YAML does not allow tabs"),
    ("mapping values are not allowed", "quote a value that contains `: `, or fix the indentation"),
    ("could not find expected ':'", "each entry of a mapping needs `key: value`"),
    ("expected <block end>", "check the indentation of this line against the lines above"),
    ("undefined alias", "define the anchor (`&name`) before using it (`*name`)"),
)


@dataclass(frozen=True, slots=True)
class Positions:
    """Where each value of one document, and each mapping key, was written."""

    values: Mapping[DataPath, Position]
    keys: Mapping[DataPath, Position]

    def value_at(self, path: DataPath) -> Position:
        """The value at ``path``, or the nearest enclosing value that was written."""
        for end in range(len(path), -1, -1):
            if (hit := self.values.get(path[:end])) is not None:
                return hit
        return (1, 1)

    def key_at(self, path: DataPath) -> Position:
        """The key whose value is at ``path``; the value itself for list items."""
        return self.keys.get(path) or self.value_at(path)


@dataclass(frozen=True, slots=True)
class Document:
    """One YAML document of a file as plain data, with its positions."""

    data: Any
    positions: Positions


@dataclass(frozen=True, slots=True)
class Reading:
    """The documents of one file; ``complete`` is False when part of it could not be read
    at all (bad encoding, broken syntax), so it may declare more than ``documents`` show."""

    documents: tuple[Document, ...]
    complete: bool


class _Abort(Exception):
    """Stops converting a document that is too deep or too large to be a spec."""

    def __init__(self, node: Node, message: str) -> None:
        super().__init__(message)
        self.node = node
        self.message = message


def _compose_all(text: str) -> Iterable[Node]:
    """The node trees of ``text``: with libyaml (ruamel.yaml.clib, about 4x faster on
    large files, the same marks) when it is installed and the text is valid YAML; a
    text libyaml refuses is composed again by the pure-Python composer, whose error
    messages and positions are the ones the spec language documents."""
    if _HAVE_CLIB:
        try:
            return list(YAML(typ="safe", pure=False).compose_all(text))
        except YAMLError:
            pass
    nodes: Iterable[Node] = YAML(typ="safe", pure=True).compose_all(text)
    return nodes


def read_documents(file: str, raw: bytes, report: Report) -> Reading:
    """The non-empty documents of ``raw``, read as file ``file``; problems go to ``report``."""
    text = _decode(file, raw, report)
    if text is None:
        return Reading((), complete=False)
    documents: list[Document] = []
    complete = True
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            for node in _compose_all(text):
                if isinstance(node, ScalarNode) and _tag(node) == _TAG + "null":
                    continue  # an empty document (`---` alone) declares nothing
                converter = _Converter(file, report)
                try:
                    data = converter.convert(node, (), 0)
                except _Abort as abort:
                    report.error(_origin(file, abort.node), abort.message)
                    complete = False
                    continue
                documents.append(Document(data, converter.positions()))
        except MarkedYAMLError as exc:
            _report_yaml_error(file, exc, report)
            complete = False
        except ReaderError as exc:
            _report_reader_error(file, text, exc, report)
            complete = False
        except YAMLError as exc:
            report.error(Origin(file, 1, 1), f"invalid YAML: {exc}")
            complete = False
        except RecursionError:
            report.error(Origin(file, 1, 1), "the YAML is nested too deeply to be a spec")
            complete = False
    for warning in caught:
        message = str(warning.message)
        where = re.findall(r"line (\d+), column (\d+)", message)
        line, col = (int(where[-1][0]), int(where[-1][1])) if where else (1, 1)
        report.warning(Origin(file, line, col), f"YAML: {message.strip().splitlines()[0]}")
    return Reading(tuple(documents), complete)


def _decode(file: str, raw: bytes, report: Report) -> str | None:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line_start = before.rfind(b"\n") + 1
        col = len(before[line_start:].decode("utf-8", errors="replace")) + 1
        report.error(
            Origin(file, before.count(b"\n") + 1, col),
            f"the file is not UTF-8 text: byte 0x{raw[exc.start]:02x} cannot be decoded",
            hint="save the file as UTF-8",
        )
        return None


def _report_yaml_error(file: str, exc: MarkedYAMLError, report: Report) -> None:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    problem = str(exc.problem or exc.context or "cannot be parsed")
    message = f"invalid YAML: {problem}"
    if exc.context and exc.problem and exc.context_mark is not None:
        started = f"line {exc.context_mark.line + 1}, column {exc.context_mark.column + 1}"
        message += f" ({exc.context} started at {started})"
    hint = next((hint for key, hint in _HINTS if key in problem), None)
    report.error(Origin(file, line, col), message, hint)


def _report_reader_error(file: str, text: str, exc: ReaderError, report: Report) -> None:
    position = exc.position if isinstance(exc.position, int) else 0
    line = text.count("\n", 0, position) + 1
    col = position - (text.rfind("\n", 0, position) + 1) + 1
    char = exc.character
    shown = f"U+{char:04X}" if isinstance(char, int) else repr(char)
    report.error(
        Origin(file, line, col),
        f"character {shown} is not allowed in a YAML file",
        hint="remove it; in a double-quoted string write an escape such as `\\t` instead",
    )


def _tag(node: Node) -> str:
    return str(node.tag or "")


def _origin(file: str, node: Node) -> Origin:
    return Origin(file, node.start_mark.line + 1, node.start_mark.column + 1)


class _Converter:
    """Turns one document's node tree into plain data and positions."""

    def __init__(self, file: str, report: Report) -> None:
        self._file = file
        self._report = report
        self._values: dict[DataPath, Position] = {}
        self._keys: dict[DataPath, Position] = {}
        self._active: set[int] = set()  # collection nodes being converted: cycle guard
        self._count = 0

    def positions(self) -> Positions:
        return Positions(values=self._values, keys=self._keys)

    def _mark(self, node: Node) -> Position:
        return (node.start_mark.line + 1, node.start_mark.column + 1)

    def convert(self, node: Node, path: DataPath, depth: int) -> Any:
        self._count += 1
        if self._count > _MAX_NODES:
            raise _Abort(node, "the document is too large once aliases are expanded")
        if depth > _MAX_DEPTH:
            raise _Abort(node, "the YAML is nested too deeply to be a spec")
        self._values.setdefault(path, self._mark(node))
        if isinstance(node, ScalarNode):
            return self._scalar(node)
        if id(node) in self._active:
            self._report.error(_origin(self._file, node), "an alias refers to itself")
            return None
        self._active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                self._check_tag(node, "seq")
                return [
                    self.convert(item, (*path, i), depth + 1) for i, item in enumerate(node.value)
                ]
            if isinstance(node, MappingNode):
                self._check_tag(node, "map")
                return self._mapping(node, path, depth)
        finally:
            self._active.discard(id(node))
        self._report.error(_origin(self._file, node), "unsupported YAML node")
        return None

    def _check_tag(self, node: Node, expected: str) -> None:
        if _tag(node) not in (_TAG + expected, "!"):
            self._report.error(
                _origin(self._file, node),
                f"unsupported YAML tag `{_tag(node)}`",
                hint="remove the tag; specs use plain YAML",
            )

    def _scalar(self, node: ScalarNode) -> Any:
        text = str(node.value)
        kind = _tag(node).removeprefix(_TAG)
        if kind in ("str", "timestamp", "!"):
            return text
        if kind == "null":
            return None
        if kind == "bool":
            return text.lower() == "true"
        if kind == "int":
            return _to_int(text)
        if kind == "float":
            return _to_float(text)
        self._report.error(
            _origin(self._file, node),
            f"unsupported YAML tag `{_tag(node)}`",
            hint="remove the tag; specs use plain YAML",
        )
        return text

    def _mapping(self, node: MappingNode, path: DataPath, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first: dict[str, Node] = {}
        for key_node, value_node, explicit in self._entries(node):
            key = self._key(key_node)
            if key is None:
                continue
            if key in first:
                if explicit:
                    line, col = self._mark(first[key])
                    self._report.error(
                        _origin(self._file, key_node),
                        f"duplicate key `{key}` (first written at line {line}, column {col})",
                        hint="a mapping holds each key once: remove or rename one of them",
                    )
                continue  # a merged (`<<`) key never overrides an explicit one
            first[key] = key_node
            child = (*path, key)
            self._keys[child] = self._mark(key_node)
            if (
                isinstance(value_node, ScalarNode)
                and value_node.value == ""
                and not value_node.style
            ):
                # An empty value's mark is wherever the next token starts; its key is clearer.
                self._values[child] = self._mark(key_node)
            result[key] = self.convert(value_node, child, depth + 1)
        return result

    def _entries(self, node: MappingNode) -> list[tuple[Node, Node, bool]]:
        """Key and value nodes of ``node``: its own entries, then those merged by ``<<``."""
        own: list[tuple[Node, Node, bool]] = []
        merged: list[tuple[Node, Node, bool]] = []
        for key_node, value_node in node.value:
            if _tag(key_node) != _TAG + "merge":
                own.append((key_node, value_node, True))
                continue
            sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
            for source in sources:
                if not isinstance(source, MappingNode) or id(source) in self._active:
                    self._report.error(
                        _origin(self._file, source),
                        "`<<` merges a mapping (or a list of mappings) into this one",
                    )
                    continue
                self._active.add(id(source))
                try:
                    merged.extend((k, v, False) for k, v, _ in self._entries(source))
                finally:
                    self._active.discard(id(source))
        return own + merged

    def _key(self, node: Node) -> str | None:
        if isinstance(node, ScalarNode):
            return str(node.value)
        self._report.error(
            _origin(self._file, node),
            "a mapping key must be a plain name, not a list or a mapping",
        )
        return None


def _to_int(text: str) -> int | str:
    digits = text.replace("_", "")
    try:
        prefixed = digits.lstrip("+-")[:2].lower() in ("0o", "0x", "0b")
        return int(digits, 0) if prefixed else int(digits, 10)
    except ValueError:
        return text


def _to_float(text: str) -> float | str:
    digits = text.replace("_", "").lower()
    specials = {".inf": "inf", "+.inf": "inf", "-.inf": "-inf", ".nan": "nan"}
    try:
        return float(specials.get(digits, digits))
    except ValueError:
        return text
