"""``@value`` types are immutable to the type checker and hashable at run time."""

from __future__ import annotations

from pathlib import Path

from mypy import api as mypy_api

from reconciler.core.actions import MakeDirectory, Principal

SNIPPET = """
from reconciler.core.actions import MakeDirectory
action = MakeDirectory("c", "id", "/d/x/", "why")
action.path = "/elsewhere/"
"""


def test_assigning_a_field_is_a_type_error(tmp_path: Path) -> None:
    snippet = tmp_path / "mutate.py"
    snippet.write_text(SNIPPET)
    out, _err, status = mypy_api.run(
        ["--strict", "--follow-imports=silent", "--no-incremental", str(snippet)]
    )
    assert status == 1
    assert 'Property "path" defined in "MakeDirectory" is read-only' in out


def test_values_compare_and_hash_by_content() -> None:
    a = MakeDirectory("c", "id", "/d/x/", "why", grant_directory=True)
    b = MakeDirectory("c", "id", "/d/x/", "why", grant_directory=True)
    assert a == b
    assert len({a, b, Principal("identity", "u")}) == 2
