"""Issue 11, found in review: more ordinary mistakes that lost data or access, each
through the CLI (or the pass functions) on the sandbox over HTTP.

- A grant that keeps its directory (``cleanup: false``) nested under another grant's
  directory lost its data to the parent's recursive delete once both rules were gone.
- Two spec directories holding a file of the same name shared one inventory entry, so
  deleting one of them went unseen by the deletion guard.
- A preview (``plan --now`` in the future) or a host clock running ahead wrote its
  instant into the state store: a failed staging's next attempt was put off by years,
  and the grant with it.
- Lengthening ``policy.prune_grace`` while removals were scheduled did not give them
  the longer grace: the data went on the first date.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from reconciler.credentials import SANDBOX_CLIENT_ID
from reconciler.reconciling import apply_plan, fetch_plan
from reconciler.state import open_store
from tests.integration.engine.conftest import COLLECTION, World

WRITES = ("POST", "PUT", "PATCH", "DELETE")
SOURCE = "0b3c5e1a-9f0e-4b61-8b0a-5e7d0c2f4a11"


def iso(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def apply(world: World, *args: str, specs: tuple[Path, ...] = ()) -> Any:
    paths = [str(p) for p in specs] or [str(world.specs)]
    return world.cli("apply", "--sandbox", "--auto-approve", *args, *paths)


def files(world: World) -> set[str]:
    return {e["path"] for e in world.collection()["tree"] if e["type"] == "file"}


def at_sandbox_time(world: World, instant: datetime) -> str:
    """Move the sandbox's clock to ``instant``; the ``--now`` that agrees with it."""
    world.control.set_clock(instant)
    return iso(instant)


def grant_alice(world: World, path: str, *, until: datetime, name: str) -> None:
    """A spec file (``data.yaml``) with one distribution, ``name``: alice may read
    ``path`` until ``until``."""
    world.write(
        "data.yaml",
        f"""
        distributions:
          - name: {name}
            collection: tutorial
            grants:
              - identity: alice@example.org
                path: {path}
                expires: {iso(until)}
        """,
    )


# --- a directory kept by its grant, below one that is removed -------------------------


def test_a_kept_directory_below_a_removed_one_survives(world: World) -> None:
    soon = datetime.now(UTC) + timedelta(days=2)
    world.write(
        "proj.yaml",
        f"""
        distributions:
          - name: proj
            collection: tutorial
            grants:
              - identity: alice@example.org
                path: /disthome/proj/
                expires: {iso(soon)}
              - identity: carol@example.org
                path: /disthome/proj/carol/
                expires: {iso(soon)}
                cleanup: false
        """,
    )
    assert apply(world).exit_code == 0
    notes = "/disthome/proj/carol/notes.txt"
    world.control.add_files(COLLECTION, [notes])

    later = soon + timedelta(hours=1)
    expired = apply(world, "--now", at_sandbox_time(world, later))  # both rules go
    assert expired.exit_code == 0, expired.output
    assert world.rules() == []
    world.control.advance_clock(60)
    # The next pass must not remove /disthome/proj/ with carol's kept directory in it.
    again = apply(world, "--now", at_sandbox_time(world, later + timedelta(minutes=2)))
    assert again.exit_code == 0, again.output
    assert "remove directory" not in again.output
    world.control.advance_clock(60)
    assert notes in files(world)


# --- the spec-file inventory of several spec directories ------------------------------


def test_a_spec_file_deleted_from_one_of_two_directories_trips_the_guard(
    world: World, tmp_path: Path
) -> None:
    teams = {}
    for team, who in (("a", "alice"), ("b", "bob"), ("c", "carol")):
        folder = tmp_path / f"team-{team}"
        folder.mkdir()
        (folder / "team.yaml").write_text(
            "distributions:\n"
            f"  - name: team-{team}\n    collection: tutorial\n"
            f"    path: /disthome/{team}/{{identity_id}}/\n    grants:\n"
            f"      - identity: {who}@example.org\n        expires: 2027-06-30\n",
            encoding="utf-8",
        )
        teams[team] = folder
    specs = (world.specs, *teams.values())
    assert apply(world, specs=specs).exit_code == 0
    assert len(world.rules()) == 3

    (teams["a"] / "team.yaml").unlink()
    refused = apply(world, specs=specs)
    assert refused.exit_code == 1, refused.output
    assert "deletion guard refuses this plan" in refused.output
    assert f"gone: {teams['a'] / 'team.yaml'} (1 in force)" in refused.output
    assert len(world.rules()) == 3


# --- observations are stamped with a clock that is not ahead of Globus's ---------------


def test_a_preview_in_the_future_does_not_put_off_a_failed_staging(
    world: World, seeded: Callable[[], None], tmp_path: Path
) -> None:
    world.write(
        "run42.yaml",
        f"""
        collections:
          source: {{id: {SOURCE}, root: /share/}}
        distributions:
          - name: run42
            collection: tutorial
            path: /disthome/run42/{{identity_id}}/
            stage: {{collection: source, path: /share/godata/}}
            grants:
              - identity: alice@example.org
                expires: 2027-06-30
        """,
    )
    seeded()
    # Without read access to the source, the staging task fails when it runs.
    world.control.revoke_role("access_manager", SANDBOX_CLIENT_ID, collection_id=SOURCE)
    clients = world.clients()
    try:
        with closing(open_store(tmp_path / "state.db")) as store:
            now = datetime.now(UTC)
            staged, _ = fetch_plan(clients, world.intent(), now=now, store=store)
            assert apply_plan(clients, staged, store=store).ok
            world.control.advance_clock(10)
            # A preview years ahead sees the failure first, and records it.
            preview = now + timedelta(days=3 * 365)
            fetch_plan(clients, world.intent(preview), now=preview, store=store)
            (staging,) = store.load_lifecycle().stagings.values()
            assert staging.status == "failed"
            assert staging.next_attempt is not None
            assert staging.next_attempt < now + timedelta(hours=1), staging.next_attempt

            # So the source fixed, the next real pass stages again (and then grants).
            world.control.grant_role("access_manager", SANDBOX_CLIENT_ID, collection_id=SOURCE)
            retry, _ = fetch_plan(
                clients, world.intent(), now=now + timedelta(minutes=5), store=store
            )
            assert [a.kind for a in retry.actions] == ["stage_data"]
    finally:
        clients.close()


# --- a prune grace lengthened while removals wait -------------------------------------


def test_a_longer_prune_grace_applies_to_removals_already_scheduled(world: World) -> None:
    users = world.write(
        "users.yaml",
        """
        distributions:
          - name: users
            collection: tutorial
            path: /disthome/{identity_id}/
            grants:
              - identity: alice@example.org
                expires: 2027-06-30
              - identity: bob@example.org
                expires: 2027-06-30
        """,
    )
    assert apply(world).exit_code == 0
    bob = world.identity("bob@example.org")
    results = f"/disthome/{bob}/results.h5"
    world.control.add_files(COLLECTION, [results])
    users.write_text(users.read_text().rsplit("      - identity: bob", 1)[0], encoding="utf-8")
    assert apply(world).exit_code == 0  # bob's directory: removal in 7 days
    start = datetime.now(UTC)

    # Someone needs more time to sort it out: the grace becomes 30 days.
    collections = world.specs / "collections.yaml"
    text = collections.read_text()
    collections.write_text(text.replace("cleanup: true}", "cleanup: true, prune_grace: 30d}"))
    extended = apply(world)
    assert extended.exit_code == 0, extended.output
    assert "policy.prune_grace is now 30d" in extended.output
    shown = world.cli("plan", "--sandbox", "--output", "json", str(world.specs))
    assert json.loads(shown.output)["actions"] == []
    (scheduled,) = json.loads(shown.output)["scheduled_removals"]
    due = datetime.fromisoformat(scheduled["due"])
    assert abs(due - (start + timedelta(days=30))) < timedelta(minutes=5), due

    eight_days = start + timedelta(days=8)
    kept = apply(world, "--now", at_sandbox_time(world, eight_days))
    assert kept.exit_code == 0, kept.output
    assert "remove directory" not in kept.output
    world.control.advance_clock(60)
    assert results in files(world)

    # A shorter grace never brings a removal forward: back to 1 day (or the setting
    # dropped, 7 days), the directory still waits for the 30 days shown.
    collections.write_text(text.replace("cleanup: true}", "cleanup: true, prune_grace: 1d}"))
    still = apply(world, "--now", at_sandbox_time(world, eight_days + timedelta(minutes=2)))
    assert still.exit_code == 0, still.output
    assert "remove directory" not in still.output
    world.control.advance_clock(60)
    assert results in files(world)

    after = start + timedelta(days=30, hours=1)
    gone = apply(world, "--now", at_sandbox_time(world, after))
    assert gone.exit_code == 0, gone.output
    assert "remove directory" in gone.output
    world.control.advance_clock(60)
    assert results not in files(world)


# --- a directory that was there before its grant --------------------------------------


def test_a_dataset_shared_for_a_while_outlives_its_grant(world: World) -> None:
    """Read access to an existing dataset directory, until tomorrow, on a collection
    with ``cleanup: true``: at the expiry the rule goes, the dataset stays. A rule made
    by hand (the web app) on another existing directory is pruned, its directory kept
    past the grace period too. The reconciler only ever removes directories it made."""
    dataset = "/disthome/datasets/cryoem-2026/"
    shared = "/disthome/shared-by-hand/"
    data = [dataset + "raw/movie-0001.tiff", dataset + "processed/map.mrc"]
    by_hand = shared + "notes.txt"
    soon = datetime.now(UTC) + timedelta(days=1)
    grant_alice(world, dataset, until=soon, name="cryoem")
    world.control.seed(
        collections=[{"id": COLLECTION, "display_name": "tutorial", "roots": ["/disthome/"]}]
    )
    world.control.add_files(COLLECTION, [*data, by_hand])
    first = apply(world)
    assert first.exit_code == 0, first.output
    assert "existed" in first.output  # the reconciler found the dataset there
    clients = world.clients()
    try:
        clients.transfer.add_endpoint_acl_rule(
            COLLECTION,
            {
                "DATA_TYPE": "access",
                "principal_type": "identity",
                "principal": world.identity("bob@example.org"),
                "path": shared,
                "permissions": "r",
            },
        )
    finally:
        clients.close()
    assert len(world.rules()) == 2

    later = soon + timedelta(hours=1)
    revoked = apply(world, "--allow-mass-deletion", "--now", at_sandbox_time(world, later))
    assert revoked.exit_code == 0, revoked.output
    assert world.rules() == []
    assert "the reconciler did not make them" in revoked.output
    for passed in (timedelta(minutes=2), timedelta(days=8)):
        again = apply(world, "--now", at_sandbox_time(world, later + passed))
        assert again.exit_code == 0, again.output
        assert "remove directory" not in again.output
        world.control.advance_clock(60)
    assert {*data, by_hand} <= files(world)


# --- a reservation left by a crash, over a directory that was there all along --------


def test_a_dataset_reserved_by_a_killed_run_is_never_claimed(
    world: World, seeded: Callable[[], None], tmp_path: Path
) -> None:
    """A run was killed after reserving a grant's directory and before its mkdir reached
    Globus; the directory was an existing dataset. The next run must not take the
    "existed" answer as proof that the killed run made it (it then deleted the dataset
    at the expiry): a reserved directory is claimed only when it is empty."""
    dataset = "/disthome/datasets/cryoem-2026/"
    data = [dataset + "raw/movie-0001.tiff", dataset + "processed/map.mrc"]
    soon = datetime.now(UTC) + timedelta(days=1)
    grant_alice(world, dataset, until=soon, name="cryoem")
    seeded()
    world.control.add_files(COLLECTION, data)
    clients = world.clients()
    try:
        with closing(open_store(tmp_path / "state.db")) as store:
            now = datetime.now(UTC)
            assert store.reserve_directory(COLLECTION, dataset, now=now)  # then killed
            granted, _ = fetch_plan(clients, world.intent(now), now=now, store=store)
            assert apply_plan(clients, granted, store=store).ok
            assert len(world.rules()) == 1
            lifecycle = store.load_lifecycle()
            assert (COLLECTION, dataset) not in lifecycle.made_directories
            assert (COLLECTION, dataset) not in lifecycle.pending_directories

            later = soon + timedelta(hours=1)
            at_sandbox_time(world, later)
            expired, _ = fetch_plan(clients, world.intent(later), now=later, store=store)
            assert "remove_directory" not in [a.kind for a in expired.actions]
            assert apply_plan(clients, expired, store=store).ok
            assert world.rules() == []
    finally:
        clients.close()
    assert set(data) <= files(world)


def test_an_empty_directory_reserved_by_a_killed_run_is_claimed_and_cleaned_up(
    world: World, seeded: Callable[[], None], tmp_path: Path
) -> None:
    """The other side: the killed run's mkdir did reach Globus (an empty directory), so
    the directory is the reconciler's and goes at the expiry, leaving no orphan."""
    mine = "/disthome/alice-run/"
    soon = datetime.now(UTC) + timedelta(days=1)
    grant_alice(world, mine, until=soon, name="run")
    seeded()
    clients = world.clients()
    try:
        with closing(open_store(tmp_path / "state.db")) as store:
            now = datetime.now(UTC)
            assert store.reserve_directory(COLLECTION, mine, now=now)
            clients.transfer.operation_mkdir(COLLECTION, mine)  # reached Globus, then killed
            granted, _ = fetch_plan(clients, world.intent(now), now=now, store=store)
            assert "make_directory" not in [a.kind for a in granted.actions]
            assert apply_plan(clients, granted, store=store).ok
            assert (COLLECTION, mine) in store.load_lifecycle().made_directories

            later = soon + timedelta(hours=1)
            at_sandbox_time(world, later)
            expired, _ = fetch_plan(clients, world.intent(later), now=later, store=store)
            assert ("remove_directory", mine) in [
                (a.kind, getattr(a, "path", "")) for a in expired.actions
            ]
    finally:
        clients.close()
