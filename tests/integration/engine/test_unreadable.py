"""One broken collection or group does not stop the rest: Globus's 403 (a missing role)
or 404 (a deleted collection, a wrong id) becomes located errors on the grants and
memberships that use it, nothing is planned or pruned there, the others converge, the
command exits 1 and the daemon logs each error."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from structlog.testing import capture_logs

from reconciler.credentials import SANDBOX_CLIENT_ID
from reconciler.daemon.clock import SystemClock
from reconciler.daemon.passes import PassSettings, Reconciler
from reconciler.globus.connecting import GlobusClients
from reconciler.reconciling import fetch_plan
from reconciler.state import StateStore, open_store
from tests.integration.engine.conftest import COLLECTION, COLLECTIONS_YAML, World

OTHER = "0c7f5e1a-1111-4b61-8b0a-5e7d0c2f4a22"
GONE = "0c7f5e1a-2222-4b61-8b0a-5e7d0c2f4a33"


def two_collections(*, bob_on_other: bool = True, extra: str = "") -> str:
    bob = (
        "      - identity: bob@example.org\n        path: /share/bob/\n"
        "        expires: 2027-06-30\n"
        if bob_on_other
        else ""
    )
    return (
        f"{COLLECTIONS_YAML}  other:\n    id: {OTHER}\n    root: /share/\n{extra}"
        "distributions:\n"
        "  - name: mine\n    collection: tutorial\n    grants:\n"
        "      - identity: alice@example.org\n        path: /disthome/alice/\n"
        "        expires: 2027-06-30\n"
        "  - name: theirs\n    collection: other\n    grants:\n"
        "      - identity: carol@example.org\n        path: /share/carol/\n"
        f"        expires: 2027-06-30\n{bob}"
    )


def _rules(world: World, collection_id: str) -> set[str]:
    found = next(c for c in world.control.dump()["collections"] if c["id"] == collection_id)
    return {r["path"] for r in found["rules"]}


def test_a_collection_without_the_role_is_left_alone_and_the_rest_converges(
    world: World,
) -> None:
    world.write("collections.yaml", two_collections())
    first = world.cli("apply", "--sandbox", "--auto-approve", str(world.specs))
    assert first.exit_code == 0, first.output
    assert _rules(world, OTHER) == {"/share/carol/", "/share/bob/"}

    # bob's grant leaves the specs (a prune on `other`), dave's joins `tutorial`, and
    # Globus refuses to list `other`'s rules.
    world.write("collections.yaml", two_collections(bob_on_other=False))
    world.write(
        "dave.yaml",
        "distributions:\n  - name: dave\n    collection: tutorial\n    grants:\n"
        "      - identity: dave@example.org\n        path: /disthome/dave/\n"
        "        expires: 2027-06-30\n",
    )
    # (--sandbox seeds the client's roles again, so the refusal is injected as Globus
    # gives it for a client without the role.)
    world.control.inject_fault(
        path=f"/v0.10/endpoint/{OTHER}/access_list",
        status=403,
        code="PermissionDenied",
        message="The client needs access_manager on this collection",
    )
    result = world.cli("apply", "--sandbox", "--auto-approve", str(world.specs))
    assert result.exit_code == 1, result.output
    assert "/disthome/dave/" in _rules(world, COLLECTION)  # the rest converged
    assert _rules(world, OTHER) == {"/share/carol/", "/share/bob/"}  # nothing pruned there
    located = [line for line in result.output.splitlines() if "could not be read" in line]
    assert len(located) == 1  # carol's grant is the one left on `other`
    assert "collections.yaml:" in located[0]
    assert "access_manager" in located[0]


def test_a_missing_collection_and_an_unreadable_group(
    world: World, seeded: Callable[[], None], tmp_path: Path
) -> None:
    world.write("collections.yaml", two_collections())
    world.write(
        "members.yaml",
        "memberships:\n  - group: tutorial-users\n    identity: erin@example.org\n"
        "    expires: 2027-06-30\n",
    )
    seeded()
    # The client is no longer an admin of the group, and a third collection is declared
    # that does not exist in Globus.
    world.control.add_group(
        "b4cada3a-af7c-11e3-8b90-1231391ccf32",
        memberships=[{"identity": SANDBOX_CLIENT_ID, "role": "admin", "status": "removed"}],
    )
    world.write(
        "collections.yaml",
        two_collections(extra=f"  gone:\n    id: {GONE}\n    root: /x/\n")
        + "  - name: lost\n    collection: gone\n    grants:\n"
        "      - identity: alice@example.org\n        path: /x/alice/\n"
        "        expires: 2027-06-30\n",
    )
    clients = world.clients()
    try:
        plan, live = fetch_plan(clients, world.intent(), now=datetime.now(UTC))
    finally:
        clients.close()
    assert not plan.blocked
    assert set(live.unreadable_collections) == {GONE}
    assert set(live.unreadable_groups) == {"b4cada3a-af7c-11e3-8b90-1231391ccf32"}
    by_file = {str(e.origin).split(":")[0].rsplit("/", 1)[-1]: e.message for e in plan.errors}
    assert "does not exist" in by_file["collections.yaml"]
    assert "admin or manager role" in by_file["members.yaml"]
    kinds = sorted(a.kind for a in plan.actions)
    assert kinds.count("create_rule") == 3  # alice, carol and bob on the readable ones
    assert "add_member" not in kinds


class _Target:
    def __init__(self, clients: GlobusClients, store: StateStore) -> None:
        self.clients = clients
        self.store = store

    def seed(self, intent: object) -> None:
        del intent


def test_the_daemon_logs_each_located_error(
    world: World, seeded: Callable[[], None], tmp_path: Path
) -> None:
    world.write("collections.yaml", two_collections())
    seeded()
    world.control.revoke_role("access_manager", SANDBOX_CLIENT_ID, collection_id=OTHER)
    clients = world.clients()
    store = open_store(tmp_path / "state.db")
    runner = Reconciler(
        _Target(clients, store),
        PassSettings(paths=(world.specs,)),
        clock=SystemClock(),
        stop=threading.Event(),
    )
    try:
        with capture_logs() as logs:
            report = runner.run_pass("p1", frozenset({"test"}))
    finally:
        clients.close()
        store.close()
    errors = [e for e in logs if e["event"] == "grant_error"]
    assert len(errors) == 2  # carol's and bob's grants on `other`
    assert all("could not be read" in e["error"] for e in errors)
    assert report.applied  # alice's grant on `tutorial` was made
    assert "/disthome/alice/" in _rules(world, COLLECTION)
