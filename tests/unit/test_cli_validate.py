"""The contract of `reconciler validate` and `reconciler schema`: exit codes and output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli

ROOT = Path(__file__).parents[2]
SPECS = ROOT / "specs"
CORPUS = ROOT / "tests" / "data" / "bad_specs"
NOW = "2026-11-26T12:00:00Z"

# case -> the `file:line:col` its first diagnostic is at
FIRST_LOCATION = {
    "broken-yaml": "specs.yaml:8:9",
    "misspelt-top-level-key": "specs.yaml:1:1",
    "bad-uuid": "specs.yaml:3:9",
    "dotdot-path": "run42.yaml:6:15",
    "path-outside-root": "run42.yaml:6:15",
    "root-as-grant-path": "run42.yaml:6:15",
    "naive-datetime": "run42.yaml:7:18",
    "permissions-over-policy": "run42.yaml:7:22",
    "duration-over-policy": "run42.yaml:7:18",
    "public-without-allow-public": "run42.yaml:5:17",
    "unknown-group": "run42.yaml:5:16",
    "duplicate-names-across-files": "b.yaml:2:3",
    "conflict-across-files": "b.yaml:5:9",
    "duplicate-yaml-key": "run42.yaml:8:9",
    "wrong-type": "run42.yaml:8:32",
    "missing-expires": "run42.yaml:5:9",
    "non-utf8": "specs.yaml:2:7",
    "tab-indentation": "specs.yaml:4:1",
    "nbsp-indentation": "specs.yaml:4:1",
    "zero-width-space-in-username": "run42.yaml:5:37",
    "lookalike-letter-in-username": "run42.yaml:5:19",
    "notify-no": "run42.yaml:8:17",
    "two-principals": "run42.yaml:6:9",
    "placeholder-on-wrong-principal": "run42.yaml:6:9",
    "membership-of-undeclared-group": "specs.yaml:2:12",
    "unknown-collection-and-naive-datetime": "run42.yaml:3:17",
}


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_the_example_specs_are_valid() -> None:
    code, output = invoke("validate", "--now", NOW, str(SPECS))
    assert code == 0, output
    assert output == "OK: 4 files, 1 collection, 1 group, 3 grants, 1 membership\n"


def test_default_path_is_specs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    code, output = invoke("validate", "--now", NOW)
    assert code == 0, output


def test_every_corpus_case_is_listed() -> None:
    assert sorted(p.name for p in CORPUS.iterdir() if p.is_dir()) == sorted(FIRST_LOCATION)


@pytest.mark.parametrize("case", sorted(FIRST_LOCATION))
def test_bad_case_exits_1_and_names_the_place(case: str) -> None:
    code, output = invoke("validate", "--now", NOW, str(CORPUS / case))
    assert code == 1, output
    lines = output.splitlines()
    assert lines[0].startswith(f"{CORPUS / case / FIRST_LOCATION[case]}: error: "), output
    assert lines[-1].startswith(f"{CORPUS / case}: "), output
    assert " error" in lines[-1]
    assert "\x1b[" not in output  # no colours when not on a terminal


def test_summary_counts_errors_and_warnings(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("colections: {}\nmemberships: {}\n")
    code, output = invoke("validate", "--now", NOW, str(tmp_path))
    assert code == 1
    assert output.splitlines()[-1] == f"{tmp_path}: 2 errors, 0 warnings in 1 file"


def test_warnings_alone_keep_exit_0(tmp_path: Path) -> None:
    spec = tmp_path / "old.yaml"
    spec.write_text(
        "collections: {c: {id: 11111111-2222-3333-4444-555555555555, root: /c/}}\n"
        "distributions:\n  - name: d\n    collection: c\n    grants:\n"
        "      - {identity: a@b.org, path: /c/a/, expires: 2026-01-01}\n"
    )
    code, output = invoke("validate", "--now", NOW, str(spec))
    assert code == 0, output
    assert f"{spec}:6:51: warning: expired at 2026-01-01T00:00:00Z" in output
    assert (
        output.splitlines()[-1]
        == "OK: 1 file, 1 collection, 0 groups, 1 grant, 0 memberships, 1 warning"
    )


def test_json_output() -> None:
    case = CORPUS / "conflict-across-files"
    code, output = invoke("validate", "--output", "json", "--now", NOW, str(case))
    assert code == 1
    document = json.loads(output)
    assert document["valid"] is False
    assert (document["errors"], document["warnings"]) == (1, 0)
    assert document["files"] == [str(case / n) for n in ("a.yaml", "b.yaml", "collections.yaml")]
    (diagnostic,) = document["diagnostics"]
    assert diagnostic["file"] == str(case / "b.yaml")
    assert (diagnostic["line"], diagnostic["column"], diagnostic["severity"]) == (5, 9, "error")
    assert f"{case / 'a.yaml'}:5:9" in diagnostic["message"]
    assert diagnostic["hint"]


def test_json_output_when_valid() -> None:
    code, output = invoke("validate", "--output", "json", "--now", NOW, str(SPECS))
    assert code == 0
    assert json.loads(output) == {
        "valid": True,
        "files": [
            str(SPECS / n)
            for n in ("collections.yaml", "groups.yaml", "run42.yaml", "tutorial.yaml")
        ],
        "errors": 0,
        "warnings": 0,
        "diagnostics": [],
    }


def test_now_moves_the_checks() -> None:
    code, output = invoke("validate", "--now", "2028-01-01", str(SPECS))
    assert code == 0  # everything expired: warnings only
    assert output.count(": warning: expired at 2027-12-31T00:00:00Z") == 3


@pytest.mark.parametrize("now", ["2026-11-26T12:00:00", "yesterday"])
def test_bad_now_is_a_usage_error(now: str) -> None:
    code, output = invoke("validate", "--now", now, str(SPECS))
    assert code == 2
    assert "--now" in output


def test_missing_path_exits_1(tmp_path: Path) -> None:
    code, output = invoke("validate", "--now", NOW, str(tmp_path / "nope"))
    assert code == 1
    assert output.startswith(f"{tmp_path / 'nope'}: error: no such file or directory\n")


def test_schema_prints_json_schema() -> None:
    code, output = invoke("schema")
    assert code == 0
    assert json.loads(output)["$schema"] == "https://json-schema.org/draft/2020-12/schema"
