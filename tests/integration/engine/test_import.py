"""``reconciler import`` adopts what exists: rules made by hand with the SDK (as another
tool or a person would) under the root, and members added by hand to an exclusive
group, are written into a spec file, and the next plan prunes nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import globus_sdk
import pytest

from reconciler.spec import load_spec_set
from tests.integration.conftest import SandboxHandle
from tests.integration.engine.conftest import (
    COLLECTION,
    COLLECTIONS_YAML,
    GROUP,
    World,
    groups_yaml,
)


@pytest.fixture
def hand_made(
    world: World,
    seeded: Callable[[], None],
    sandbox: SandboxHandle,
    transfer_client: globus_sdk.TransferClient,
    groups_client: globus_sdk.GroupsClient,
) -> dict[str, str]:
    """An exclusive group, and by hand: alice on her own directory (no expiry), the
    group on a shared one (rw, an expiry), a rule outside the root, and carol in the
    group. The test client holds the roles a person or another tool would."""
    world.write("groups.yaml", groups_yaml("exclusive"))
    seeded()
    sandbox.control.add_client(sandbox.client_id)
    sandbox.control.grant_role("access_manager", sandbox.client_id, collection_id=COLLECTION)
    sandbox.control.grant_role("admin", sandbox.client_id, group_id=GROUP)
    people = {name: world.identity(f"{name}@example.org") for name in ("alice", "carol")}
    rules = [
        {"principal_type": "identity", "principal": people["alice"],
         "path": f"/disthome/{people['alice']}/", "permissions": "r"},
        {"principal_type": "group", "principal": GROUP, "path": "/disthome/shared/",
         "permissions": "rw", "expiration_date": "2027-01-31T00:00:00+00:00"},
        {"principal_type": "identity", "principal": people["alice"], "path": "/elsewhere/",
         "permissions": "r"},
    ]  # fmt: skip
    for rule in rules:
        transfer_client.add_endpoint_acl_rule(COLLECTION, {"DATA_TYPE": "access", **rule})
    groups_client.batch_membership_action(
        GROUP, globus_sdk.BatchMembershipActions().add_members([people["carol"]])
    )
    return people


def test_two_hand_made_rules_are_imported_and_the_next_plan_prunes_nothing(
    world: World, hand_made: dict[str, str]
) -> None:
    specs = str(world.specs)
    before = json.loads(world.cli("plan", "--sandbox", "--output", "json", specs).output)
    assert before["guard"]["pruned"] == 3  # what a first apply would have done without import

    out = world.specs / "imported.yaml"
    done = world.cli(
        "import", specs, "--sandbox", "--collection", "tutorial", "--group", "tutorial-users",
        "--for", "90d", "--out", str(out),
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "outside the root /disthome/" in done.output
    assert "a role entry" in done.output
    text = out.read_text()
    assert "path: /disthome/{identity_id}/" in text
    assert "identity: alice@example.org" in text
    assert "group: tutorial-users" in text
    assert "identity: carol@example.org" in text
    assert "expires: 2027-01-31T00:00:00Z" in text  # the expiry Globus had is kept
    assert "cleanup: false" in text  # the collection cleans up; adopted data is kept
    loaded = load_spec_set([world.specs], now=datetime.now(UTC))
    assert loaded.ok, [str(d) for d in loaded.diagnostics]

    after = json.loads(world.cli("plan", "--sandbox", "--output", "json", specs).output)
    kinds = [a["kind"] for a in after["actions"]]
    assert after["guard"]["pruned"] == 0
    assert "delete_rule" not in kinds
    assert "remove_member" not in kinds
    assert "remove_directory" not in kinds
    # alice's rule had no expiry: the plan gives it one, since access must end.
    (update,) = after["actions"]
    assert update["kind"] == "update_rule"
    assert update["principal"]["id"] == hand_made["alice"]
    assert update["old_expires"] is None


def test_import_refuses_to_overwrite_and_a_dry_run_writes_nothing(
    world: World, hand_made: dict[str, str]
) -> None:
    specs = str(world.specs)
    out = world.specs / "imported.yaml"
    args = ["import", specs, "--sandbox", "--collection", "tutorial", "--for", "30d"]
    dry = world.cli(*args, "--out", str(out), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "+      - identity: alice@example.org" in dry.output
    assert not out.exists()

    out.write_text("# mine\n")
    refused = world.cli(*args, "--out", str(out))
    assert refused.exit_code == 1
    assert "exists already" in refused.output
    assert out.read_text() == "# mine\n"

    replaced = world.cli(*args, "--out", str(out), "--force")
    assert replaced.exit_code == 0, replaced.output
    assert "identity: alice@example.org" in out.read_text()

    again = world.cli(*args, "--out", str(out), "--force")
    assert again.exit_code == 0, again.output  # what the file itself declared is re-adopted
    assert "identity: alice@example.org" in out.read_text()

    # A hand-written file says what Globus cannot tell (staging, notifications): --force
    # does not re-derive it from the live rules.
    hand_written = out.read_text().replace("# Adopted from Globus", "# Written by hand, once")
    out.write_text(hand_written)
    kept = world.cli(*args, "--out", str(out), "--force")
    assert kept.exit_code == 1
    assert "did not write" in kept.output
    assert out.read_text() == hand_written


def test_import_names_unknown_collections_and_changes_nothing(world: World) -> None:
    out = world.specs / "imported.yaml"
    result = world.cli(
        "import", str(world.specs), "--sandbox", "--collection", "tutoral", "--for", "30d",
        "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 1
    assert "no collection `tutoral`" in result.output
    assert "tutorial" in result.output
    assert not out.exists()


def test_adopted_data_outlives_its_access_whatever_the_policy_becomes(
    world: World,
    seeded: Callable[[], None],
    sandbox: SandboxHandle,
    transfer_client: globus_sdk.TransferClient,
) -> None:
    """A directory named after the grantee's UUID in upper case is adopted as its own
    path (folded, the next plan pruned it and scheduled the removal of the user's data),
    and every adopted grant says ``cleanup: false``: imported under a policy that does
    not clean up, the policy switched on later, the access expires, the data stays."""
    world.write("collections.yaml", COLLECTIONS_YAML.replace("cleanup: true", "cleanup: false"))
    seeded()
    sandbox.control.add_client(sandbox.client_id)
    sandbox.control.grant_role("access_manager", sandbox.client_id, collection_id=COLLECTION)
    dave = world.identity("dave@example.org")
    upper = f"/disthome/{dave.upper()}/"
    sandbox.control.add_files(COLLECTION, [f"{upper}results.h5", "/disthome/notes/a.txt"])
    for path in (upper, "/disthome/notes/"):
        transfer_client.add_endpoint_acl_rule(
            COLLECTION,
            {"DATA_TYPE": "access", "principal_type": "identity", "principal": dave,
             "path": path, "permissions": "r"},
        )  # fmt: skip
    specs, out = str(world.specs), world.specs / "imported.yaml"
    done = world.cli(
        "import", specs, "--sandbox", "--collection", "tutorial", "--for", "10d",
        "--out", str(out),
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    text = out.read_text()
    assert f"path: {upper}" in text
    assert "{identity_id}" not in text
    assert text.count("cleanup: false") == 2

    plan = json.loads(world.cli("plan", "--sandbox", "--output", "json", specs).output)
    kinds = {a["kind"] for a in plan["actions"]}
    assert kinds == {"update_rule"}, plan["actions"]  # the expiries only

    # The policy now cleans up; the access ends; the data the reconciler never put
    # there is kept.
    world.write("collections.yaml", COLLECTIONS_YAML)
    applied = world.cli("apply", "--sandbox", "--auto-approve", specs)
    assert applied.exit_code == 0, applied.output
    later = sandbox.control.advance_clock(11 * 86400)["now"]
    expired = world.cli("apply", "--sandbox", "--auto-approve", "--now", later, specs)
    assert expired.exit_code == 0, expired.output
    assert "delete rule" in expired.output
    assert not [r for r in world.rules() if r["principal"] == dave]
    files = {e["path"] for e in world.collection()["tree"] if e["type"] == "file"}
    assert {f"{upper}results.h5", "/disthome/notes/a.txt"} <= files


def test_a_member_through_a_subgroup_is_not_imported_as_a_membership(
    world: World, hand_made: dict[str, str], sandbox: SandboxHandle
) -> None:
    """Imported as a membership of its own, the person would be added to the group
    directly once they left the subgroup: more access than exists."""
    erin = world.identity("erin@example.org")
    sub = "5b0b0b0b-0000-4000-8000-00000000050b"
    sandbox.control.add_group(sub, name="sub", members=[erin], parent=GROUP)
    specs, out = str(world.specs), world.specs / "imported.yaml"
    done = world.cli(
        "import", specs, "--sandbox", "--collection", "tutorial", "--group", "tutorial-users",
        "--for", "30d", "--out", str(out),
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "erin@example.org" not in out.read_text()
    assert "identity: carol@example.org" in out.read_text()
    assert "member erin@example.org of tutorial-users (through subgroup" in done.output


def test_import_from_a_collection_globus_refuses_to_show_is_one_error_line(
    world: World, hand_made: dict[str, str], sandbox: SandboxHandle
) -> None:
    sandbox.control.inject_fault(
        path=f"/endpoint/{COLLECTION}/access_list$", status=403, code="PermissionDenied"
    )
    out = world.specs / "imported.yaml"
    result = world.cli(
        "import", str(world.specs), "--sandbox", "--collection", "tutorial", "--for", "30d",
        "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 1
    assert "internal error" not in result.output
    assert "Globus refused to show what to adopt" in result.output
    assert f"collection tutorial ({COLLECTION})" in result.output
    assert "403" in result.output
    assert not out.exists()
