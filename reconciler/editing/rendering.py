"""New spec entries as YAML text, laid out like the file they go into. Pure.

ruamel.yaml's round-trip dumper writes the entry (it knows when a value needs quotes:
a message with ``: `` or ``#``, a path with ``{`` in a flow mapping, a string that would
read as a number), with the file's sequence layout and a line width large enough that
nothing is re-wrapped. Expiry instants are written as plain YAML timestamps
(``2026-12-10T14:03:00Z``), never quoted. This module only produces text: where it goes
is ``splicing``'s job.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.representer import RoundTripRepresenter
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from reconciler.editing.yamltext import Layout

_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_WIDTH = 1_000_000


class Timestamp(str):
    """An expiry as spec text; rendered as a plain YAML timestamp, equal to its text."""

    __slots__ = ()


def _represent_timestamp(representer: RoundTripRepresenter, data: Timestamp) -> ScalarNode:
    return representer.represent_scalar(_TIMESTAMP_TAG, str(data))


def _dumper(layout: Layout) -> YAML:
    yaml = YAML(typ="rt")
    yaml.width = _WIDTH
    yaml.indent(
        mapping=max(layout.gap, 1), sequence=layout.offset + layout.gap, offset=layout.offset
    )
    yaml.representer.add_representer(Timestamp, _represent_timestamp)
    return yaml


def _commented(value: Any, *, flow: bool = False) -> Any:
    if isinstance(value, Mapping):
        mapping = CommentedMap((k, _commented(v, flow=flow)) for k, v in value.items())
        if flow:
            mapping.fa.set_flow_style()
        return mapping
    if isinstance(value, list | tuple):
        sequence = CommentedSeq(_commented(v, flow=flow) for v in value)
        if flow:
            sequence.fa.set_flow_style()
        return sequence
    if isinstance(value, str) and not isinstance(value, Timestamp) and not value.isprintable():
        # Tabs, line breaks, NEL, U+2028 and the like survive only as escapes.
        return DoubleQuotedScalarString(value)
    return value


def _dump(value: Any, layout: Layout) -> str:
    buffer = io.StringIO()
    _dumper(layout).dump(value, buffer)
    return buffer.getvalue()


def _lines(text: str, *, shift: int, newline: str) -> str:
    """``text``'s lines moved ``shift`` columns right (left when negative)."""
    out = []
    for line in text.splitlines():
        if shift >= 0:
            out.append(" " * shift + line if line else line)
        else:
            out.append(line[-shift:] if line[:-shift].strip() == "" else line.lstrip(" "))
    return "".join(line + newline for line in out)


def render_block_item(
    item: Mapping[str, Any], *, dash_column: int, layout: Layout, newline: str
) -> str:
    """``item`` as a block-sequence entry whose ``-`` is at ``dash_column``; whole lines."""
    text = _dump(CommentedSeq([_commented(item)]), layout)
    return _lines(text, shift=dash_column - layout.offset, newline=newline)


def render_flow_item(item: Mapping[str, Any]) -> str:
    """``item`` as a one-line flow mapping: ``{identity: a@b.org, expires: 2027-01-31}``."""
    text = _dump(CommentedSeq([_commented(item, flow=True)]), Layout(0, 2)).strip()
    return text.removeprefix("-").strip()


def render_block_key(
    key: str, items: Sequence[Mapping[str, Any]], *, key_column: int, layout: Layout, newline: str
) -> str:
    """``key:`` and a block sequence of ``items`` under it, the key at ``key_column``."""
    text = _dump(CommentedMap([(key, CommentedSeq(_commented(i) for i in items))]), layout)
    return _lines(text, shift=key_column, newline=newline)


def render_scalar(text: str, *, style: str | None) -> str:
    """A timestamp (or other plain-safe text) written in a scalar's quoting ``style``."""
    if style == "'":
        return "'" + text.replace("'", "''") + "'"
    if style == '"':
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text
