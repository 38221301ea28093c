"""YAML bytes to plain data, remembering where every value and key was written.

ruamel.yaml *composes* the node tree, which keeps the line and column of every node
(with libyaml when it is installed and the text is valid; the pure-Python composer
otherwise, for its error messages). This module converts the tree to dicts, lists,
strings, numbers, booleans and None itself, recording a ``Positions`` map from each
value's path (``("distributions", 0, "grants", 1, "expires")``) to its 1-based line and
column. Timestamps stay strings so that ``timeparse`` alone decides what a date means.
Merge keys (``<<: *defaults``) and aliases are expanded; duplicate keys, unknown tags,
cycles and alias bombs are reported. A document may be as large as the file-size limit
allows; only what aliases add is bounded (``_MAX_EXPANDED``), which stops a "billion
laughs" document without limiting honest ones. Invisible or non-breaking spaces in the
indentation (pasted from a web page) are reported on their own line, then read as
spaces so that the rest of the file is still checked.

Every problem becomes a diagnostic in the ``Report``; nothing here raises for bad input.
This module knows YAML, not the spec language: it does not look at key names.
"""

from __future__ import annotations

import importlib.util
import re
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.tag import Tag

from reconciler.core.intent import Origin
from reconciler.spec.diagnostics import Report, describe_char

_HAVE_CLIB = importlib.util.find_spec("_ruamel_yaml") is not None
"""ruamel.yaml.clib's C extension (libyaml) is importable."""

DataPath = tuple[str | int, ...]
Position = tuple[int, int]

_TAG = "tag:yaml.org,2002:"
_MAX_DEPTH = 64
_MAX_EXPANDED = 100_000
"""Values that aliases may add to a document beyond ``_EXPANSION_RATIO`` per value
written: a defaults mapping merged into every grant adds a few per grant, while a
billion-laughs chain adds billions from a few dozen."""
_EXPANSION_RATIO = 10
_ODD_SPACE = "\u00a0\u1680\u2000-\u200b\u202f\u205f\u2060\u3000\ufeff"
_INDENT = re.compile(f"^[ \t\\-{_ODD_SPACE}]*", re.MULTILINE)
_AFTER_COLON = re.compile(f":[{_ODD_SPACE}]")
_IS_ODD_SPACE = re.compile(f"[{_ODD_SPACE}]")
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
    source: str = ""
    """The text of the file, to find a character inside a value (see ``column_of``)."""
    _line_starts: list[int] = field(default_factory=list, compare=False, repr=False)

    def value_at(self, path: DataPath) -> Position:
        """The value at ``path``, or the nearest enclosing value that was written."""
        for end in range(len(path), -1, -1):
            if (hit := self.values.get(path[:end])) is not None:
                return hit
        return (1, 1)

    def key_at(self, path: DataPath) -> Position:
        """The key whose value is at ``path``; the value itself for list items."""
        return self.keys.get(path) or self.value_at(path)

    def column_of(self, at: Position, value: str, offset: int) -> int | None:
        """The 1-based column of ``value[offset]`` for a value written at ``at``, when the
        value is written on one line as it reads (plain, or quoted without escapes)."""
        line = self._line(at[0])
        start = at[1] - 1
        if line[start : start + 1] in ("'", '"'):
            start += 1
        if line[start : start + offset + 1] != value[: offset + 1]:
            return None
        return start + offset + 1

    def _line(self, number: int) -> str:
        starts = self._line_starts
        if not starts:
            starts.append(0)
            starts.extend(m.end() for m in re.finditer("\n", self.source))
        if not 1 <= number <= len(starts):
            return ""
        end = starts[number] - 1 if number < len(starts) else len(self.source)
        return self.source[starts[number - 1] : end]


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


class _Resolver(VersionedResolver):
    """ruamel's resolver, made cheap for libyaml: ruamel looks the YAML version up again
    for every value (a quarter of the load time for large files), and libyaml never
    passes a ``%YAML`` directive on, so the answer is always 1.2; here it is looked up
    once. Tags are shared objects, so their text is decoded once. Only for libyaml."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._by_first: dict[str, list[tuple[Tag, Callable[[str], Any]]]] = {}

    @property
    def processing_version(self) -> Any:
        return (1, 2)

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is ScalarNode:
            if implicit[0]:
                first = value[:1]
                resolvers = self._by_first.get(first)
                if resolvers is None:
                    table = self.versioned_resolver
                    resolvers = [
                        (_shared_tag(tag), regexp.match)  # `.match` unwraps a LazyEval once
                        for tag, regexp in [*table.get(first, []), *table.get(None, [])]
                    ]
                    self._by_first[first] = resolvers
                for tag, match in resolvers:
                    if match(value):
                        return tag
            return self.DEFAULT_SCALAR_TAG
        return super().resolve(kind, value, implicit)


_TAGS: dict[str, Tag] = {}


def _shared_tag(suffix: str) -> Tag:
    tag = _TAGS.get(suffix)
    if tag is None:
        tag = _TAGS[suffix] = Tag(suffix=suffix)
        _TAG_TEXT[id(tag)] = str(tag)
    return tag


_TAG_TEXT: dict[int, str] = {
    id(tag): str(tag)
    for tag in (
        VersionedResolver.DEFAULT_SCALAR_TAG,
        VersionedResolver.DEFAULT_SEQUENCE_TAG,
        VersionedResolver.DEFAULT_MAPPING_TAG,
    )
}
"""The text of the tags shared by every node (they live as long as the module)."""


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
            fast = YAML(typ="safe", pure=False)
            fast.Resolver = _Resolver
            return list(fast.compose_all(text))
        except YAMLError:
            pass
    nodes: Iterable[Node] = YAML(typ="safe", pure=True).compose_all(text)
    return nodes


def read_documents(file: str, raw: bytes, report: Report) -> Reading:
    """The non-empty documents of ``raw``, read as file ``file``; problems go to ``report``."""
    text = _decode(file, raw, report)
    if text is None:
        return Reading((), complete=False)
    if not text.isascii():
        text = _replace_odd_spaces(file, text, report)
    documents: list[Document] = []
    complete = True
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            for node in _compose_all(text):
                if isinstance(node, ScalarNode) and _tag(node) == _TAG + "null":
                    continue  # an empty document (`---` alone) declares nothing
                converter = _Converter(file, report, text)
                try:
                    data = converter.convert(node, (), 0)
                except _Abort as abort:
                    report.error(_origin(file, abort.node), abort.message)
                    complete = False
                    continue
                documents.append(Document(data, converter.positions()))
        except MarkedYAMLError as exc:
            _report_yaml_error(file, text, exc, report)
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


def _replace_odd_spaces(file: str, text: str, report: Report) -> str:
    """``text`` with invisible and non-breaking spaces where YAML needs plain ones (the
    indentation, after a list dash, after a key's colon) turned into spaces, each line
    that had one reported: YAML would read them as content and fail lines later."""
    found: dict[int, tuple[int, str]] = {}  # offset -> (line, character)
    for match in _INDENT.finditer(text):
        for odd in _IS_ODD_SPACE.finditer(match.group()):
            found[match.start() + odd.start()] = (0, odd.group())
    for match in _AFTER_COLON.finditer(text):
        found[match.start() + 1] = (0, match.group()[1])
    if not found:
        return text
    chars = list(text)
    reported: set[int] = set()
    for offset in sorted(found):
        chars[offset] = " "
        line = text.count("\n", 0, offset) + 1
        if line in reported:
            continue
        reported.add(line)
        col = offset - (text.rfind("\n", 0, offset) + 1) + 1
        char = found[offset][1]
        report.error(
            Origin(file, line, col),
            f"{describe_char(char)} at column {col} where YAML needs a plain space",
            hint=f"replace it with a normal space (U+0020): U+{ord(char):04X} looks like a "
            "space but YAML reads it as text (it comes with copying from web pages and "
            "word processors)",
        )
    return "".join(chars)


def _report_yaml_error(file: str, text: str, exc: MarkedYAMLError, report: Report) -> None:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    problem = str(exc.problem or exc.context or "cannot be parsed")
    if mark is not None and not text[mark.index :].strip():
        # The file ends before a construct is closed: point at where it started, or
        # else at the end of the last line written, not past the end of the file.
        context = exc.context_mark
        if context is not None and text[context.index :].strip():
            line, col = context.line + 1, context.column + 1
        else:
            written = text.rstrip()
            line = written.count("\n") + 1
            col = len(written) - (written.rfind("\n") + 1) + 1
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
    ctag = node.ctag
    text = _TAG_TEXT.get(id(ctag))
    return text if text is not None else str(node.tag or "")


def _origin(file: str, node: Node) -> Origin:
    return Origin(file, node.start_mark.line + 1, node.start_mark.column + 1)


class _Converter:
    """Turns one document's node tree into plain data and positions."""

    def __init__(self, file: str, report: Report, source: str) -> None:
        self._file = file
        self._source = source
        self._report = report
        self._values: dict[DataPath, Position] = {}
        self._keys: dict[DataPath, Position] = {}
        self._active: set[int] = set()  # collection nodes being converted: cycle guard
        self._seen: set[int] = set()  # collection nodes converted once: a second time is an alias
        self._written = 0  # values converted the first time
        self._expanded = 0  # values converted again, through an alias
        self._expanding = 0  # how many aliased collections the conversion is inside

    def positions(self) -> Positions:
        return Positions(values=self._values, keys=self._keys, source=self._source)

    def _mark(self, node: Node) -> Position:
        return (node.start_mark.line + 1, node.start_mark.column + 1)

    def convert(self, node: Node, path: DataPath, depth: int) -> Any:
        if self._expanding:
            self._expanded += 1
            if self._expanded > _MAX_EXPANDED + _EXPANSION_RATIO * self._written:
                raise _Abort(
                    node,
                    f"the document is too large once aliases are expanded: its aliases "
                    f"stand for more than {self._expanded:,} values",
                )
        else:
            self._written += 1
        if depth > _MAX_DEPTH:
            raise _Abort(node, "the YAML is nested too deeply to be a spec")
        mark = node.start_mark
        self._values.setdefault(path, (mark.line + 1, mark.column + 1))
        if isinstance(node, ScalarNode):
            return self._scalar(node)
        key = id(node)
        if key in self._active:
            self._report.error(_origin(self._file, node), "an alias refers to itself")
            return None
        self._active.add(key)
        again = key in self._seen
        self._seen.add(key)
        self._expanding += again
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
            self._active.discard(key)
            self._expanding -= again
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
        kind = _TAG_TEXT.get(id(node.ctag)) or _tag(node)
        kind = kind.removeprefix(_TAG)
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
