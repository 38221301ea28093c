"""Following downloads as real Globus reports them: a grantee downloading with a linked
identity, a grantee's DELETE task (not a download), successful transfers reported in the
mapped collection's namespace, and the completion-time filter in whole seconds."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import globus_sdk
import pytest

from reconciler.core.plan import Plan
from reconciler.reconciling import apply_plan, fetch_plan
from reconciler.state import StateStore, open_store
from tests.integration.conftest import make_app
from tests.integration.engine.conftest import COLLECTION, World
from tests.integration.lifecycle.test_lifecycle import SOURCE

GRANTEE_CLIENT = "6b0aed60-0000-4c11-8e47-7e57c11e4799"


def distribution(identity: str = "alice@example.org", *, permissions: str = "r") -> str:
    return f"""
distributions:
  - name: run42
    collection: tutorial
    path: /disthome/run42/{{identity_id}}/
    stage: {{collection: {SOURCE}, path: /datasets/run42/}}
    grants:
      - identity: {identity}
        expires: 2027-06-30
        permissions: {permissions}
        revoke_after_download: true
"""


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    opened = open_store(tmp_path / "state.db")
    yield opened
    opened.close()


def run_pass(world: World, store: StateStore) -> Plan:
    clients = world.clients()
    try:
        plan, _ = fetch_plan(clients, world.intent(), now=datetime.now(UTC), store=store)
        assert not plan.blocked, plan.problems
        assert plan.errors == (), plan.errors
        assert apply_plan(clients, plan, store=store).ok
        return plan
    finally:
        clients.close()


def granted(world: World, seeded: Callable[[], None], store: StateStore, text: str) -> str:
    """Stage and grant; returns the grant's directory."""
    world.write("run42.yaml", text)
    seeded()
    run_pass(world, store)  # stage
    world.control.advance_clock(10)
    run_pass(world, store)  # grant
    (rule,) = world.rules()
    world.control.advance_clock(5)
    return str(rule["path"])


def consumed(plan: Plan) -> bool:
    return any("consumed" in a.reason for a in plan.actions)


def test_a_download_with_a_linked_identity_consumes_the_grant(
    world: World, seeded: Callable[[], None], store: StateStore
) -> None:
    directory = granted(world, seeded, store, distribution())
    alice = world.identity("alice@example.org")
    world.control.add_identity("alice@orcid.org", linked_to="alice@example.org")
    mark = world.control.clear_request_log()
    world.control.simulate_download("alice@orcid.org", COLLECTION, directory)
    plan = run_pass(world, store)
    assert consumed(plan)
    asked = [
        e["query"].get("filter_owner_id")
        for e in world.api_calls(mark)
        if str(e["path"]).endswith("/endpoint_manager/task_list")
    ]
    assert asked == [None, alice]  # everyone's tasks, then alice's identity set


def test_a_grantee_delete_task_is_not_a_download(
    world: World, seeded: Callable[[], None], store: StateStore, sandbox: object
) -> None:
    world.control.add_client(GRANTEE_CLIENT)
    directory = granted(world, seeded, store, distribution(GRANTEE_CLIENT, permissions="rw"))
    app = make_app(sandbox, client_id=GRANTEE_CLIENT)  # type: ignore[arg-type]
    with globus_sdk.TransferClient(app=app) as grantee:
        delete = globus_sdk.DeleteData(COLLECTION)
        delete.add_item(f"{directory}README.txt")
        task_id = grantee.submit_delete(delete)["task_id"]
    app.close()
    world.control.advance_clock(5)
    mark = world.control.clear_request_log()
    plan = run_pass(world, store)
    assert not consumed(plan)
    assert not [e for e in world.api_calls(mark) if task_id in str(e["path"])]
    assert len(world.rules()) == 1


def test_paths_in_the_mapped_collections_namespace_are_understood(
    world: World, seeded: Callable[[], None], store: StateStore
) -> None:
    directory = granted(world, seeded, store, distribution())
    world.control.update_settings(transfer_paths="host")
    world.control.simulate_download("alice@example.org", COLLECTION, directory)
    assert consumed(run_pass(world, store))


def test_watermarks_are_whole_seconds_and_old_fractional_ones_still_work(
    world: World, seeded: Callable[[], None], store: StateStore
) -> None:
    directory = granted(world, seeded, store, distribution())
    run_pass(world, store)  # the first look at the task history
    stored = store.download_watermark(COLLECTION)
    assert stored is not None
    assert stored.microsecond == 0
    # A watermark written by an older version, with microseconds (the sandbox refuses
    # fractional seconds in the filter, as a strict Transfer would).
    store.set_download_watermark(COLLECTION, stored.replace(microsecond=123456))
    world.control.simulate_download("alice@example.org", COLLECTION, directory)
    assert consumed(run_pass(world, store))
    after = store.download_watermark(COLLECTION)
    assert after is not None
    assert after.microsecond == 0


def test_a_strangers_download_costs_one_owner_filtered_look_once(
    world: World, seeded: Callable[[], None], store: StateStore
) -> None:
    directory = granted(world, seeded, store, distribution())
    # Someone else (not linked to alice) downloads too: one owner-filtered look for
    # alice, once; the task is then remembered as seen.
    world.control.add_identity("stranger@example.org")
    world.control.simulate_download("stranger@example.org", COLLECTION, directory)
    first = world.control.clear_request_log()
    assert not consumed(run_pass(world, store))
    lists = [e for e in world.api_calls(first) if "task_list" in str(e["path"])]
    assert len(lists) == 2
    second = world.control.clear_request_log()
    run_pass(world, store)
    lists = [e for e in world.api_calls(second) if "task_list" in str(e["path"])]
    assert len(lists) == 1


def two_grantees(*, alice_revokes: bool = True) -> str:
    alice = "        revoke_after_download: true\n" if alice_revokes else ""
    return (
        "distributions:\n  - name: run42\n    collection: tutorial\n"
        "    path: /disthome/run42/{identity_id}/\n"
        f"    stage: {{collection: {SOURCE}, path: /datasets/run42/}}\n    grants:\n"
        "      - identity: alice@example.org\n        expires: 2027-06-30\n"
        + alice
        + "      - identity: bob@example.org\n        expires: 2027-06-30\n"
        "        revoke_after_download: true\n"
    )


def test_a_plan_of_other_specs_does_not_hide_a_download_from_the_daemon(
    world: World, seeded: Callable[[], None], store: StateStore, tmp_path: Path
) -> None:
    """A CI plan of a pull request shares the daemon's store and takes no lock. In the
    pull request alice's grant no longer revokes after download, so alice's download is
    nobody's there: it must not be put past the daemon, whose specs still watch it."""
    world.write("run42.yaml", two_grantees())
    seeded()
    run_pass(world, store)  # stage
    world.control.advance_clock(10)
    run_pass(world, store)  # grant
    world.control.advance_clock(5)
    run_pass(world, store)  # the first look at the task history
    alice = world.identity("alice@example.org")
    (directory,) = [r["path"] for r in world.rules() if r["principal"] == alice]
    pull_request = tmp_path / "pull-request"
    pull_request.mkdir()
    for spec in world.specs.iterdir():
        (pull_request / spec.name).write_text(spec.read_text())
    (pull_request / "run42.yaml").write_text(two_grantees(alice_revokes=False))
    world.control.simulate_download("alice@example.org", COLLECTION, directory)
    world.control.advance_clock(5)

    preview = world.cli(
        "plan", "--sandbox", "--state-db", str(tmp_path / "state.db"), str(pull_request)
    )
    assert preview.exit_code == 0, preview.output
    plan = run_pass(world, store)  # the daemon's next pass, with the specs on main
    assert consumed(plan)
    assert alice not in {r["principal"] for r in world.rules()}
