"""Convergence on the sandbox: expiry, drift repair, pruning, the deletion guard,
Exists adoption and partial failure, through the same functions the CLI and daemon use."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

from reconciler.core.plan import GuardPolicy
from reconciler.reconciling import apply_plan, fetch_plan
from reconciler.state import StateStore, open_store
from tests.integration.engine.conftest import COLLECTION, GROUP, World, groups_yaml

NOW = datetime.now(UTC).replace(microsecond=0)


def users_yaml(
    names: list[str], *, expires: str = "2027-06-30", path: str = "{identity_id}"
) -> str:
    grants = "".join(f"      - identity: {name}\n        expires: {expires}\n" for name in names)
    return (
        "distributions:\n  - name: users\n    collection: tutorial\n"
        f"    path: /disthome/{path}/\n    grants:\n{grants}"
    )


def converge(
    world: World,
    *,
    now: datetime = NOW,
    guard: GuardPolicy | None = None,
    store: StateStore | None = None,
) -> object:
    """One pass: plan and apply; returns the apply result."""
    clients = world.clients()
    try:
        plan, _live = fetch_plan(clients, world.intent(now), now=now, guard=guard, store=store)
        assert not plan.blocked, [str(p) for p in plan.problems] + [plan.guard.explanation]
        return apply_plan(clients, plan, store=store)
    finally:
        clients.close()


def pending(world: World, *, now: datetime = NOW, store: StateStore | None = None) -> list[str]:
    clients = world.clients()
    try:
        plan, _live = fetch_plan(clients, world.intent(now), now=now, store=store)
        return [a.kind for a in plan.actions]
    finally:
        clients.close()


def test_expiry_revokes_and_cleans_up(
    world: World, seeded: Callable[[], None], tmp_path: Path
) -> None:
    """The directory goes with the rule: the state store says the reconciler made it
    (without one, nothing says so, and it is kept)."""
    soon = (NOW + timedelta(hours=1)).isoformat()
    world.write("users.yaml", users_yaml(["alice@example.org"], expires=soon))
    seeded()
    with closing(open_store(tmp_path / "state.db")) as store:
        assert converge(world, store=store).ok  # type: ignore[attr-defined]
        alice = world.identity("alice@example.org")
        assert [r["path"] for r in world.rules()] == [f"/disthome/{alice}/"]

        later = NOW + timedelta(hours=1)  # exactly at expiry: gone
        result = converge(world, now=later, store=store)
        assert result.ok  # type: ignore[attr-defined]
        assert world.rules() == []
        world.control.advance_clock(30)  # let the delete task finish on sandbox time
        assert f"/disthome/{alice}/" not in world.directories()
        assert pending(world, now=later, store=store) == []


def test_out_of_band_drift_is_repaired(world: World, seeded: Callable[[], None]) -> None:
    world.write("groups.yaml", groups_yaml("exclusive"))
    world.write("users.yaml", users_yaml(["alice@example.org", "bob@example.org"]))
    world.write(
        "members.yaml",
        "memberships:\n  - group: tutorial-users\n    identity: carol@example.org\n"
        "    expires: 2027-06-30\n",
    )
    seeded()
    assert converge(world).ok  # type: ignore[attr-defined]
    alice, bob = world.identity("alice@example.org"), world.identity("bob@example.org")
    carol, mallory = world.identity("carol@example.org"), world.identity("mallory@example.org")

    clients = world.clients()
    by_path = {r["path"]: r["id"] for r in world.rules()}
    clients.transfer.delete_endpoint_acl_rule(COLLECTION, by_path[f"/disthome/{alice}/"])
    clients.transfer.update_endpoint_acl_rule(
        COLLECTION, by_path[f"/disthome/{bob}/"], {"DATA_TYPE": "access", "permissions": "rw"}
    )
    clients.groups.batch_membership_action(
        GROUP, {"remove": [{"identity_id": carol}], "add": [{"identity_id": mallory}]}
    )
    clients.close()

    # With the rule gone, its directory is no longer known to exist: mkdir is planned
    # (and answers "existed").
    assert sorted(pending(world)) == [
        "add_member",
        "create_rule",
        "make_directory",
        "remove_member",
        "update_rule",
    ]
    assert converge(world).ok  # type: ignore[attr-defined]
    rules = {r["path"]: r for r in world.rules()}
    assert set(rules) == {f"/disthome/{alice}/", f"/disthome/{bob}/"}
    assert rules[f"/disthome/{bob}/"]["permissions"] == "r"
    members = world.members()
    assert members[carol] == ("member", "active")
    assert mallory not in members or members[mallory][1] != "active"
    assert pending(world) == []


def test_additive_group_leaves_unlisted_members_alone(
    world: World, seeded: Callable[[], None]
) -> None:
    world.write(
        "members.yaml",
        "memberships:\n  - group: tutorial-users\n    identity: carol@example.org\n"
        "    expires: 2027-06-30\n",
    )
    seeded()
    mallory = world.identity("mallory@example.org")
    clients = world.clients()
    clients.groups.batch_membership_action(GROUP, {"add": [{"identity_id": mallory}]})
    clients.close()
    assert converge(world).ok  # type: ignore[attr-defined]
    assert world.members()[mallory] == ("member", "active")
    assert pending(world) == []


def test_removing_a_grant_prunes_its_rule_now_and_its_directory_after_the_grace(
    world: World, seeded: Callable[[], None], tmp_path: Path
) -> None:
    """The rule goes at once; the directory is scheduled (state store) and removed only
    once the collection's policy.prune_grace (7 days by default) has passed."""
    world.write("users.yaml", users_yaml(["alice@example.org", "bob@example.org"]))
    seeded()
    with closing(open_store(tmp_path / "state.db")) as store:
        assert converge(world, store=store).ok  # type: ignore[attr-defined]
        bob = world.identity("bob@example.org")
        world.write("users.yaml", users_yaml(["alice@example.org"]))
        assert converge(world, store=store).ok  # type: ignore[attr-defined]
        assert f"/disthome/{bob}/" not in {r["path"] for r in world.rules()}
        world.control.advance_clock(30)
        assert f"/disthome/{bob}/" in world.directories()
        (scheduled,) = store.load_lifecycle().scheduled_removals.values()
        assert (scheduled.path, scheduled.due) == (f"/disthome/{bob}/", NOW + timedelta(days=7))
        assert pending(world, store=store) == []
        assert pending(world, now=scheduled.due - timedelta(seconds=1), store=store) == []

        assert converge(world, now=scheduled.due, store=store).ok  # type: ignore[attr-defined]
        world.control.advance_clock(30)
        assert f"/disthome/{bob}/" not in world.directories()
        assert len(world.rules()) == 1
        assert pending(world, now=scheduled.due, store=store) == []
        assert store.load_lifecycle().scheduled_removals == {}


def test_deleting_a_large_spec_file_trips_the_guard(
    world: World, seeded: Callable[[], None]
) -> None:
    names = [f"user{i}@example.org" for i in range(12)]
    users = world.write("users.yaml", users_yaml(names))
    seeded()
    assert converge(world).ok  # type: ignore[attr-defined]
    assert len(world.rules()) == 12
    users.unlink()

    refused = world.cli("apply", "--sandbox", "--auto-approve", str(world.specs))
    assert refused.exit_code == 1
    assert "deletion guard refuses" in refused.output
    assert "prune 12" in refused.output
    assert len(world.rules()) == 12

    assert "--max-deletion-fraction 0.5" in refused.output  # the limit that tripped
    assert "none of the managed objects it had" in refused.output

    directories = world.directories()
    allowed = world.cli(
        "apply", "--sandbox", "--auto-approve", "--allow-mass-deletion", str(world.specs)
    )
    assert allowed.exit_code == 0, allowed.output
    assert world.rules() == []
    world.control.advance_clock(30)
    assert world.directories() == directories  # kept for the prune grace (7 days)


def test_exists_on_create_adopts_the_rule_and_fixes_its_terms(
    world: World, seeded: Callable[[], None]
) -> None:
    world.write("users.yaml", users_yaml(["alice@example.org"]))
    seeded()
    clients = world.clients()
    plan, _ = fetch_plan(clients, world.intent(), now=NOW)
    alice = world.identity("alice@example.org")
    # Another writer (or a crashed earlier run) creates the rule between plan and apply.
    clients.transfer.operation_mkdir(COLLECTION, f"/disthome/{alice}/")
    clients.transfer.add_endpoint_acl_rule(
        COLLECTION,
        {
            "DATA_TYPE": "access",
            "principal_type": "identity",
            "principal": alice,
            "path": f"/disthome/{alice}/",
            "permissions": "r",
            "expiration_date": "2030-01-01T00:00:00+00:00",
        },
    )
    result = apply_plan(clients, plan)
    clients.close()
    assert result.ok, result.outcomes
    details = {o.action.kind: o.detail for o in result.outcomes}
    assert details["make_directory"] == "existed"
    assert details["create_rule"].startswith("adopted existing rule")
    (only,) = world.rules()
    assert only["expiration_date"].startswith("2027-06-30")
    assert pending(world) == []


def test_faults_leave_the_rest_applied_and_a_rerun_finishes(
    world: World, seeded: Callable[[], None]
) -> None:
    names = [f"user{i}@example.org" for i in range(6)]
    world.write("users.yaml", users_yaml(names))
    seeded()
    # Two rule creations are refused outright (not retried by the SDK).
    world.control.inject_fault(
        path=r"/access$", method="POST", status=403, code="PermissionDenied", times=2
    )
    first = converge(world)
    failed = first.with_status("failed")  # type: ignore[attr-defined]
    assert [o.action.kind for o in failed] == ["create_rule", "create_rule"]
    assert "PermissionDenied" in failed[0].detail
    assert len(first.with_status("done")) == 10  # type: ignore[attr-defined]
    assert len(world.rules()) == 4
    # Without a rule on them, their directories are not known to exist: mkdir again
    # (it answers "existed"), then the rules.
    assert sorted(pending(world)) == ["create_rule"] * 2 + ["make_directory"] * 2
    assert converge(world).ok  # type: ignore[attr-defined]
    assert len(world.rules()) == 6
    assert pending(world) == []


def test_transient_server_errors_are_absorbed_by_retries(
    world: World, seeded: Callable[[], None]
) -> None:
    world.write("users.yaml", users_yaml([f"user{i}@example.org" for i in range(4)]))
    seeded()
    since = world.control.request_log()["next"]
    world.control.inject_fault(path=r"/access$", method="POST", status=503, times=3)
    world.control.inject_fault(path=r"/mkdir$", method="POST", status=429, times=2)
    assert converge(world).ok  # type: ignore[attr-defined]
    assert len(world.rules()) == 4
    statuses = [c["status"] for c in world.api_calls(since)]
    assert statuses.count(503) == 3
    assert statuses.count(429) == 2
