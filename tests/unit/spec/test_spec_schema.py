"""The JSON Schema: committed copy up to date, valid 2020-12, and agreeing with the examples."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator
from ruamel.yaml import YAML

from reconciler.cli.validating import schema as schema_command
from reconciler.spec import compute_json_schema

SPECS = Path(__file__).parents[3] / "specs"
COMMITTED = SPECS / "reconciler.schema.json"


def plain(value: Any) -> Any:
    """YAML data as JSON would hold it: timestamps become the text a spec would use."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def documents(path: Path) -> list[Any]:
    return [plain(doc) for doc in YAML(typ="safe").load_all(path.read_text()) if doc is not None]


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    return Draft202012Validator(compute_json_schema())


def test_committed_schema_is_the_command_output() -> None:
    result = CliRunner().invoke(schema_command, [])
    assert result.exit_code == 0
    assert COMMITTED.read_text() == result.output, (
        "specs/reconciler.schema.json is stale: regenerate it with "
        "`.venv/bin/reconciler schema > specs/reconciler.schema.json`"
    )


def test_schema_is_a_valid_2020_12_schema() -> None:
    schema = compute_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_every_property_is_described_for_editors() -> None:
    schema = compute_json_schema()
    for name, definition in [("SpecFile", schema), *schema["$defs"].items()]:
        assert definition.get("description"), name
        for key, prop in definition["properties"].items():
            assert prop.get("description"), f"{name}.{key}"


@pytest.mark.parametrize("path", sorted(SPECS.glob("*.yaml")), ids=lambda p: p.name)
def test_examples_satisfy_the_schema(validator: Draft202012Validator, path: Path) -> None:
    assert path.read_text().startswith("# yaml-language-server: $schema=./reconciler.schema.json")
    for document in documents(path):
        assert list(validator.iter_errors(document)) == []


GRANT = {"identity": "a@b.org", "path": "/d/a/", "expires": "2027-01-31"}
REJECTED = {
    "misspelt top-level key": {"colections": {}},
    "unknown key in a grant": {
        "distributions": [{"name": "d", "collection": "c", "grants": [{**GRANT, "expire": 1}]}]
    },
    "two principals": {
        "distributions": [{"name": "d", "collection": "c", "grants": [{**GRANT, "group": "g"}]}]
    },
    "no principal": {
        "distributions": [
            {"name": "d", "collection": "c", "grants": [{"path": "/d/", "expires": "2027-01-31"}]}
        ]
    },
    "notify on a group grant": {
        "distributions": [
            {
                "name": "d",
                "collection": "c",
                "grants": [{"group": "g", "expires": "2027-01-31", "notify": True}],
            }
        ]
    },
    "naive datetime": {
        "memberships": [{"group": "g", "identity": "a@b.org", "expires": "2027-01-31T00:00:00"}]
    },
    "bad UUID": {"groups": {"g": {"id": "b4cada3a-af7c-11e3-8b90"}}},
    "bad name": {"groups": {"G": {"id": "b4cada3a-af7c-11e3-8b90-1231391ccf32"}}},
    "path with ..": {
        "collections": {"c": {"id": "b4cada3a-af7c-11e3-8b90-1231391ccf32", "root": "/a/../"}}
    },
    "duration": {
        "groups": {"g": {"id": "b4cada3a-af7c-11e3-8b90-1231391ccf32", "max_duration": "30"}}
    },
}


@pytest.mark.parametrize("document", REJECTED.values(), ids=REJECTED.keys())
def test_schema_rejects_what_validate_rejects(
    validator: Draft202012Validator, document: Any
) -> None:
    assert list(validator.iter_errors(document)) != []
