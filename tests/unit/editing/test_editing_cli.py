"""The contract of `reconciler grant`, `membership` and `tidy`: exit codes 0 changed
(or nothing to change), 1 refused (nothing changed) or commit failed, 2 usage; text and
JSON output; --dry-run writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.editing.locking import LOCK_NAME

from .conftest import snapshot

NOW = "2026-11-26T12:00:00Z"


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_grant_add_prints_the_diff_and_what_changed(examples: Path) -> None:
    code, out, err = invoke(
        "grant",
        "add",
        "per-user",
        "bob@example.org",
        "--for",
        "14d",
        "--notify-message",
        "Your data is ready",
        "--revoke-after-download",
        "--specs",
        str(examples),
        "--now",
        NOW,
    )
    assert (code, err) == (0, "")
    assert "+      - identity: bob@example.org\n" in out
    assert "+        notify: true\n+        notify_message: Your data is ready\n" in out
    assert "+        revoke_after_download: true\n" in out
    assert out.endswith(
        f"changed {examples}/tutorial.yaml: grant bob@example.org r on tutorial/per-user "
        "until 2026-12-10T12:00:00Z\n"
    )


def test_dry_run_prints_the_diff_and_writes_nothing(examples: Path) -> None:
    before = snapshot(examples)
    code, out, _ = invoke(
        "grant",
        "add",
        "per-user",
        "bob@example.org",
        "--expires",
        "2027-01-01",
        "--notify",
        "--dry-run",
        "--specs",
        str(examples),
        "--now",
        NOW,
    )
    assert code == 0
    assert out.startswith(f"--- {examples}/tutorial.yaml\n+++ {examples}/tutorial.yaml\n")
    assert "+        notify: true\n" in out
    assert out.endswith("; nothing was written\n")
    assert snapshot(examples) == before


def test_refused_exits_1_with_located_errors_and_changes_nothing(examples: Path) -> None:
    before = snapshot(examples)
    code, out, err = invoke(
        "grant",
        "add",
        "per-user",
        "bob@example.org",
        "--for",
        "400w",
        "--specs",
        str(examples),
        "--now",
        NOW,
    )
    assert (code, out) == (1, "")
    assert f"{examples}/tutorial.yaml:16:18: error: expires 2034-07-27T12:00:00Z, later than" in err
    assert "error: this edit would make the spec set invalid" in err
    assert err.endswith("nothing was changed\n")
    after = snapshot(examples)
    after.pop(LOCK_NAME)
    assert after == before


@pytest.mark.parametrize(
    "args",
    [
        ["grant", "add", "per-user", "bob", "--for", "1d"],
        ["grant", "add", "per-user", "bob@example.org"],
        ["grant", "add", "per-user", "bob@example.org", "--for", "1d", "--expires", "2027-01-01"],
        ["grant", "add", "per-user", "bob@example.org", "--for", "fortnight"],
        ["grant", "add", "per-user", "bob@example.org", "--for", "1d", "--permissions", "w"],
        ["grant", "add", "per-user"],
        ["grant", "extend", "per-user", "alice@example.org"],
        ["membership", "add", "tutorial-users", "group:x", "--for", "1d"],
        ["tidy", "--older-than", "1 month"],
        ["tidy", "/"],
        ["grant", "revoke", "per-user", "alice@example.org", "--now", "tomorrow"],
    ],
)
def test_usage_errors_exit_2(examples: Path, args: list[str]) -> None:
    before = snapshot(examples)
    code, out, err = invoke(*args, "--specs", str(examples))
    assert code == 2, out + err
    assert "\nerror: " in err
    assert snapshot(examples) == before


def test_nothing_to_change_exits_0(examples: Path) -> None:
    code, out, _ = invoke("tidy", "--specs", str(examples), "--now", NOW)
    assert code == 0
    assert out == "nothing expired before 2026-10-27T12:00:00Z; nothing to tidy\n"
    code, out, _ = invoke(
        "grant",
        "extend",
        "per-user",
        "alice@example.org",
        "--expires",
        "2027-12-31T00:00:00Z",
        "--specs",
        str(examples),
        "--now",
        NOW,
    )
    assert code == 0
    assert "nothing to change" in out


def test_revoke_then_revoke_again(examples: Path) -> None:
    args = ["membership", "revoke", "tutorial-users", "globus.demodoc@gmail.com"]
    code, out, err = invoke(*args, "--specs", str(examples), "--now", NOW)
    assert (code, err) == (0, "")
    assert "-    expires: 2027-12-31\n+    expires: 2026-11-26T12:00:00Z\n" in out
    code, out, _ = invoke(*args, "--specs", str(examples), "--now", "2026-11-27T00:00:00Z")
    assert code == 0
    assert out == (
        "globus.demodoc@gmail.com's membership in tutorial-users already ended "
        "(2026-11-26T12:00:00Z); nothing to change\n"
    )


def test_json_output_for_programs(examples: Path) -> None:
    code, out, _ = invoke(
        "membership",
        "add",
        "tutorial-users",
        "carol@example.org",
        "--for",
        "30d",
        "--specs",
        str(examples),
        "--now",
        NOW,
        "--output",
        "json",
    )
    assert code == 0
    document = json.loads(out)
    assert document["changed"] is True
    assert document["files"] == [f"{examples}/tutorial.yaml"]
    assert document["expires"] == "2026-12-26T12:00:00Z"
    assert (
        document["summary"]
        == "membership carol@example.org in tutorial-users until 2026-12-26T12:00:00Z"
    )
    assert document["commit"] is None
    code, out, _ = invoke(
        "membership",
        "add",
        "tutorial-users",
        "carol@example.org",
        "--for",
        "30d",
        "--specs",
        str(examples),
        "--now",
        NOW,
        "--output",
        "json",
    )
    assert code == 1
    document = json.loads(out)
    assert document["refused"] is True
    assert "already a member" in document["error"]
    assert "membership extend" in document["hint"]


def test_tidy_lists_what_it_removed(examples: Path) -> None:
    code, out, _ = invoke("tidy", "--specs", str(examples), "--now", "2028-03-01T00:00:00Z")
    assert code == 0
    assert (
        f"  grant alice@example.org on tutorial/per-user /disthome/{{identity_id}}/, expired "
        f"2027-12-31 ({examples}/tutorial.yaml:11:9)\n"
    ) in out
    assert "tidy: remove 2 grants and 1 membership expired before 2028-01-31T00:00:00Z" in out


def test_tidy_only_the_paths_given(examples: Path, tmp_path: Path) -> None:
    other = examples / "more.yaml"
    other.write_text(
        "memberships:\n  - group: tutorial-users\n"
        "    identity: old@example.org\n    expires: 2020-01-01\n"
    )
    code, out, _ = invoke(
        "tidy", str(other), "--specs", str(examples), "--now", "2028-03-01T00:00:00Z"
    )
    assert code == 0
    assert "tidy: remove 1 membership" in out
    assert "memberships: []" in other.read_text()
    assert "alice@example.org" in (examples / "tutorial.yaml").read_text()


def test_default_spec_directory_is_specs(examples: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(examples.parent)
    code, out, _ = invoke("grant", "revoke", "shared", "group:tutorial-users", "--now", NOW)
    assert code == 0
    assert (
        "changed specs/tutorial.yaml: revoke grant group:tutorial-users on tutorial/shared" in out
    )
