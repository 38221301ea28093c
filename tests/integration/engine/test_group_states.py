"""Real Groups states on the sandbox, end to end through the CLI: someone who left is an
error on their membership and never re-added, a pending request is approved, an add
Globus refuses (opted out) is reported once and not retried on every pass, and members
through a subgroup are never removed, even from an exclusive group."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable

from reconciler.globus.acting import MEMBER_BATCH, GlobusActions
from tests.integration.engine.conftest import GROUP, World, groups_yaml

PEOPLE = ("carol", "leaver", "asker", "private")


def memberships_yaml(names: tuple[str, ...]) -> str:
    return "memberships:\n" + "".join(
        f"  - group: tutorial-users\n    identity: {name}@example.org\n    expires: 2027-06-30\n"
        for name in names
    )


def _batches(world: World, since: int) -> list[dict[str, object]]:
    return [
        e
        for e in world.api_calls(since)
        if e["method"] == "POST" and str(e["path"]) == f"/v2/groups/{GROUP}"
    ]


def test_left_pending_and_opted_out_members(world: World, seeded: Callable[[], None]) -> None:
    world.write("members.yaml", memberships_yaml(PEOPLE))
    seeded()
    ids = {name: world.identity(f"{name}@example.org") for name in PEOPLE}
    world.control.add_identity("private@example.org", groups_opt_out=True)
    world.control.add_group(
        GROUP,
        memberships=[
            {"identity": "leaver@example.org", "status": "left"},
            {"identity": "asker@example.org", "status": "pending"},
        ],
    )

    first = world.cli("apply", "--sandbox", "--auto-approve", str(world.specs))
    assert first.exit_code == 1, first.output
    assert "leaver@example.org left the group tutorial-users" in first.output
    assert "they must rejoin or be invited" in first.output
    assert "OPTED_OUT" in first.output  # the refused add, as Globus answered it
    members = world.members()
    assert members[ids["carol"]] == ("member", "active")
    assert members[ids["asker"]] == ("member", "active")  # approved, not added
    assert members[ids["leaver"]] == ("member", "left")
    assert ids["private"] not in members

    mark = world.control.clear_request_log()
    again = world.cli("plan", "--sandbox", "--output", "json", str(world.specs))
    assert again.exit_code == 1
    plan = json.loads(again.output)
    assert plan["actions"] == []  # nobody is added again: no write, no retry storm
    errors = {e["origin"].rsplit(":", 2)[1]: e["message"] for e in plan["errors"]}
    assert len(errors) == 2
    assert any("refused to add private@example.org" in m for m in errors.values())
    assert any("left the group" in m for m in errors.values())
    applied = world.cli("apply", "--sandbox", "--auto-approve", str(world.specs))
    assert applied.exit_code == 1  # the errors stand until the specs or the people change
    assert _batches(world, mark) == []

    history = world.cli("history", "--sandbox", "--output", "json")
    approvals = [e for e in json.loads(history.output)["entries"] if e["event"] == "add_member"]
    assert {(e["principal"].split(":")[-1], e["detail"]) for e in approvals} >= {
        ("asker@example.org", "approved"),
        ("carol@example.org", "added"),
    }


def test_subgroup_members_are_never_removed_from_an_exclusive_group(
    world: World, seeded: Callable[[], None]
) -> None:
    world.write("groups.yaml", groups_yaml("exclusive"))
    world.write("members.yaml", memberships_yaml(("carol",)))
    seeded()
    dave = world.identity("dave@example.org")
    mallory = world.identity("mallory@example.org")
    world.control.add_group(
        str(uuid.uuid4()), name="lab", parent=GROUP, members=["dave@example.org"]
    )
    world.control.add_group(GROUP, members=["mallory@example.org"])

    result = world.cli("apply", "--sandbox", "--auto-approve", str(world.specs))
    assert result.exit_code == 0, result.output
    group = next(g for g in world.control.dump()["groups"] if g["id"] == GROUP)
    implied = [m for m in group["memberships"] if m.get("source_group_id")]
    assert [m["identity_id"] for m in implied] == [dave]
    assert world.members()[mallory] == ("member", "removed")  # a direct, unlisted member
    again = world.cli("plan", "--sandbox", "--detailed-exitcode", str(world.specs))
    assert again.exit_code == 0, again.output


def test_a_stop_ends_a_large_membership_change_between_batches(
    world: World, seeded: Callable[[], None]
) -> None:
    """Writing stops (SIGTERM, lost leadership): the batch in flight finishes and no
    further batch of the same group is sent; the rest are reported as not attempted."""
    seeded()
    people = [world.identity(f"user{n}@example.org") for n in range(MEMBER_BATCH + 5)]
    stop = threading.Event()
    stop.set()  # set while the unit runs: its first call is already under way
    clients = world.clients()
    try:
        mark = world.control.clear_request_log()
        results = GlobusActions(clients, stop=stop).change_members(GROUP, add=people, remove=())
    finally:
        clients.close()
    assert len(_batches(world, mark)) == 1
    first, rest = people[:MEMBER_BATCH], people[MEMBER_BATCH:]
    assert all(results[p] is None for p in first)
    assert all(str(results[p]).startswith("STOPPED") for p in rest)
    active = {i for i, (role, status) in world.members().items() if status == "active"}
    assert set(first) <= active
    assert not set(rest) & active
