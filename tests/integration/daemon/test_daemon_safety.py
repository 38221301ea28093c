"""The daemon and issue 11's safety rules: a clock that disagrees with Globus's blocks
every write (logged, the daemon keeps running and tries again), and a spec file deleted
under a running daemon prunes nothing until someone allows it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from reconciler.daemon.triggers import SPEC_CHANGE

LATER = datetime.now(UTC) + timedelta(days=30)
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def api_writes(sandbox: Any, since: int) -> list[dict[str, Any]]:
    entries = sandbox.control.request_log(since)["entries"]
    return [e for e in entries if e["method"] in WRITES and "oauth2" not in e["path"]]


def test_a_clock_apart_from_globus_blocks_writes_and_the_daemon_recovers(
    kit: Any, start_daemon: Any, events: Any, tmp_path: Path
) -> None:
    specs = tmp_path / "specs"
    kit.write_specs(specs, {"alice": LATER})
    kit.sandbox.control.advance_clock(-2 * 3600)  # this host's clock is 2h ahead of Globus's
    mark = kit.sandbox.control.request_log()["next"]
    running = start_daemon(specs)
    kit.wait_for(events.finished)
    assert events.finished()[0]["result"] == "blocked"
    (blocked,) = events.named("plan_blocked")
    assert "is 2h ahead of Globus's clock" in blocked["reasons"][0]
    assert "nothing is written" in blocked["reasons"][0]
    assert api_writes(kit.sandbox, mark) == []
    assert kit.rules() == {}
    assert running.thread.is_alive()

    kit.sandbox.control.advance_clock(2 * 3600)  # the clocks agree again
    running.daemon.inbox.post(SPEC_CHANGE)
    kit.wait_for(lambda: kit.rules() == {"/disthome/alice/": "alice@example.org"})
    assert running.stop() == 0
    assert events.finished()[1]["result"] == "success"


def test_a_spec_file_deleted_under_the_daemon_prunes_nothing(
    kit: Any, start_daemon: Any, events: Any, tmp_path: Path
) -> None:
    specs = tmp_path / "specs"
    kit.write_specs(specs, {"alice": LATER})
    running = start_daemon(specs)
    kit.wait_for(lambda: kit.rules() == {"/disthome/alice/": "alice@example.org"})
    kit.wait_for(events.finished)

    (specs / "grants.yaml").unlink()
    mark = kit.sandbox.control.request_log()["next"]
    running.daemon.inbox.post(SPEC_CHANGE)
    kit.wait_for(lambda: len(events.finished()) >= 2)
    assert running.stop() == 0
    assert events.finished()[1]["result"] == "blocked"
    reasons = " ".join(events.named("plan_blocked")[0]["reasons"])
    assert "gone: grants.yaml (1 in force)" in reasons
    assert "collection petrel (1 managed)" in reasons
    assert api_writes(kit.sandbox, mark) == []
    assert kit.rules() == {"/disthome/alice/": "alice@example.org"}
