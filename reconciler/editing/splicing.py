"""Text edits of a spec file as splices: replace the characters ``[start, end)`` with new
text. Pure.

Each function here turns one structural change (set a scalar, append an item to a
sequence, remove items, add a top-level key) into splices computed from the node spans
of ``yamltext``; ``compute_spliced`` applies them. Characters outside the splices are
never touched, which is what keeps an edited file byte-identical everywhere else. When a
layout is too unusual to edit safely (an item sharing its line with another, a
top-level flow mapping) the functions raise ``EditRefused`` rather than guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler.editing.errors import EditRefused
from reconciler.editing.rendering import (
    render_block_item,
    render_block_key,
    render_flow_item,
    render_scalar,
)
from reconciler.editing.yamltext import (
    Layout,
    SpecText,
    colon_after,
    column,
    column_of,
    content_end,
    dash_of,
    end_of,
    is_empty,
    is_flow,
    item_end,
    line_of,
    line_start,
    next_line_start,
    start_of,
    value_start,
)

_BY_HAND = "edit this part of the file by hand"


@dataclass(frozen=True, slots=True)
class Splice:
    """Replace ``text[start:end]`` with ``new``."""

    start: int
    end: int
    new: str


def compute_spliced(text: str, splices: Iterable[Splice]) -> str:
    """``text`` with ``splices`` applied; they must not overlap."""
    result = text
    previous_start = len(text) + 1
    for splice in sorted(splices, key=lambda s: (s.start, s.end), reverse=True):
        if splice.end > previous_start:
            raise ValueError("overlapping splices")
        result = result[: splice.start] + splice.new + result[splice.end :]
        previous_start = splice.start
    return result


def _where(spec: SpecText, node: Node) -> str:
    return f"{spec.name}:{line_of(node)}:{column_of(node) + 1}"


def splice_scalar(spec: SpecText, node: Node, text: str) -> Splice:
    """Replace scalar ``node``'s value with ``text`` (a timestamp), keeping its quotes,
    anchor and tag."""
    if not isinstance(node, ScalarNode) or is_empty(node) or node.style in ("|", ">"):
        raise EditRefused(
            f"{_where(spec, node)}: this value is not a one-line scalar", hint=_BY_HAND
        )
    start, end = value_start(spec.text, node), end_of(node)
    new = render_scalar(text, style=node.style)
    # Keep a trailing comment in its column when the spaces before it allow.
    after = spec.text[end : next_line_start(spec.text, end)]
    spaces = len(after) - len(after.lstrip(" "))
    if after.lstrip(" ").startswith("#") and spaces > 1:
        keep = max(1, spaces - (len(new) - (end - start)))
        return Splice(start, end + spaces, new + " " * keep)
    return Splice(start, end, new)


def _insertion(spec: SpecText, at: int, text: str) -> Splice:
    """Insert whole lines at ``at`` (a line start), adding a line break first when the
    file does not end with one."""
    if at == len(spec.text) and spec.text and not spec.text.endswith("\n"):
        text = spec.newline + text
    return Splice(at, at, text)


def splice_append_item(
    spec: SpecText,
    *,
    key: ScalarNode,
    value: Node,
    item: Mapping[str, Any],
    layout: Layout,
    in_flow: bool = False,
) -> list[Splice]:
    """Append ``item`` to the sequence under ``key`` (its value node ``value``: a block or
    flow sequence, or an empty value). ``in_flow`` says the enclosing mapping is a flow
    mapping, where only flow style may be written."""
    text = spec.text
    if isinstance(value, SequenceNode) and value.value:
        last = value.value[-1]
        if is_flow(value):
            return [Splice(end_of(last), end_of(last), ", " + render_flow_item(item))]
        dash = dash_of(text, last)
        if dash is None:
            raise EditRefused(
                f"{_where(spec, last)}: cannot tell where this list item starts", hint=_BY_HAND
            )
        dash_col = column(text, dash)
        if isinstance(last, MappingNode) and is_flow(last):
            line = " " * dash_col + "- " + render_flow_item(item) + spec.newline
        else:
            gap = layout.gap
            if line_start(text, start_of(last)) == line_start(text, dash):
                gap = column_of(last) - dash_col
            line = render_block_item(
                item, dash_column=dash_col, layout=Layout(layout.offset, gap), newline=spec.newline
            )
        return [_insertion(spec, item_end(text, last, dash_col), line)]
    if isinstance(value, SequenceNode) and is_flow(value):
        if in_flow:
            return [Splice(start_of(value), end_of(value), f"[{render_flow_item(item)}]")]
        # `grants: []` becomes a block list under the key (its comment stays on the key line)
        start = colon_after(text, key)
        end = end_of(value)
        if text[start : start_of(value)].strip(" \t"):
            raise EditRefused(
                f"{_where(spec, value)}: unusual text before this list", hint=_BY_HAND
            )
        rest = text[end : next_line_start(text, end)]
        # a comment after `[]` stays where it is; otherwise the line ends at the colon
        removal = Splice(start_of(value) if rest.strip() else start, end, "")
        block = render_block_item(
            item,
            dash_column=column_of(key) + layout.offset,
            layout=layout,
            newline=spec.newline,
        )
        return [removal, _insertion(spec, next_line_start(text, end), block)]
    if is_empty(value) and not in_flow:
        at = next_line_start(text, colon_after(text, key))
        block = render_block_item(
            item,
            dash_column=column_of(key) + layout.offset,
            layout=layout,
            newline=spec.newline,
        )
        return [_insertion(spec, at, block)]
    raise EditRefused(
        f"{_where(spec, value)}: `{key.value}` is not a list this tool can add to", hint=_BY_HAND
    )


def splice_remove_items(
    spec: SpecText, *, key: ScalarNode, value: SequenceNode, indices: Sequence[int]
) -> list[Splice]:
    """Remove the items at ``indices`` from sequence ``value`` (under ``key``). A list
    left empty is written ``[]``."""
    text = spec.text
    items = value.value
    doomed = sorted(set(indices))
    if not doomed:
        return []
    if is_flow(value):
        if len(doomed) == len(items):
            return [Splice(start_of(value), end_of(value), "[]")]
        return [_flow_removal(items, run) for run in _runs(doomed)]
    splices: list[Splice] = []
    for index in doomed:
        item = items[index]
        dash = dash_of(text, item)
        if dash is None:
            raise EditRefused(
                f"{_where(spec, item)}: cannot tell where this list item starts", hint=_BY_HAND
            )
        splices.append(Splice(line_start(text, dash), item_end(text, item, column(text, dash)), ""))
    if len(doomed) == len(items):
        colon = colon_after(text, key)
        splices.append(Splice(colon, colon, " []"))
    return splices


def _runs(indices: Sequence[int]) -> list[tuple[int, int]]:
    """Consecutive runs ``(first, last)`` in sorted ``indices``."""
    runs: list[tuple[int, int]] = []
    for index in indices:
        if runs and runs[-1][1] == index - 1:
            runs[-1] = (runs[-1][0], index)
        else:
            runs.append((index, index))
    return runs


def _flow_removal(items: Sequence[Node], run: tuple[int, int]) -> Splice:
    """Remove flow items ``run`` with one separating comma (not all items go)."""
    first, last = run
    if last + 1 < len(items):
        return Splice(start_of(items[first]), start_of(items[last + 1]), "")
    return Splice(end_of(items[first - 1]), end_of(items[last]), "")


def splice_add_key(
    spec: SpecText,
    *,
    root: Node | None,
    key: str,
    item: Mapping[str, Any],
    layout: Layout,
) -> list[Splice]:
    """Add ``key:`` with a one-item block list to document ``root`` (None: the file has
    no document yet, so the key is appended at its end)."""
    text = spec.text
    if root is None:
        block = render_block_key(key, [item], key_column=0, layout=layout, newline=spec.newline)
        return [_insertion(spec, len(text), block)]
    if not isinstance(root, MappingNode) or is_flow(root) or not root.value:
        raise EditRefused(
            f"{_where(spec, root)}: the document is not a block mapping, so `{key}:` cannot be "
            "added to it",
            hint="add the entry by hand, or pick another file with --file",
        )
    last_key, last_value = root.value[-1]
    end = content_end(text, last_value, key=last_key)
    block = render_block_key(
        key, [item], key_column=column_of(root), layout=layout, newline=spec.newline
    )
    return [_insertion(spec, next_line_start(text, end), block)]
