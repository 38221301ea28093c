"""Spec files as text with a YAML node tree over it: where every value starts and ends.

An edit never re-serialises a file. It reads the file with ruamel.yaml's round-trip
composer, which keeps the exact character span of every node, and later replaces only
the characters of the values it changes (``splicing``); everything else stays byte for
byte as it was: comments, key order, quoting, blank lines, indentation, line endings.
This module holds the file text (``SpecText``), its documents (``ParsedText``) and the
helpers that measure spans and a file's indentation habits (``Layout``). Pure: the bytes
come in from ``loading``; nothing here reads or writes a file.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler.editing.errors import EditRefused

_MERGE_TAG = "tag:yaml.org,2002:merge"
_NULL_TAG = "tag:yaml.org,2002:null"
_BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class SpecText:
    """One spec file's text (decoded, without a byte-order mark) and where it lives.

    ``name`` is how diagnostics name it; ``exists`` is False for a file an edit creates.
    """

    path: Path
    name: str
    text: str
    bom: bool = False
    exists: bool = True

    @property
    def newline(self) -> str:
        """The file's line ending, used for the lines an edit inserts."""
        return "\r\n" if "\r\n" in self.text else "\n"

    def encode(self, text: str | None = None) -> bytes:
        """``text`` (default: this file's) as the file's bytes, with its BOM if it had one."""
        body = self.text if text is None else text
        return ((_BOM if self.bom else "") + body).encode("utf-8")


def compute_spec_text(path: Path, name: str, raw: bytes) -> SpecText:
    """The text of a spec file's bytes; ``EditRefused`` when they are not UTF-8."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise EditRefused(
            f"{name}:{line}: the file is not UTF-8 text (byte 0x{raw[exc.start]:02x})",
            hint="save the file as UTF-8 (`reconciler validate` shows the same problem)",
        ) from exc
    bom = text.startswith(_BOM)
    return SpecText(path=path, name=name, text=text.removeprefix(_BOM), bom=bom)


@dataclass(frozen=True, slots=True)
class ParsedText:
    """A spec file with the root node of each of its non-empty YAML documents (numbered
    as ``reconciler.spec.yamlread`` numbers them), or the reason it could not be read."""

    spec: SpecText
    documents: tuple[Node, ...]
    problem: str | None = None


def compute_parsed(spec: SpecText) -> ParsedText:
    """Compose ``spec``'s documents. Never raises: a broken file gets a ``problem``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the validator reports YAML warnings
            roots = list(YAML(typ="rt").compose_all(spec.text))
    except (YAMLError, RecursionError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return ParsedText(spec, (), problem=f"cannot be read as YAML: {first}")
    documents = tuple(
        root
        for root in roots
        if not (isinstance(root, ScalarNode) and str(root.tag or "") == _NULL_TAG)
    )
    return ParsedText(spec, documents)


def start_of(node: Node) -> int:
    """The index where ``node`` starts in its text (its anchor or tag included)."""
    return int(node.start_mark.index)


def end_of(node: Node) -> int:
    """The index just past ``node``."""
    return int(node.end_mark.index)


def line_of(node: Node) -> int:
    """The 1-based line ``node`` starts on."""
    return int(node.start_mark.line) + 1


def column_of(node: Node) -> int:
    """The 0-based column ``node`` starts at."""
    return int(node.start_mark.column)


def own_entries(node: MappingNode) -> Iterator[tuple[ScalarNode, Node]]:
    """The key/value nodes written in ``node`` itself (not merged in with ``<<``)."""
    for key, value in node.value:
        if isinstance(key, ScalarNode) and str(key.tag or "") != _MERGE_TAG:
            yield key, value


def own_entry(node: MappingNode, key: str) -> tuple[ScalarNode, Node] | None:
    """The entry of ``node`` written with ``key``, or None."""
    return next(((k, v) for k, v in own_entries(node) if k.value == key), None)


def effective_value(
    node: MappingNode, key: str, _seen: frozenset[int] = frozenset()
) -> Node | None:
    """The value of ``key`` in ``node``, merged keys (``<<: *defaults``) included."""
    hit = own_entry(node, key)
    if hit is not None:
        return hit[1]
    for merge_key, source in node.value:
        if str(getattr(merge_key, "tag", "") or "") != _MERGE_TAG:
            continue
        sources = source.value if isinstance(source, SequenceNode) else [source]
        for candidate in sources:
            if isinstance(candidate, MappingNode) and id(candidate) not in _seen:
                found = effective_value(candidate, key, _seen | {id(node)})
                if found is not None:
                    return found
    return None


def scalar_text(node: Node | None) -> str | None:
    """A scalar's value as text (``None`` for anything else and for an empty value)."""
    if isinstance(node, ScalarNode) and str(node.tag or "") != _NULL_TAG:
        return str(node.value)
    return None


def is_empty(node: Node) -> bool:
    """Whether ``node`` is an empty value (``key:`` with nothing after it, or ``~``)."""
    return isinstance(node, ScalarNode) and str(node.tag or "") == _NULL_TAG


def is_flow(node: Node) -> bool:
    return bool(getattr(node, "flow_style", False))


def line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def next_line_start(text: str, index: int) -> int:
    """The start of the line after the one holding ``index`` (``len(text)`` at the end)."""
    end = text.find("\n", index)
    return len(text) if end < 0 else end + 1


def column(text: str, index: int) -> int:
    return index - line_start(text, index)


def colon_after(text: str, key: Node) -> int:
    """The index just past the ``:`` that follows mapping key ``key``."""
    return text.index(":", end_of(key)) + 1


def content_end(text: str, node: Node, *, key: Node | None = None) -> int:
    """The index just past the last character of ``node``'s own text (trailing blank
    lines of a block scalar and trailing comments excluded). An empty value ends with
    its key's colon, so ``key`` is needed for one."""
    if is_empty(node) and start_of(node) == end_of(node):
        if key is None:
            return start_of(node)
        return colon_after(text, key)
    if isinstance(node, MappingNode) and not is_flow(node) and node.value:
        last_key, last_value = node.value[-1]
        return content_end(text, last_value, key=last_key)
    if isinstance(node, SequenceNode) and not is_flow(node) and node.value:
        return content_end(text, node.value[-1])
    end = end_of(node)
    while end > start_of(node) and text[end - 1] in " \t\r\n":
        end -= 1
    return end


def value_start(text: str, node: Node) -> int:
    """Where ``node``'s value itself starts: after an anchor (``&a``) or a tag (``!t``)."""
    index = start_of(node)
    while index < len(text) and text[index] in "&!":
        while index < len(text) and text[index] not in " \t\r\n":
            index += 1
        while index < len(text) and text[index] in " \t\r\n":
            index += 1
    return index


def dash_of(text: str, item: Node) -> int | None:
    """The index of the ``-`` that introduces block-sequence item ``item``, or None when
    it is not alone at the start of its line (nested ``- - x``, odd layouts)."""
    index = start_of(item) - 1
    while index >= 0 and text[index] in " \t\r\n":
        index -= 1
    if index < 0 or text[index] != "-":
        return None
    if text[line_start(text, index) : index].strip(" "):
        return None
    return index


def item_end(text: str, item: Node, dash_column: int) -> int:
    """The end of block-sequence item ``item``: the end of its last line, plus the
    comment lines right after it that are indented deeper than its dash."""
    end = next_line_start(text, content_end(text, item))
    while end < len(text):
        line = text[end : next_line_start(text, end)]
        stripped = line.lstrip(" ")
        if not stripped.startswith("#") or len(line) - len(stripped) <= dash_column:
            break
        end += len(line)
    return end


@dataclass(frozen=True, slots=True)
class Layout:
    """How a file indents a block sequence of mappings under a key: the dash sits
    ``offset`` columns right of the key, the item's keys ``gap`` columns right of the
    dash (``offset=2, gap=2`` is ``key:\\n  - a: 1``; ``offset=0, gap=2`` is
    ``key:\\n- a: 1``)."""

    offset: int = 2
    gap: int = 2


DEFAULT_LAYOUT = Layout()


def compute_layout(
    preferred: ParsedText | None, others: Sequence[ParsedText], *, key: str | None = None
) -> Layout:
    """The most common sequence layout under ``key`` in ``preferred``, else under any key
    there, else the same in ``others``, else the default. Only block sequences of block
    mappings under a mapping key count."""
    for files in ([preferred] if preferred else [], others):
        counts: Counter[tuple[str, Layout]] = Counter()
        for parsed in files:
            for root in parsed.documents:
                _count_layouts(parsed.spec.text, root, counts)
        for wanted in ([key] if key else []) + [None]:
            chosen = Counter({lay: n for (k, lay), n in counts.items() if wanted in (None, k)})
            if chosen:  # ties go to the default layout
                return max(chosen, key=lambda lay: (chosen[lay], lay == DEFAULT_LAYOUT))
    return DEFAULT_LAYOUT


def _count_layouts(
    text: str, node: Node, counts: Counter[tuple[str, Layout]], depth: int = 0
) -> None:
    if depth > 64:
        return
    if isinstance(node, MappingNode) and not is_flow(node):
        for key, value in own_entries(node):
            if isinstance(value, SequenceNode) and not is_flow(value) and value.value:
                first = value.value[0]
                dash = dash_of(text, first)
                if dash is not None and isinstance(first, MappingNode) and not is_flow(first):
                    same_line = line_start(text, dash) == line_start(text, start_of(first))
                    key_col = column_of(key)
                    if same_line and column(text, dash) >= key_col:
                        offset = column(text, dash) - key_col
                        gap = column_of(first) - column(text, dash)
                        counts[(str(key.value), Layout(offset, gap))] += 1
            _count_layouts(text, value, counts, depth + 1)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            _count_layouts(text, item, counts, depth + 1)


_BOOL_TAG = "tag:yaml.org,2002:bool"
_MAX_PLAIN_DEPTH = 64


def compute_plain(node: Node, _active: frozenset[int] = frozenset()) -> Any:
    """A node as plain data to compare two readings of a file: mappings (merge keys
    expanded, own keys first), lists, booleans, None, and every other scalar as its
    text (so a timestamp is its source text, as ``reconciler.spec`` reads it). Raises
    ``ValueError`` for a cycle or a tree too deep to be a spec."""
    if id(node) in _active or len(_active) > _MAX_PLAIN_DEPTH:
        raise ValueError("an alias cycle, or nesting too deep")
    if isinstance(node, ScalarNode):
        tag = str(node.tag or "")
        if tag == _NULL_TAG:
            return None
        if tag == _BOOL_TAG:
            return str(node.value).lower() == "true"
        return str(node.value)
    active = _active | {id(node)}
    if isinstance(node, SequenceNode):
        return [compute_plain(item, active) for item in node.value]
    if isinstance(node, MappingNode):
        result: dict[str, Any] = {}
        for key, value in _all_entries(node, active):
            result.setdefault(str(key.value), compute_plain(value, active))
        return result
    raise ValueError(f"unsupported YAML node {type(node).__name__}")


def _all_entries(node: MappingNode, active: frozenset[int]) -> list[tuple[ScalarNode, Node]]:
    own = list(own_entries(node))
    for key, value in node.value:
        if str(getattr(key, "tag", "") or "") != _MERGE_TAG:
            continue
        for source in value.value if isinstance(value, SequenceNode) else [value]:
            if isinstance(source, MappingNode) and id(source) not in active:
                own.extend(_all_entries(source, active | {id(source)}))
    return own
