"""Exit codes and outputs of plan, apply and status, asserted as a contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.engine.conftest import ONE_GRANT, World


@pytest.fixture
def one_grant(world: World) -> World:
    world.write("users.yaml", ONE_GRANT)
    return world


def test_invalid_specs_exit_1_with_located_errors_and_change_nothing(one_grant: World) -> None:
    one_grant.write("broken.yaml", "distributions:\n  - name: x\n    colection: tutorial\n")
    for args in (["plan"], ["apply", "--auto-approve"]):
        result = one_grant.cli(*args, "--sandbox", str(one_grant.specs))
        assert result.exit_code == 1
        assert "broken.yaml:3:5" in result.output
        assert "nothing was planned" in result.output
    assert one_grant.rules() == []


def test_plan_outputs(one_grant: World, tmp_path: Path) -> None:
    as_json = one_grant.cli("plan", "--sandbox", "--output", "json", str(one_grant.specs))
    assert as_json.exit_code == 0
    doc = json.loads(as_json.output)
    assert doc["format_version"] == 1
    assert doc["summary"] == {"make_directory": 1, "create_rule": 1}
    assert doc["actions"][1]["principal"]["label"] == "alice@example.org"

    markdown = one_grant.cli("plan", "--sandbox", "--output", "markdown", str(one_grant.specs))
    assert markdown.exit_code == 0
    assert markdown.output.startswith("### reconciler plan")
    assert "| `+` | create rule |" in markdown.output

    saved = tmp_path / "plan.json"
    text = one_grant.cli("plan", "--sandbox", "--out", str(saved), str(one_grant.specs))
    assert text.exit_code == 0
    assert "create rule" in text.output
    assert json.loads(saved.read_text())["live_fingerprint"] == doc["live_fingerprint"]


def test_apply_without_a_terminal_needs_auto_approve(one_grant: World) -> None:
    result = one_grant.cli("apply", "--sandbox", str(one_grant.specs))
    assert result.exit_code == 1
    assert "--auto-approve" in result.output
    assert one_grant.rules() == []


def test_saved_plan_applies_only_while_fresh(one_grant: World, tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    assert (
        one_grant.cli("plan", "--sandbox", "--out", str(saved), str(one_grant.specs)).exit_code == 0
    )
    stale = tmp_path / "stale.json"
    stale.write_text(saved.read_text())

    fresh = one_grant.cli(
        "apply", "--sandbox", "--auto-approve", "--plan", str(saved), str(one_grant.specs)
    )
    assert fresh.exit_code == 0, fresh.output
    assert len(one_grant.rules()) == 1

    refused = one_grant.cli(
        "apply", "--sandbox", "--auto-approve", "--plan", str(stale), str(one_grant.specs)
    )
    assert refused.exit_code == 1
    assert "Globus has changed since this plan was made" in refused.output

    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    broken = one_grant.cli(
        "apply", "--sandbox", "--auto-approve", "--plan", str(garbage), str(one_grant.specs)
    )
    assert broken.exit_code == 1
    assert "not a reconciler plan file" in broken.output


def test_status_shows_time_left(one_grant: World) -> None:
    assert (
        one_grant.cli("apply", "--sandbox", "--auto-approve", str(one_grant.specs)).exit_code == 0
    )
    result = one_grant.cli(
        "status", "--sandbox", "--now", "2027-06-29T00:00:00Z", str(one_grant.specs)
    )
    assert result.exit_code == 0
    assert "alice@example.org" in result.output
    assert "1d 0h" in result.output
    assert "in spec" in result.output


def test_missing_credentials_are_explained(
    one_grant: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("GLOBUS_CLIENT_ID", "GLOBUS_CLIENT_SECRET", "GLOBUS_DATA"):
        monkeypatch.delenv(name, raising=False)
    result = one_grant.cli("plan", str(one_grant.specs))
    assert result.exit_code == 1
    assert "no Globus credentials" in result.output
    assert "Traceback" not in result.output


def test_a_saved_plan_is_refused_once_time_has_changed_what_it_would_do(
    one_grant: World, tmp_path: Path
) -> None:
    one_grant.write(
        "members.yaml",
        "memberships:\n  - group: tutorial-users\n    identity: carol@example.org\n"
        "    expires: 2026-12-01\n",
    )
    saved = tmp_path / "plan.json"
    made = one_grant.cli(
        "plan", "--sandbox", "--now", "2026-11-27T00:00:00Z", "--out", str(saved),
        str(one_grant.specs),
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert "add member" in made.output
    late = one_grant.cli(
        "apply", "--sandbox", "--auto-approve", "--plan", str(saved),
        "--now", "2026-12-15T00:00:00Z", str(one_grant.specs),
    )  # fmt: skip
    assert late.exit_code == 1
    assert "no longer what applying now would do" in late.output
    assert one_grant.rules() == []
