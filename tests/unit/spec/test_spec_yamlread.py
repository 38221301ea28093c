"""YAML to plain data with positions: scalars, positions, merges and hostile input."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.spec.diagnostics import Diagnostic, Report
from reconciler.spec.yamlread import Document, read_documents

# Problems that lose part of a file (rather than one value in it).
UNREADABLE = (
    "invalid YAML",
    "the file is not UTF-8",
    "character U+",
    "the YAML is nested",
    "the document is too large",
)


def read(text: str | bytes) -> tuple[list[Document], tuple[Diagnostic, ...]]:
    report = Report()
    raw = text.encode() if isinstance(text, str) else text
    reading = read_documents("f.yaml", raw, report)
    assert reading.complete == (
        not any(d.message.startswith(UNREADABLE) for d in report.diagnostics())
    )
    return list(reading.documents), report.diagnostics()


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2027-01-31", "2027-01-31"),  # timestamps stay text
        ("2027-01-31T00:00:00", "2027-01-31T00:00:00"),
        ("'2027-01-31'", "2027-01-31"),
        ("yes", "yes"),  # YAML 1.2: not a boolean
        ("true", True),
        ("False", False),
        ("~", None),
        ("", None),
        ("12", 12),
        ("0o17", 15),
        ("0x1F", 31),
        ("1_000", 1000),
        ("017", 17),
        ("1.5", 1.5),
        ("!!str 12", "12"),
        ("[a, 1]", ["a", 1]),
    ],
)
def test_scalars(text: str, value: Any) -> None:
    documents, diagnostics = read(f"k: {text}\n")
    assert diagnostics == ()
    assert documents[0].data == {"k": value}


def test_positions_of_values_and_keys() -> None:
    documents, _ = read("a:\n  - x: 1\n    y: [2, {z: 3}]\nempty:\nb: c\n")
    positions = documents[0].positions
    assert positions.value_at(("a", 0)) == (2, 5)
    assert positions.value_at(("a", 0, "y", 1, "z")) == (3, 16)
    assert positions.key_at(("a", 0, "y")) == (3, 5)
    assert positions.value_at(("empty",)) == (4, 1)  # an empty value points at its key
    assert positions.value_at(("b", "not", "there")) == (5, 4)  # nearest enclosing value
    assert positions.key_at(("a", 0)) == (2, 5)  # a list item has no key


def test_documents_keep_file_lines() -> None:
    documents, diagnostics = read("a: 1\n---\n---\n# nothing\n---\nb: 2\n")
    assert diagnostics == ()
    assert [d.data for d in documents] == [{"a": 1}, {"b": 2}]
    assert documents[1].positions.value_at(("b",)) == (6, 4)


def test_merge_keys_and_aliases() -> None:
    text = "base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\nn: *b\nl:\n  <<: [{p: 1}, {p: 2, q: 2}]\n"
    documents, diagnostics = read(text)
    assert diagnostics == ()
    data = documents[0].data
    assert data["m"] == {"y": 3, "x": 1}
    assert data["n"] == {"x": 1, "y": 2}
    assert data["l"] == {"p": 1, "q": 2}
    assert documents[0].positions.value_at(("m", "x")) == (1, 14)  # where it was written


@pytest.mark.parametrize(
    ("text", "line", "col", "fragment"),
    [
        ("a: 1\nb: 2\na: 3\n", 3, 1, "duplicate key `a`"),
        ("a: &x\n  b: *x\n", 1, 4, "refers to itself"),  # the anchor: aliases have no mark
        ("a: &x\n  <<: *x\n", 1, 4, "`<<` merges a mapping"),
        ("a:\n  <<: 5\n", 2, 7, "`<<` merges a mapping"),
        ("? [a, b]\n: 1\n", 1, 3, "a mapping key must be a plain name"),
        ("a: !env HOME\n", 1, 4, "unsupported YAML tag `!env`"),
        ("a: !!set {x}\n", 1, 4, "unsupported YAML tag"),
        ("a: *nope\n", 1, 4, "undefined alias"),
        ("a: [1\n", 1, 4, "invalid YAML"),  # where the unclosed list starts
        ("a:\n\t- 1\n", 2, 1, "found character '\\t'"),
        ("a: b: c\n", 1, 5, "mapping values are not allowed"),
        ("a: x\x07y\n", 1, 5, "U+0007 is not allowed"),
    ],
)
def test_problems_are_located(text: str, line: int, col: int, fragment: str) -> None:
    _, diagnostics = read(text)
    errors = [d for d in diagnostics if d.severity == "error"]
    assert errors, diagnostics
    assert (errors[0].line, errors[0].col) == (line, col), errors
    assert fragment in errors[0].message


def test_non_utf8_is_located() -> None:
    _, diagnostics = read(b"a: 1\nb: caf\xe9\n")
    assert [(d.line, d.col, d.severity) for d in diagnostics] == [(2, 7, "error")]


def test_byte_order_mark_is_ignored() -> None:
    documents, diagnostics = read("\ufeffa: 1\n".encode())
    assert diagnostics == ()
    assert documents[0].positions.value_at(("a",)) == (1, 4)


def test_duplicate_anchor_is_a_warning_not_an_exception() -> None:
    documents, diagnostics = read("a: &x 1\nb: &x 2\nc: *x\n")
    assert documents[0].data == {"a": 1, "b": 2, "c": 2}
    assert [(d.severity, d.line) for d in diagnostics] == [("warning", 2)]


def test_alias_bomb_is_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    documents, diagnostics = read("\n".join(lines) + "\n")
    assert documents == []
    (diagnostic,) = diagnostics
    assert diagnostic.message.startswith("the document is too large once aliases are expanded:")


def test_a_small_alias_bomb_with_merges_is_refused_too() -> None:
    lines = ["a0: &a0 {k: [x, x, x, x, x, x, x, x, x, x]}"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 7)]
    lines += ["b: {<<: *a0}"]
    documents, diagnostics = read("\n".join(lines) + "\n")
    assert documents == []
    assert diagnostics[0].message.startswith("the document is too large once aliases")


def test_many_honest_aliases_and_merges_are_not_a_bomb() -> None:
    # A defaults mapping merged into, and a stage shared by, every one of 25,000 entries:
    # what aliases add stays proportional to what is written.
    lines = ["defaults: &d {expires: 2027-01-01, permissions: r}", "shared: &s {a: 1, b: [1, 2]}"]
    lines += ["items:"]
    lines += [f"  - {{<<: *d, identity: u{i}@x.org, stage: *s}}" for i in range(25_000)]
    documents, diagnostics = read("\n".join(lines) + "\n")
    assert diagnostics == ()
    items = documents[0].data["items"]
    assert len(items) == 25_000
    assert items[-1] == {
        "identity": "u24999@x.org",
        "stage": {"a": 1, "b": [1, 2]},
        "expires": "2027-01-01",
        "permissions": "r",
    }


def test_deep_nesting_is_refused() -> None:
    _, diagnostics = read("a: " + "[" * 100 + "]" * 100 + "\n")
    assert [d.message for d in diagnostics] == ["the YAML is nested too deeply to be a spec"]


def test_nesting_beyond_the_parser_is_refused() -> None:
    # Deep enough to exhaust Python's recursion limit inside the YAML parser.
    documents, diagnostics = read("a: " + "[" * 600 + "]" * 600 + "\n")
    assert documents == []
    assert [d.message for d in diagnostics] == ["the YAML is nested too deeply to be a spec"]
