"""Finding and reading spec files: directories, explicit files, missing paths."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from reconciler.spec import compute_spec_set, load_spec_set

SPECS = Path(__file__).parents[3] / "specs"
COLLECTION = "collections:\n  c:\n    id: 11111111-2222-3333-4444-555555555555\n    root: /c/\n"
GRANT = (
    "distributions:\n  - name: d\n    collection: c\n    grants:\n"
    "      - {identity: a@b.org, path: /c/a/, expires: 2026-12-01}\n"
)


def test_the_worked_example_is_valid(now: datetime) -> None:
    result = load_spec_set([SPECS], now=now)
    assert result.diagnostics == ()
    assert result.ok
    assert [p.name for p in result.files] == [
        "collections.yaml",
        "groups.yaml",
        "run42.yaml",
        "tutorial.yaml",
    ]
    assert result.intent is not None
    assert [g.principal.kind for g in result.intent.grants] == ["identity", "identity", "group"]
    staged = result.intent.grants[0]
    assert staged.stage is not None
    assert staged.revoke_after_download
    assert len(result.intent.memberships) == 1


def test_directories_are_searched_recursively_in_order(tmp_path: Path, now: datetime) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "grants.yml").write_text(GRANT)
    (tmp_path / "a.yaml").write_text(COLLECTION)
    (tmp_path / ".hidden.yaml").write_text("broken: [")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.yaml").write_text("broken: [")
    (tmp_path / "notes.txt").write_text("broken: [")
    (tmp_path / "empty.yaml").write_text("")
    result = load_spec_set([tmp_path], now=now)
    assert result.diagnostics == ()
    assert [p.relative_to(tmp_path).as_posix() for p in result.files] == [
        "a.yaml",
        "b/grants.yml",
        "empty.yaml",
    ]
    assert result.intent is not None
    assert len(result.intent.grants) == 1


def test_explicit_files_are_taken_as_given_and_read_once(tmp_path: Path, now: datetime) -> None:
    spec = tmp_path / "spec.txt"
    spec.write_text(COLLECTION)
    result = load_spec_set([spec, tmp_path, spec], now=now)
    assert result.files == (spec,)
    assert result.ok


def test_missing_path_and_empty_directory(tmp_path: Path, now: datetime) -> None:
    (tmp_path / "empty").mkdir()
    result = load_spec_set([tmp_path / "nope.yaml", tmp_path / "empty"], now=now)
    assert [(Path(d.file).name, d.line, d.severity) for d in result.diagnostics] == [
        ("empty", 0, "warning"),
        ("nope.yaml", 0, "error"),
    ]
    assert (
        str(result.diagnostics[1]) == f"{tmp_path / 'nope.yaml'}: error: no such file or directory"
    )
    assert result.intent is None


def test_unreadable_file_is_an_error(tmp_path: Path, now: datetime) -> None:
    loop = tmp_path / "loop.yaml"
    loop.symlink_to(loop)
    result = load_spec_set([loop], now=now)
    assert [d.severity for d in result.diagnostics] == ["error"]
    assert result.diagnostics[0].message.startswith(("cannot read", "no such"))


def test_naive_now_is_a_programming_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        load_spec_set([tmp_path], now=datetime(2026, 11, 26))


def test_diagnostic_text_form(tmp_path: Path, now: datetime) -> None:
    spec = tmp_path / "a.yaml"
    spec.write_text("colections: {}\n")
    (diagnostic,) = load_spec_set([spec], now=now).diagnostics
    assert str(diagnostic) == (
        f"{spec}:1:1: error: unknown key `colections` in a spec file\n"
        "  hint: did you mean `collections`?"
    )


def test_the_reference_example_is_valid(now: datetime) -> None:
    doc = (SPECS.parent / "docs" / "spec-language.md").read_text()
    example = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    intent, diagnostics = compute_spec_set([("example.yaml", example.encode())], now=now)
    assert diagnostics == ()
    assert intent is not None
    assert len(intent.grants) == 2


def test_a_bug_fails_closed_and_is_reported(monkeypatch: pytest.MonkeyPatch, now: datetime) -> None:
    def broken_check(*_args: object, **_kwargs: object) -> None:
        raise KeyError("boom")

    monkeypatch.setattr("reconciler.spec.compiling.check_spec_set", broken_check)
    intent, diagnostics = compute_spec_set([("a.yaml", COLLECTION.encode())], now=now)
    assert intent is None
    (diagnostic,) = diagnostics
    assert diagnostic.message.startswith("internal error while checking the spec set: KeyError")
    assert "test_spec_loading.py" in diagnostic.message
