"""Incremental daemon passes against the sandbox: a wake with no spec file changed parses
no spec, identities come from the cache, and an expiry reads only the collection where
something expired (and still revokes it on time); the resync timer still reads all."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from reconciler.daemon.clock import SystemClock
from reconciler.daemon.passes import EXPIRY_ONLY, PassSettings, Reconciler
from reconciler.daemon.scheduling import Schedule
from reconciler.daemon.triggers import SIGHUP
from reconciler.targeting import TargetOptions, open_target
from tests.integration.worlds import find_collection

FIRST = "e56c36e4-1063-11e6-a747-000000000001"
SECOND = "e56c36e4-1063-11e6-a747-000000000002"
LATER = datetime.now(UTC) + timedelta(days=30)


def iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_two_collections(specs: Path, grants: dict[str, tuple[str, datetime]]) -> None:
    """Collections ``first`` and ``second``; ``grants`` maps a user to (collection, expiry)."""
    specs.mkdir(parents=True, exist_ok=True)
    (specs / "collections.yaml").write_text(
        "collections:\n"
        f"  first:\n    id: {FIRST}\n    root: /disthome/\n"
        f"  second:\n    id: {SECOND}\n    root: /disthome/\n"
    )
    lines = ["distributions:"]
    for name in ("first", "second"):
        mine = {u: e for u, (c, e) in grants.items() if c == name}
        lines += [f"  - name: d-{name}", f"    collection: {name}"]
        lines.append("    grants:" if mine else "    grants: []")
        for user, expires in mine.items():
            lines += [
                f"      - identity: {user}@example.org",
                f"        path: /disthome/{user}/",
                f"        expires: {iso(expires)}",
            ]
    (specs / "grants.yaml").write_text("\n".join(lines) + "\n")


def rules_on(sandbox: Any, collection: str) -> set[str]:
    return {r["path"] for r in find_collection(sandbox.control.dump(), collection)["rules"]}


def calls_since(sandbox: Any, mark: int) -> list[tuple[str, str]]:
    entries = sandbox.control.request_log(mark)["entries"]
    return [(str(e["method"]), str(e["path"])) for e in entries]


def test_an_expiry_reads_only_its_collection_and_parses_no_spec(
    kit: Any, start_daemon: Any, events: Any, tmp_path: Path
) -> None:
    specs = tmp_path / "specs"
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
    write_two_collections(
        specs,
        {"alice": ("first", expires), "bob": ("first", LATER), "carol": ("second", LATER)},
    )
    running = start_daemon(specs)
    kit.wait_for(events.finished)
    assert rules_on(kit.sandbox, FIRST) == {"/disthome/alice/", "/disthome/bob/"}
    mark = kit.sandbox.control.request_log()["next"]

    kit.wait_for(lambda: "/disthome/alice/" not in rules_on(kit.sandbox, FIRST))
    kit.wait_for(lambda: len(events.finished()) >= 2)
    # The status page still shows the whole spec set after a pass that read a part.
    snapshot = running.daemon.observatory.load_snapshot()
    assert sorted(c.name for c in snapshot.collections) == ["first", "second"]
    assert {c.name: c.total for c in snapshot.collections} == {"first": 1, "second": 1}
    assert running.stop() == 0

    revoked = next(e for e in events.named("action_done") if e["kind"] == "delete_rule")
    assert 0 <= revoked["at"] - expires.timestamp() < 1.0
    assert events.named("pass_started")[1]["triggers"] == ["expiry"]
    assert events.named("expiry_pass")[0]["collections"] == 1
    calls = calls_since(kit.sandbox, mark)
    reads = [path for method, path in calls if path.endswith("/access_list")]
    assert reads == [f"/v0.10/endpoint/{FIRST}/access_list"]  # not the second collection
    assert not [path for _m, path in calls if "identities" in path]  # identities cached
    assert [m for m, _p in calls if m != "GET"] == ["DELETE"]
    # Parsed once, at start (the files had just been written, so the expiry pass
    # read them again to compare their content, but parsed nothing).
    assert running.daemon.reconciler.spec_files_parsed == 2
    assert rules_on(kit.sandbox, SECOND) == {"/disthome/carol/"}


def test_a_wake_with_no_file_changed_reads_everything_but_parses_nothing(
    kit: Any, start_daemon: Any, events: Any, tmp_path: Path
) -> None:
    specs = tmp_path / "specs"
    write_two_collections(specs, {"alice": ("first", LATER), "carol": ("second", LATER)})
    running = start_daemon(specs, schedule=Schedule(resync=3600.0))
    kit.wait_for(events.finished)
    mark = kit.sandbox.control.request_log()["next"]

    running.daemon.inbox.post(SIGHUP)  # a full pass, as the resync timer runs
    kit.wait_for(lambda: len(events.finished()) >= 2)
    calls = calls_since(kit.sandbox, mark)
    assert sorted(p for _m, p in calls if p.endswith("/access_list")) == sorted(
        f"/v0.10/endpoint/{c}/access_list" for c in (FIRST, SECOND)
    )
    assert not [p for _m, p in calls if "identities" in p or "oauth2" in p]
    assert running.daemon.reconciler.spec_files_parsed == 2

    # A file changed: it is loaded again, and a new username is looked up.
    write_two_collections(
        specs,
        {"alice": ("first", LATER), "carol": ("second", LATER), "dave": ("second", LATER)},
    )
    running.daemon.inbox.post(SIGHUP)
    kit.wait_for(lambda: "/disthome/dave/" in rules_on(kit.sandbox, SECOND))
    assert running.stop() == 0
    assert running.daemon.reconciler.spec_files_parsed == 3  # only the file edited
    lookups = [
        e for e in kit.sandbox.control.request_log(mark)["entries"] if "identities" in e["path"]
    ]
    assert [e["query"].get("usernames") for e in lookups] == ["dave@example.org"]


def test_after_a_standby_pass_an_expiry_wake_runs_a_full_pass(
    kit: Any, globus_env: dict[str, str], tmp_path: Path
) -> None:
    """What the leader did while this process stood by is unknown to it: its first pass
    as leader again reads everything, even when woken for an expiry alone."""
    specs = tmp_path / "specs"
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    write_two_collections(specs, {"alice": ("first", expires), "carol": ("second", LATER)})
    leading = [True, False, True]

    @contextlib.contextmanager
    def turn(_intent: Any) -> Iterator[bool]:
        yield leading.pop(0)

    with open_target(TargetOptions(sandbox=True)) as target:
        reconciler = Reconciler(
            target, PassSettings(paths=(specs,)), clock=SystemClock(), stop=threading.Event(),
            turn=turn,
        )  # fmt: skip
        assert reconciler.run_pass("p1", frozenset({"start"})).result == "success"
        assert "/disthome/alice/" in rules_on(kit.sandbox, FIRST)
        assert reconciler.run_pass("p2", frozenset({"resync"})).result == "standby"
        time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.1)
        mark = kit.sandbox.control.request_log()["next"]
        assert reconciler.run_pass("p3", EXPIRY_ONLY).result == "success"
    reads = [p for _m, p in calls_since(kit.sandbox, mark) if p.endswith("/access_list")]
    assert sorted(reads) == sorted(f"/v0.10/endpoint/{c}/access_list" for c in (FIRST, SECOND))
    assert "/disthome/alice/" not in rules_on(kit.sandbox, FIRST)
