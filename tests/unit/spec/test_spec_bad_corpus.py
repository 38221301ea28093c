"""The corpus of broken spec sets in tests/data/bad_specs/: one directory per case, each
with every diagnostic it must produce (file, line, column, a piece of the message).

To add a case, add a directory and a row here; `test_every_case_has_a_row` keeps the
two in step.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from reconciler.spec import load_spec_set

CORPUS = Path(__file__).parents[2] / "data" / "bad_specs"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

# case -> [(file, line, column, severity, piece of the message)]
EXPECTED: dict[str, list[tuple[str, int, int, str, str]]] = {
    "broken-yaml": [("specs.yaml", 8, 9, "error", "invalid YAML: expected ',' or '}'")],
    "misspelt-top-level-key": [("specs.yaml", 1, 1, "error", "unknown key `colections`")],
    "bad-uuid": [
        ("specs.yaml", 3, 9, "error", "`e56c36e4-1063-11e6-a747-22000bf2d55` is not a UUID")
    ],
    "dotdot-path": [("run42.yaml", 6, 15, "error", "contains a `.` or `..` segment")],
    "path-outside-root": [("run42.yaml", 6, 15, "error", "`/home/alice/` is outside the root")],
    "root-as-grant-path": [("run42.yaml", 6, 15, "error", "is the root of collection `petrel`")],
    "naive-datetime": [("run42.yaml", 7, 18, "error", "`2026-12-20T12:00:00` has no timezone")],
    "permissions-over-policy": [("run42.yaml", 7, 22, "error", "permissions `rw` exceed")],
    "duration-over-policy": [
        ("run42.yaml", 7, 18, "error", "max_duration 30d means no later than 2026-12-26T12:00:00Z")
    ],
    "public-without-allow-public": [("run42.yaml", 5, 17, "error", "does not allow public grants")],
    "unknown-group": [("run42.yaml", 5, 16, "error", "unknown group `dot-omic`")],
    "duplicate-names-across-files": [
        ("b.yaml", 2, 3, "error", "collection `petrel` is already declared at {dir}/a.yaml:2:3")
    ],
    "conflict-across-files": [
        ("b.yaml", 5, 9, "error", "conflicts with the grant at {dir}/a.yaml:5:9")
    ],
    "duplicate-yaml-key": [("run42.yaml", 8, 9, "error", "duplicate key `expires`")],
    "wrong-type": [
        ("run42.yaml", 8, 32, "error", "`revoke_after_download` must be `true` or `false`")
    ],
    "missing-expires": [("run42.yaml", 5, 9, "error", "a grant needs the key `expires`")],
    "non-utf8": [("specs.yaml", 2, 7, "error", "not UTF-8 text: byte 0xe9")],
    "tab-indentation": [("specs.yaml", 4, 1, "error", "found character '\\t'")],
    "nbsp-indentation": [
        ("specs.yaml", 4, 1, "error", "U+00A0 NO-BREAK SPACE at column 1 where YAML needs")
    ],
    "zero-width-space-in-username": [
        (
            "run42.yaml",
            5,
            37,
            "error",
            "U+200B ZERO WIDTH SPACE (an invisible character) at column 37",
        )
    ],
    "lookalike-letter-in-username": [
        ("run42.yaml", 5, 19, "error", "U+0430 CYRILLIC SMALL LETTER A (a look-alike of `a`)")
    ],
    "notify-no": [("run42.yaml", 8, 17, "error", "not the string `no`: did you mean false?")],
    "two-principals": [("run42.yaml", 6, 9, "error", "names both `identity` and `group`")],
    "placeholder-on-wrong-principal": [
        ("run42.yaml", 6, 9, "error", "`{identity_id}` in `/disthome/{identity_id}/`")
    ],
    "membership-of-undeclared-group": [
        ("specs.yaml", 2, 12, "error", "is not declared under `groups:`")
    ],
    "unknown-collection-and-naive-datetime": [
        ("run42.yaml", 3, 17, "error", "unknown collection `petrell`"),
        ("run42.yaml", 7, 18, "error", "`2026-12-20 08:00` has no timezone"),
    ],
}


def test_every_case_has_a_row() -> None:
    assert sorted(p.name for p in CORPUS.iterdir() if p.is_dir()) == sorted(EXPECTED)


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_case_reports_exactly(case: str) -> None:
    directory = CORPUS / case
    result = load_spec_set([directory], now=NOW)
    got = [
        (Path(d.file).relative_to(directory).as_posix(), d.line, d.col, d.severity)
        for d in result.diagnostics
    ]
    assert got == [row[:4] for row in EXPECTED[case]], "\n".join(map(str, result.diagnostics))
    for diagnostic, row in zip(result.diagnostics, EXPECTED[case], strict=True):
        assert row[4].replace("{dir}", str(directory)) in diagnostic.message, diagnostic
    assert not result.ok
    assert result.intent is None
