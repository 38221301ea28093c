"""Regression tests for what the reliability suite found, one per fix, small and
deterministic: the randomized scenarios find these problems by chance; these pin each
fix down (see docs/reliability.md, "What it found").

1. Orphan directories after a crash: a grant directory made (or being made) by a run
   that died before its rule, or between deleting a rule and removing its directory,
   was never cleaned up once its grant left the specs.
2. The daemon planned without the state store: no staging, no download following, no
   cleanup from the store's memory.
3. The token cache raced between the reconciler's threads and could be left corrupt.
4. An unreachable sandbox crashed commands and daemon passes with a traceback (tested
   in test_daemon_outage.py).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import stat
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from globus_sdk.token_storage import TokenStorageData

from reconciler.core.actions import (
    CancelRemoval,
    CreateRule,
    DeleteRule,
    MakeDirectory,
    RemoveDirectory,
    ScheduleRemoval,
    StageData,
    UpdateRule,
)
from reconciler.core.lifecycle import Lifecycle, ScheduledRemoval
from reconciler.credentials import SANDBOX_CLIENT_ID, ClientCredentials
from reconciler.daemon.triggers import SIGHUP
from reconciler.executing import CreateResult
from reconciler.globus.caching import CachingTokenStorage, compute_cache_namespace
from reconciler.globus.connecting import connect
from reconciler.globus.reading import fetch_live_state
from reconciler.planning import compute_plan
from reconciler.recording import RecordingPort
from reconciler.spec import load_spec_set
from reconciler.state import open_store
from tests.reliability.polling import wait_for
from tests.reliability.test_daemon_outage import daemon_in_process
from tests.unit.planning.builders import ALICE, COLL, NOW, grant, intent, live

GONE = "/disthome/gone/"
MINE = f"/disthome/{ALICE}/"
ONE = frozenset({(COLL, GONE)})
NONE: frozenset[tuple[str, str]] = frozenset()


# --- 1. orphan directories after a crash -----------------------------------------------


def kinds_and_paths(actions: Sequence[object]) -> list[tuple[str, str]]:
    return [(a.kind, a.path) for a in actions]  # type: ignore[attr-defined]


def test_a_made_directory_no_spec_claims_is_cleaned_up() -> None:
    """Cleaned up like a pruned rule's directory: scheduled first, removed once the
    collection's prune grace (7 days) is over (issue 11: deleting data is never urgent)."""
    made = Lifecycle(made_directories=frozenset({(COLL, GONE), (COLL, MINE)}), durable=True)
    plan = compute_plan(intent((grant(),)), live(), now=NOW, lifecycle=made)
    assert kinds_and_paths(plan.actions) == [("schedule_removal", GONE), ("create_rule", MINE)]
    schedule = plan.actions[0]
    assert isinstance(schedule, ScheduleRemoval)
    assert schedule.due == NOW + timedelta(days=7)
    due = replace(
        made, scheduled_removals={(COLL, GONE): ScheduledRemoval(COLL, GONE, schedule.due)}
    )
    later = compute_plan(intent((grant(),)), live(), now=schedule.due, lifecycle=due)
    assert kinds_and_paths(later.actions) == [("remove_directory", GONE), ("create_rule", MINE)]
    removal = later.actions[0]
    assert isinstance(removal, RemoveDirectory)
    assert removal.pruned
    # Not when the collection keeps revoked directories, nor for a revoked grant that
    # keeps its own.
    kept = compute_plan(intent((grant(),), cleanup=False), live(), now=NOW, lifecycle=made)
    assert "schedule_removal" not in [a.kind for a in kept.actions]
    keeps = grant(path=GONE, days=-1, cleanup=False)
    revoked = compute_plan(intent((grant(), keeps)), live(), now=NOW, lifecycle=made)
    assert "schedule_removal" not in [a.kind for a in revoked.actions]


def test_a_pending_directory_is_never_assumed_to_exist_nor_removed() -> None:
    """A reservation whose mkdir outcome was never seen may name a directory that was
    there all along, with someone's data: planning neither removes it nor assumes it
    exists; the next applying pass settles it first (``test_reserved_directories_...``)."""
    pending = Lifecycle(pending_directories=frozenset({(COLL, GONE), (COLL, MINE)}), durable=True)
    plan = compute_plan(intent((grant(),)), live(), now=NOW, lifecycle=pending)
    assert kinds_and_paths(plan.actions) == [
        ("make_directory", MINE),  # the mkdir may never have reached Globus
        ("create_rule", MINE),
    ]


class DyingPort:
    """An ActionPort whose mkdir reaches Globus and then the process dies (or answers
    ``existed`` / ``created`` when told to)."""

    def __init__(self, answer: bool | None, state: str = "empty") -> None:
        self.answer = answer
        self.state = state

    def directory_state(self, collection_id: str, path: str) -> Any:
        return self.state

    def make_directory(self, action: MakeDirectory) -> bool:
        if self.answer is None:
            raise SystemExit("killed")  # what SIGKILL would leave: nothing after the call
        return self.answer

    def stage_data(self, action: StageData) -> str:
        raise NotImplementedError

    def create_rule(self, action: CreateRule) -> CreateResult:
        raise NotImplementedError

    def update_rule(self, action: UpdateRule) -> None:
        raise NotImplementedError

    def delete_rule(self, action: DeleteRule) -> bool:
        raise NotImplementedError

    def remove_directories(self, collection_id: str, paths: Sequence[str]) -> str:
        raise NotImplementedError

    def change_members(
        self,
        group_id: str,
        *,
        add: Sequence[str],
        remove: Sequence[str],
        approve: Sequence[str] = (),
    ) -> Mapping[str, str | None]:
        raise NotImplementedError

    def schedule_removal(self, action: ScheduleRemoval) -> None:
        raise NotImplementedError

    def cancel_removal(self, action: CancelRemoval) -> None:
        raise NotImplementedError

    def new_submission_id(self) -> str:
        raise NotImplementedError

    def submit_staging(self, action: StageData, submission_id: str) -> str:
        raise NotImplementedError


def test_a_grant_directory_is_recorded_before_it_is_made(tmp_path: Path) -> None:
    store = open_store(tmp_path / "state.db")
    action = MakeDirectory("petrel", COLL, GONE, "test", grant_directory=True)

    def make(answer: bool | None, state: str = "empty") -> Lifecycle:
        port = RecordingPort(DyingPort(answer, state), store, clock=lambda: datetime.now(UTC))
        with contextlib.suppress(SystemExit):
            port.make_directory(action)
        return store.load_lifecycle()

    try:
        died = make(None)
        assert (died.made_directories, died.pending_directories) == (NONE, ONE)
        # The next run finds it there and empty: the interrupted attempt may have made
        # it, and claiming an empty directory risks nothing.
        after = make(False)
        assert (after.made_directories, after.pending_directories) == (ONE, NONE)
        store.forget_directory(COLL, GONE)
        # Killed again before the mkdir, over a directory that holds data: it was there
        # all along (a dataset the grant points at), so it is never the reconciler's.
        assert make(None).pending_directories == ONE
        dataset = make(False, state="not_empty")
        assert (dataset.made_directories, dataset.pending_directories) == (NONE, NONE)
        # A directory that was there before and no attempt of ours touched is not ours.
        existed = make(False)
        assert (existed.made_directories, existed.pending_directories) == (NONE, NONE)
        created = make(True)
        assert (created.made_directories, created.pending_directories) == (ONE, NONE)
    finally:
        store.close()


# --- 2. the daemon plans with the state store ----------------------------------------------


def test_the_daemon_follows_staging_and_grants_after_it(
    sandbox: Any, globus_env: dict[str, str], tmp_path: Path
) -> None:
    """Without the store the daemon staged the data again at every pass and never
    created the rule."""
    specs = tmp_path / "specs"
    specs.mkdir()
    source = "0b3c5e1a-9f0e-4b61-8b0a-5e7d0c2f4a11"
    (specs / "specs.yaml").write_text(
        "collections:\n  c:\n    id: 7e1ab1e0-0000-4000-8000-00000000c011\n"
        "    root: /disthome/\n"
        "distributions:\n  - name: run42\n    collection: c\n"
        "    path: /disthome/run42/{identity_id}/\n"
        f"    stage: {{collection: {source}, path: /datasets/run42/}}\n"
        "    grants:\n      - identity: alice@example.org\n        expires: 2099-01-01\n",
        encoding="utf-8",
    )
    assert load_spec_set([specs], now=NOW).intent is not None

    def rules() -> list[Any]:
        dump = sandbox.control.dump()
        return [r for c in dump["collections"] for r in c["rules"]]

    def staging_tasks() -> list[Any]:
        return [t for t in sandbox.control.dump()["tasks"] if t["type"] == "TRANSFER"]

    with daemon_in_process(specs, tmp_path) as daemon:
        wait_for(staging_tasks, limit=30, what="the staging task")
        sandbox.control.advance_clock(30)  # the copy finishes on sandbox time
        daemon.inbox.post(SIGHUP)
        wait_for(rules, limit=30, what="the rule, once the data is staged")
    assert len(staging_tasks()) == 1, "staged more than once"


# --- 3. the token cache ------------------------------------------------------------------


def test_the_token_cache_survives_concurrent_writers_and_a_truncated_file(tmp_path: Path) -> None:
    """The SDK's JSONTokenStorage fails most of these operations with JSONDecodeError
    and leaves the file corrupt."""
    path = tmp_path / "tokens.json"
    storage = CachingTokenStorage(path)
    errors: list[BaseException] = []

    def work(server: str) -> None:
        for n in range(50):
            expires = int(time.time()) + 60
            data = TokenStorageData(server, None, "scope", f"t{n}", None, expires, "Bearer")
            try:
                storage.store_token_data_by_resource_server({server: data})
                storage.get_token_data_by_resource_server()
            except Exception as err:
                errors.append(err)

    threads = [threading.Thread(target=work, args=(f"rs{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(storage.get_token_data_by_resource_server()) == ["rs0", "rs1", "rs2", "rs3"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["format_version"] == "2.0"  # the SDK's format

    path.write_text('{"data": {"DEFAU')  # a crash in the middle of a write
    assert storage.get_token_data_by_resource_server() == {}
    storage.remove_token_data("rs0")
    assert json.loads(path.read_text())["format_version"] == "2.0"


@pytest.mark.parametrize("attempt", range(5))
def test_the_first_parallel_reads_with_a_fresh_token_cache(
    attempt: int, sandbox: Any, globus_env: dict[str, str], tmp_path: Path
) -> None:
    """Production's first reads: Transfer, Groups and Auth fetch and store their tokens
    at once, into the same cache file, here for two clients at once (two processes, or
    a CI run beside the daemon). Each client ends with its own three tokens, the ones
    the sandbox issued to it, in a file only its owner can read."""
    del attempt
    spec = tmp_path / "specs.yaml"
    spec.write_text(
        "collections:\n  c:\n    id: 7e1ab1e0-0000-4000-8000-00000000c011\n    root: /d/\n"
        "groups:\n  g:\n    id: 7e1ab1e0-0000-4000-8000-0000000060a1\n"
        "distributions:\n  - name: d\n    collection: c\n    path: /d/{identity_id}/\n"
        "    grants:\n      - identity: alice@example.org\n        expires: 2099-01-01\n",
        encoding="utf-8",
    )
    loaded = load_spec_set([spec], now=NOW)
    assert loaded.intent is not None, [str(d) for d in loaded.diagnostics]
    other = "7e1ab1e0-0000-4000-8000-00000000b0b0"
    sandbox.control.seed(
        settings={"open_roles": True},
        clients=[{"client_id": other}],
        collections=[{"id": "7e1ab1e0-0000-4000-8000-00000000c011", "roots": ["/d/"]}],
        groups=[
            {
                "id": "7e1ab1e0-0000-4000-8000-0000000060a1",
                "admins": [SANDBOX_CLIENT_ID, other],
            }
        ],
    )
    cache = tmp_path / "state" / "tokens.json"
    credentials = {SANDBOX_CLIENT_ID: "s", other: "t"}
    errors: list[BaseException] = []

    def first_reads(client_id: str) -> None:
        clients = connect(ClientCredentials(client_id, credentials[client_id]), token_cache=cache)
        try:
            fetch_live_state(clients, loaded.intent)  # type: ignore[arg-type]
        except BaseException as err:
            errors.append(err)
        finally:
            clients.close()

    threads = [threading.Thread(target=first_reads, args=(c,)) for c in credentials]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    stored = json.loads(cache.read_text())["data"]
    issued = read_issued_by_client(sandbox.db_path)
    servers = {"transfer.api.globus.org", "groups.api.globus.org", "auth.globus.org"}
    for client_id, secret in credentials.items():
        mine = stored[compute_cache_namespace(client_id, secret)]
        assert set(mine) == servers, client_id
        assert {t["access_token"] for t in mine.values()} <= issued[client_id], client_id
    assert len(stored) == 2


def read_issued_by_client(db_path: Path) -> dict[str, set[str]]:
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as conn:
        found: dict[str, set[str]] = {}
        for token, client_id in conn.execute("SELECT token, client_id FROM tokens"):
            found.setdefault(str(client_id), set()).add(str(token))
        return found
