"""The tutorial end to end through the CLI: plan, apply, converged, cheap steady state,
and globus-cli (an independent client) sees what the reconciler wrote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from reconciler.credentials import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from tests.integration.engine.conftest import COLLECTION, GROUP, World

TUTORIAL = """
distributions:
  - name: per-user
    collection: tutorial
    path: /disthome/{identity_id}/
    grants:
      - identity: alice@example.org
        expires: 2027-06-30
        notify: true
  - name: shared
    collection: tutorial
    grants:
      - group: tutorial-users
        path: /disthome/shared/
        expires: 2027-06-30T12:00:00Z
memberships:
  - group: tutorial-users
    identity: globus.demodoc@gmail.com
    expires: 2027-06-30
"""


def test_plan_apply_then_nothing_to_do(world: World) -> None:
    world.write("tutorial.yaml", TUTORIAL)
    specs = str(world.specs)

    first = world.cli("plan", "--sandbox", "--detailed-exitcode", specs)
    assert first.exit_code == 2, first.output
    assert "Plan: 5 change(s)" in first.output

    applied = world.cli("apply", "--sandbox", "--auto-approve", specs)
    assert applied.exit_code == 0, applied.output
    assert "Apply: 5 done, 0 failed, 0 skipped." in applied.output

    alice = world.identity("alice@example.org")
    demodoc = world.identity("globus.demodoc@gmail.com")
    rules = {(r["principal"], r["path"]): r for r in world.rules()}
    assert rules[(alice, f"/disthome/{alice}/")]["expiration_date"].startswith(
        "2027-06-30T00:00:00"
    )
    assert rules[(alice, f"/disthome/{alice}/")]["permissions"] == "r"
    assert rules[(GROUP, "/disthome/shared/")]["expiration_date"].startswith("2027-06-30T12:00:00")
    assert {f"/disthome/{alice}/", "/disthome/shared/"} <= world.directories()
    assert world.members()[demodoc] == ("member", "active")
    assert [n["email"] for n in world.control.notifications()] == ["alice@example.org"]

    since = world.control.request_log()["next"]
    again = world.cli("plan", "--sandbox", "--detailed-exitcode", specs)
    assert again.exit_code == 0, again.output
    assert "No changes" in again.output
    calls = world.api_calls(since)
    writes = [c for c in calls if c["method"] != "GET"]
    assert writes == []
    reads = sorted(str(c["path"]).split("?")[0] for c in calls)
    assert reads == [
        "/v0.10/endpoint/" + COLLECTION + "/access_list",
        "/v2/api/identities",
        "/v2/groups/" + GROUP,
    ]


def test_globus_cli_sees_rules_with_expiry_and_members(world: World, tmp_path: Path) -> None:
    world.write("tutorial.yaml", TUTORIAL)
    assert world.cli("apply", "--sandbox", "--auto-approve", str(world.specs)).exit_code == 0
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "GLOBUS_CLI_CLIENT_ID": SANDBOX_CLIENT_ID,
        "GLOBUS_CLI_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
        **{k: v for k, v in os.environ.items() if k.startswith("GLOBUS_SDK_SERVICE_URL_")},
    }
    globus = str(Path(sys.executable).with_name("globus"))

    listed = subprocess.run(
        [globus, "endpoint", "permission", "list", COLLECTION, "-F", "json"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    rules = [r for r in json.loads(listed.stdout)["DATA"] if r["id"]]
    assert sorted(r["path"] for r in rules) == sorted(
        [f"/disthome/{world.identity('alice@example.org')}/", "/disthome/shared/"]
    )
    assert all(r["expiration_date"].startswith("2027-06-30") for r in rules)

    members = subprocess.run(
        [globus, "group", "member", "list", GROUP, "-F", "json"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert members.returncode == 0, members.stderr
    usernames = {m["username"] for m in json.loads(members.stdout)["memberships"]}
    assert "globus.demodoc@gmail.com" in usernames
