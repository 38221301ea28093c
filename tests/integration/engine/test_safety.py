"""Issue 11, findings 1 and 2, through the CLI on the sandbox over HTTP: ordinary
mistakes must never revoke access wholesale or delete research data.

1. A clock running ahead (or ``apply --now`` in the future) revoked every grant and
   deleted every directory: now ``now`` is checked against Globus's clock (its HTTP
   ``Date``) and nothing is written beyond ``--max-clock-skew``.
2. Deleting or renaming a spec file pruned its grants and recursively deleted their
   directories with the users' files inside, at any size below the guard's limits: now
   the guard refuses it (a vanished spec file, a collection emptied), and even when it
   is allowed the directories stay for ``policy.prune_grace``; restoring the file in
   time brings the rules back with the data intact.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.integration.engine.conftest import COLLECTION, GROUP, World

REPO_SPECS = Path(__file__).resolve().parents[3] / "specs"
SHARED = "/disthome/shared/"
RESULTS = SHARED + "results.h5"
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def iso(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def tutorial(world: World, tmp_path: Path) -> World:
    """The repository's own example specs (``specs/``), copied, on the fixture sandbox."""
    specs = tmp_path / "tutorial-specs"
    specs.mkdir()
    for source in REPO_SPECS.glob("*.yaml"):
        shutil.copy(source, specs / source.name)
    return World(specs, world.control, world.url)


def writes_since(world: World, mark: int) -> list[dict[str, object]]:
    return [c for c in world.api_calls(mark) if c["method"] in WRITES]


def files(world: World) -> set[str]:
    return {e["path"] for e in world.collection()["tree"] if e["type"] == "file"}


def apply(world: World, *args: str) -> Any:
    return world.cli("apply", "--sandbox", "--auto-approve", *args, str(world.specs))


# --- finding 1: the clock ---------------------------------------------------------------


def test_apply_with_a_clock_four_years_ahead_writes_nothing(tutorial: World) -> None:
    first = apply(tutorial)
    assert first.exit_code == 0, first.output
    tutorial.control.add_files(COLLECTION, [RESULTS])
    rules = tutorial.rules()
    assert len(rules) == 2  # alice's and the shared directory (bob's waits for staging)

    ahead = datetime.now(UTC) + timedelta(days=4 * 365)
    mark = tutorial.control.request_log()["next"]
    refused = apply(tutorial, "--now", iso(ahead))
    assert refused.exit_code == 1, refused.output
    assert writes_since(tutorial, mark) == []
    assert f"the clock this plan uses ({ahead:%Y-%m-%d %H:%M:%S}Z) is 14" in refused.output
    assert "ahead of Globus's clock" in refused.output
    assert "more than --max-clock-skew 5m: nothing is written" in refused.output
    assert "nothing was applied" in refused.output
    assert tutorial.rules() == rules
    assert RESULTS in files(tutorial)

    # The host clock is what planning uses against real Globus: --now is refused there.
    real = tutorial.cli("apply", "--auto-approve", "--now", iso(ahead), str(tutorial.specs))
    assert real.exit_code == 1
    assert "--now: apply plans with this host's clock" in real.output
    assert "Traceback" not in real.output

    # A preview as of any instant is still fine, and shows what would expire.
    preview = tutorial.cli("plan", "--sandbox", "--now", iso(ahead), str(tutorial.specs))
    assert preview.exit_code == 0, preview.output
    assert "delete rule" in preview.output
    assert writes_since(tutorial, mark) == []

    # With the sandbox's clock moved there too, the clocks agree and expiry goes ahead.
    tutorial.control.set_clock(ahead)
    agreed = apply(tutorial, "--now", iso(ahead))
    assert agreed.exit_code == 0, agreed.output
    assert tutorial.rules() == []


def test_apply_refuses_when_globus_is_behind_this_hosts_clock(tutorial: World) -> None:
    """A host clock that jumped ahead: no --now at all, Globus's Date disagrees."""
    tutorial.control.advance_clock(-3600)
    mark = tutorial.control.request_log()["next"]
    refused = apply(tutorial)
    assert refused.exit_code == 1
    assert "is 1h ahead of Globus's clock" in refused.output
    assert writes_since(tutorial, mark) == []
    assert tutorial.rules() == []
    # A larger limit lets it through (the operator's call, made explicit).
    allowed = apply(tutorial, "--max-clock-skew", "2h")
    assert allowed.exit_code == 0, allowed.output
    assert len(tutorial.rules()) == 2


# --- finding 2: a deleted or renamed spec file ------------------------------------------


def assert_removal_shown(world: World, path: str, *, due: datetime) -> None:
    """plan (JSON, text) and status say the directory will be removed, and when."""
    plan = world.cli("plan", "--sandbox", "--output", "json", str(world.specs))
    assert plan.exit_code == 0, plan.output
    scheduled = {s["path"]: s for s in json.loads(plan.stdout)["scheduled_removals"]}
    assert path in scheduled
    assert abs(datetime.fromisoformat(scheduled[path]["due"]) - due) < timedelta(minutes=5)
    text = world.cli("plan", "--sandbox", str(world.specs))
    assert f"scheduled: tutorial:{path}" in text.output
    assert "unless a spec asks for it again" in text.output
    status = world.cli("status", "--sandbox", str(world.specs))
    assert status.exit_code == 0, status.output
    assert f"tutorial:{path}" in status.output
    assert "removal scheduled" in status.output


@pytest.mark.parametrize("mistake", ["deleted", "renamed to tutorial.YAML"])
def test_a_lost_spec_file_loses_no_data_and_restoring_it_brings_the_rules_back(
    tutorial: World, mistake: str, tmp_path: Path
) -> None:
    assert apply(tutorial).exit_code == 0
    tutorial.control.add_files(COLLECTION, [RESULTS])  # a user's results, not ours
    before = {(r["principal"], r["path"]): r["id"] for r in tutorial.rules()}
    assert (GROUP, SHARED) in before

    original = tutorial.specs / "tutorial.yaml"
    kept = tmp_path / "tutorial.yaml.saved"
    shutil.copy(original, kept)
    if mistake == "deleted":
        original.unlink()
    else:
        original.rename(tutorial.specs / "tutorial.YAML")

    # The guard refuses, at this small size, naming the file and the one way through.
    mark = tutorial.control.request_log()["next"]
    refused = apply(tutorial)
    assert refused.exit_code == 1, refused.output
    assert "deletion guard refuses this plan" in refused.output
    assert "gone: tutorial.yaml (3 in force)" in refused.output
    assert "pass --allow-mass-deletion if they are meant to go" in refused.output
    assert writes_since(tutorial, mark) == []
    assert {(r["principal"], r["path"]): r["id"] for r in tutorial.rules()} == before

    # Allowed: access ends now, the data stays for the grace period.
    allowed = apply(tutorial, "--allow-mass-deletion")
    assert allowed.exit_code == 0, allowed.output
    assert "schedule removal" in allowed.output
    assert tutorial.rules() == []
    tutorial.control.advance_clock(60)  # any delete task would have finished by now
    assert RESULTS in files(tutorial)
    removed = [c for c in writes_since(tutorial, mark) if str(c["path"]).endswith("/delete")]
    assert removed == []

    assert_removal_shown(tutorial, SHARED, due=datetime.now(UTC) + timedelta(days=7))

    # Restored within the grace period: the rules come back over the data, untouched.
    for stray in tutorial.specs.glob("tutorial.*"):
        stray.unlink()
    shutil.copy(kept, original)
    restored = apply(tutorial)
    assert restored.exit_code == 0, restored.output
    assert "cancel removal" in restored.output
    after = {(r["principal"], r["path"]) for r in tutorial.rules()}
    # Every rule is back (bob's staged grant has meanwhile got its own rule, too).
    assert set(before) <= after
    assert {path for _, path in after - set(before)} <= {
        p for p in tutorial.directories() if p.startswith("/disthome/run42/")
    }
    assert RESULTS in files(tutorial)
    again = tutorial.cli("plan", "--sandbox", "--output", "json", str(tutorial.specs))
    assert json.loads(again.output)["scheduled_removals"] == []


def test_a_pruned_directory_is_removed_once_the_grace_period_is_over(tutorial: World) -> None:
    assert apply(tutorial).exit_code == 0
    tutorial.control.add_files(COLLECTION, [RESULTS])
    (tutorial.specs / "tutorial.yaml").unlink()
    assert apply(tutorial, "--allow-mass-deletion").exit_code == 0

    # A day short of the grace: still there.
    almost = datetime.now(UTC) + timedelta(days=6)
    tutorial.control.set_clock(almost)
    early = apply(tutorial, "--now", iso(almost))
    assert early.exit_code == 0, early.output
    tutorial.control.advance_clock(60)
    assert RESULTS in files(tutorial)

    # Past it: removed, as the schedule said.
    past = datetime.now(UTC) + timedelta(days=7, hours=1)
    tutorial.control.set_clock(past)
    late = apply(tutorial, "--now", iso(past))
    assert late.exit_code == 0, late.output
    assert "remove directory" in late.output
    assert "grace period ended" in late.output
    tutorial.control.advance_clock(60)
    assert RESULTS not in files(tutorial)
    assert SHARED not in tutorial.directories()
    settled = tutorial.cli(
        "plan", "--sandbox", "--now", iso(past), "--output", "json", str(tutorial.specs)
    )
    assert json.loads(settled.output)["scheduled_removals"] == []


def test_a_saved_plan_that_schedules_a_removal_applies_later(world: World, tmp_path: Path) -> None:
    """A schedule's due date counts from the time of applying, so a plan saved a moment
    earlier is not stale for that alone (and the later date is the one recorded)."""
    two = (
        "distributions:\n  - name: users\n    collection: tutorial\n"
        "    path: /disthome/{identity_id}/\n    grants:\n"
        "      - identity: alice@example.org\n        expires: 2027-06-30\n"
        "      - identity: bob@example.org\n        expires: 2027-06-30\n"
    )
    users = world.write("users.yaml", two)
    assert apply(world).exit_code == 0
    users.write_text(two.rsplit("      - identity: bob", 1)[0], encoding="utf-8")
    saved = tmp_path / "plan.json"
    made = world.cli("plan", "--sandbox", "--out", str(saved), str(world.specs))
    assert made.exit_code == 0, made.output
    planned = next(
        a for a in json.loads(saved.read_text())["actions"] if a["kind"] == "schedule_removal"
    )
    applied = apply(world, "--plan", str(saved))
    assert applied.exit_code == 0, applied.output
    assert len(world.rules()) == 1
    after = world.cli("plan", "--sandbox", "--output", "json", str(world.specs))
    (scheduled,) = json.loads(after.output)["scheduled_removals"]
    assert scheduled["path"] == planned["path"]
    assert datetime.fromisoformat(scheduled["due"]) > datetime.fromisoformat(planned["due"])
