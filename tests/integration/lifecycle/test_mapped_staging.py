"""Staging from a GCSv5 mapped collection, over HTTP on the sandbox: the reconciler
reads each source with get_endpoint, asks for its data_access scope (and only for a
non-high-assurance mapped one), renews its Transfer token for it, and when only a
person can help (consent, identity mapping) says so on the grant and retries hourly."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reconciler.credentials import SANDBOX_CLIENT_ID
from reconciler.globus.connecting import GlobusClients
from reconciler.reconciling import apply_plan, fetch_plan
from reconciler.sandbox.seeding import seed_from_intent
from reconciler.state import StateStore, open_store
from tests.integration.engine.conftest import World
from tests.integration.lifecycle.test_lifecycle import SOURCE, distribution

MAPPED = "GCSv5_mapped_collection"
DATA_ACCESS = f"https://auth.globus.org/scopes/{SOURCE}/data_access"


@pytest.fixture
def parts(world: World, tmp_path: Path) -> Iterator[tuple[GlobusClients, StateStore]]:
    world.write("run42.yaml", distribution(revoke=False))
    clients, store = world.clients(), open_store(tmp_path / "state.db")
    try:
        yield clients, store
    finally:
        clients.close()
        store.close()


def seed_source(world: World, **kind: object) -> None:
    """The stage source as a collection of ``kind``, seeded before the specs seed the
    rest (seeding never changes a collection's kind)."""
    world.control.add_client(SANDBOX_CLIENT_ID)
    world.control.add_collection(SOURCE, roots=["/datasets/"], **kind)  # type: ignore[arg-type]
    seed_from_intent(world.control, world.intent(), client_id=SANDBOX_CLIENT_ID)


def transfer_scopes(sandbox_db: Path) -> list[str]:
    """The scopes of every Transfer token the sandbox issued, dependencies included."""
    with closing(sqlite3.connect(f"file:{sandbox_db}?mode=ro", uri=True)) as conn:
        rows = conn.execute(
            "SELECT scope FROM tokens WHERE resource_server = 'transfer.api.globus.org'"
            " ORDER BY issued_at"
        )
        return [str(row[0]) for row in rows]


def run_pass(clients: GlobusClients, store: StateStore, world: World, *, now: datetime) -> object:
    plan, _ = fetch_plan(clients, world.intent(now), now=now, store=store)
    apply_plan(clients, plan, store=store)
    return plan


def test_staging_from_a_mapped_collection_asks_for_its_data_access_scope(
    world: World, sandbox: object, parts: tuple[GlobusClients, StateStore]
) -> None:
    clients, store = parts
    seed_source(world, entity_type=MAPPED)
    now = datetime.now(UTC)
    # A first call with the plain Transfer scope, as every pass makes: its token is
    # cached and must not be reused for the copy, which needs the dependent scope.
    plan = run_pass(clients, store, world, now=now)
    assert "stage_data" in [a.kind for a in plan.actions]  # type: ignore[attr-defined]
    staged = [t for t in world.control.dump()["tasks"] if t["type"] == "TRANSFER"]
    assert len(staged) == 1, "the copy was refused (ConsentRequired?)"
    scopes = transfer_scopes(sandbox.db_path)  # type: ignore[attr-defined]
    assert DATA_ACCESS not in scopes[0]
    assert DATA_ACCESS in scopes[-1]
    assert len(scopes) == 2  # renewed once, when the scope was added
    world.control.advance_clock(10)
    run_pass(clients, store, world, now=now)
    assert len(world.rules()) == 1


@pytest.mark.parametrize(
    "kind",
    [
        pytest.param({}, id="guest"),
        pytest.param({"entity_type": MAPPED, "high_assurance": True}, id="high-assurance mapped"),
    ],
)
def test_other_sources_never_get_the_data_access_scope(
    world: World, sandbox: object, parts: tuple[GlobusClients, StateStore], kind: dict
) -> None:
    """Guest collections answer "Unknown Scope" to it; high-assurance ones use none."""
    clients, store = parts
    seed_source(world, **kind)
    run_pass(clients, store, world, now=datetime.now(UTC))
    assert len([t for t in world.control.dump()["tasks"] if t["type"] == "TRANSFER"]) == 1
    scopes = transfer_scopes(sandbox.db_path)  # type: ignore[attr-defined]
    assert scopes
    assert not any("data_access" in s for s in scopes)


def test_consent_required_is_a_located_error_retried_at_most_hourly(
    world: World, sandbox: object, parts: tuple[GlobusClients, StateStore]
) -> None:
    """A source the client cannot read with get_endpoint gets no data_access scope;
    Globus answers ConsentRequired, and the grant says what to do."""
    clients, store = parts
    seed_source(world, entity_type=MAPPED)
    world.control.inject_fault(path=f"/endpoint/{SOURCE}$", method="GET", status=403,
                               code="PermissionDenied")  # fmt: skip
    now = datetime.now(UTC)
    plan, _ = fetch_plan(clients, world.intent(now), now=now, store=store)
    result = apply_plan(clients, plan, store=store)
    assert not result.ok
    (failed,) = [o for o in result.outcomes if o.status == "failed"]
    assert f"staging from {SOURCE} refused" in failed.detail
    assert f"{SOURCE}/data_access" in failed.detail
    assert world.control.dump()["tasks"] == []

    later, _ = fetch_plan(clients, world.intent(now), now=now + timedelta(minutes=30), store=store)
    assert "stage_data" not in [a.kind for a in later.actions]
    (error,) = later.errors
    assert error.origin is not None
    assert error.origin.file.endswith("run42.yaml")
    assert "cannot be staged" in str(error)
    assert "data_access" in str(error)
    assert "tried again after" in str(error)

    hour, _ = fetch_plan(clients, world.intent(now), now=now + timedelta(minutes=61), store=store)
    assert "stage_data" in [a.kind for a in hour.actions]


def test_a_missing_identity_mapping_is_a_located_error_until_fixed(
    world: World, sandbox: object, parts: tuple[GlobusClients, StateStore]
) -> None:
    clients, store = parts
    seed_source(world, entity_type=MAPPED, unmapped=[SANDBOX_CLIENT_ID])
    now = datetime.now(UTC)
    run_pass(clients, store, world, now=now)
    world.control.advance_clock(10)  # the task runs, and fails on the missing mapping

    plan, _ = fetch_plan(clients, world.intent(now), now=now, store=store)
    (error,) = plan.errors
    text = str(error)
    assert f"{SANDBOX_CLIENT_ID}@clients.auth.globus.org needs an identity mapping" in text
    assert "run42.yaml" in text
    assert "tried again after" in text
    assert "stage_data" not in [a.kind for a in plan.actions]
    assert world.rules() == []

    world.control.add_collection(SOURCE, roots=["/datasets/"], entity_type=MAPPED, unmapped=[])
    later = now + timedelta(minutes=61)
    run_pass(clients, store, world, now=later)
    world.control.advance_clock(10)
    done, _ = fetch_plan(clients, world.intent(later), now=later, store=store)
    assert done.errors == ()
    assert "create_rule" in [a.kind for a in done.actions]
