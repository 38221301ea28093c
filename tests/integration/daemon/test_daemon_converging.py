"""The daemon against the sandbox over real HTTP: spec edits converge, expiries are
revoked on time, an invalid spec set keeps the last valid one in force, a blocked plan
applies nothing, and Globus errors are retried with backoff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from reconciler.daemon.scheduling import Schedule
from reconciler.daemon.triggers import SPEC_CHANGE

LATER = datetime.now(UTC) + timedelta(days=30)


def metric(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    raise KeyError(name)


def test_a_spec_edit_converges_through_the_file_watcher(
    kit: Any, start_daemon: Any, events: Any, tmp_path: Path
) -> None:
    specs = tmp_path / "specs"
    kit.write_specs(specs, {"alice": LATER})
    running = start_daemon(specs, watch=True)
    kit.wait_for(lambda: kit.rules() == {"/disthome/alice/": "alice@example.org"})

    kit.write_specs(specs, {"alice": LATER, "bob": LATER})
    kit.wait_for(lambda: "/disthome/bob/" in kit.rules())
    kit.write_specs(specs, {"bob": LATER})
    kit.wait_for(lambda: kit.rules() == {"/disthome/bob/": "bob@example.org"})
    assert running.stop() == 0

    started = events.named("pass_started")
    assert started[0]["triggers"] == ["start"]
    assert all(e["triggers"] == ["spec_change"] for e in started[1:])
    created = events.named("action_done")
    assert {(e["kind"], e.get("path")) for e in created} == {
        ("make_directory", "/disthome/alice/"),
        ("make_directory", "/disthome/bob/"),
        ("create_rule", "/disthome/alice/"),
        ("create_rule", "/disthome/bob/"),
        ("delete_rule", "/disthome/alice/"),
    }
    removal = next(e for e in created if e["kind"] == "delete_rule")
    # alice is in no spec any more, so the event names her by identity id
    assert removal["principal"].startswith("identity:")
    assert removal["collection"] == "petrel"
    assert removal["reason"]
    assert removal["pass_id"] == started[-1]["pass_id"]


def test_a_grant_is_revoked_within_a_second_of_its_expiry(
    kit: Any, start_daemon: Any, events: Any, tmp_path: Path
) -> None:
    specs = tmp_path / "specs"
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
    kit.write_specs(specs, {"alice": expires, "bob": LATER})
    running = start_daemon(specs)
    kit.wait_for(lambda: "/disthome/alice/" in kit.rules())
    first = kit.wait_for(events.finished)[0]
    assert first["next_reason"] == "expiry"
    assert first["next_pass"] == expires.strftime("%Y-%m-%d %H:%M:%SZ")

    kit.wait_for(lambda: "/disthome/alice/" not in kit.rules())
    assert running.stop() == 0
    revoked = next(e for e in events.named("action_done") if e["kind"] == "delete_rule")
    assert 0 <= revoked["at"] - expires.timestamp() < 1.0
    assert "expired" in revoked["reason"]
    assert revoked["pruned"] == "no"
    assert events.named("pass_started")[1]["triggers"] == ["expiry"]
    assert kit.rules() == {"/disthome/bob/": "bob@example.org"}


def test_an_invalid_spec_set_keeps_the_last_valid_one_and_prunes_nothing(
    kit: Any, start_daemon: Any, events: Any, tmp_path: Path
) -> None:
    specs = tmp_path / "specs"
    kit.write_specs(specs, {"alice": LATER, "bob": LATER})
    running = start_daemon(specs)
    both = {"/disthome/alice/": "alice@example.org", "/disthome/bob/": "bob@example.org"}
    kit.wait_for(lambda: kit.rules() == both)

    # Break the grants file (a typo in a key), and drift: someone deletes bob's rule.
    grants = specs / "grants.yaml"
    grants.write_text(grants.read_text().replace("expires:", "expire:", 1))
    clients = running.target.clients
    bob_rule = next(
        r["id"]
        for r in clients.transfer.endpoint_acl_list(kit.collection)["DATA"]
        if r["path"] == "/disthome/bob/"
    )
    clients.transfer.delete_endpoint_acl_rule(kit.collection, bob_rule)
    running.daemon.inbox.post(SPEC_CHANGE)

    kit.wait_for(lambda: len(events.finished()) >= 2)
    assert running.stop() == 0
    # The last valid intent was planned and applied: bob's rule is back, alice's stays.
    assert kit.rules() == both
    second = events.finished()[1]
    assert second["result"] == "invalid_spec"
    invalid = events.named("spec_invalid")[0]
    assert f"{grants}:7:9: error: unknown key `expire` in a grant" in "\n".join(
        invalid["diagnostics"]
    )
    assert "last valid spec set stays in force" in invalid["kept"]
    assert {e["kind"] for e in events.named("action_done")} == {"make_directory", "create_rule"}
    assert not events.named("action_failed")
    text = running.daemon.metrics.render().decode()
    assert metric(text, "reconciler_spec_valid") == 0
    assert metric(text, "reconciler_passes_total", result="invalid_spec") == 1


def test_a_blocked_plan_applies_nothing_and_says_why(
    kit: Any, start_daemon: Any, events: Any, tmp_path: Path
) -> None:
    specs = tmp_path / "specs"
    users = [f"user{i}" for i in range(8)]
    kit.write_specs(specs, dict.fromkeys(users, LATER))
    running = start_daemon(specs)
    kit.wait_for(lambda: len(kit.rules()) == 8)

    kit.write_specs(specs, {"user0": LATER})  # as if seven grants were deleted by mistake
    running.daemon.inbox.post(SPEC_CHANGE)
    kit.wait_for(lambda: len(events.finished()) >= 2)
    assert running.stop() == 0
    assert len(kit.rules()) == 8
    assert events.finished()[1]["result"] == "blocked"
    blocked = events.named("plan_blocked")[0]
    assert "deletion guard" in blocked["reasons"][0]
    text = running.daemon.metrics.render().decode()
    assert metric(text, "reconciler_passes_total", result="blocked") == 1
    assert metric(text, "reconciler_actions_total", kind="delete_rule", status="done") == 0


def test_globus_errors_back_off_and_the_loop_recovers(
    kit: Any, start_daemon: Any, events: Any, tmp_path: Path
) -> None:
    specs = tmp_path / "specs"
    kit.write_specs(specs, {"alice": LATER})
    # Enough failures for the SDK's own retries of the first pass's access_list (6 tries)
    kit.sandbox.control.inject_fault(path="access_list", status=503, times=6)
    running = start_daemon(
        specs, schedule=Schedule(resync=3600.0, backoff_base=0.2, backoff_cap=1.0)
    )
    kit.wait_for(lambda: "/disthome/alice/" in kit.rules())
    assert running.stop() == 0
    failed = events.named("pass_failed")
    assert len(failed) == 1
    assert "503" in failed[0]["error"]
    assert failed[0]["next_retry"]
    assert events.named("pass_started")[1]["triggers"] == ["retry"]
    assert events.finished()[1]["result"] == "success"
    text = running.daemon.metrics.render().decode()
    assert metric(text, "reconciler_passes_total", result="failed") == 1
    assert metric(text, "reconciler_passes_total", result="success") == 1
    assert metric(text, "reconciler_globus_requests_total", service="transfer", status="503") == 6
