"""What a sequence of passes announces, from plain snapshots, and the payload."""

from __future__ import annotations

import json
from datetime import timedelta

from reconciler.daemon.alerts import (
    AlertState,
    compute_digest,
    compute_pass_alerts,
    render_payload,
)
from reconciler.daemon.snapshots import ExpiryRow, PassRecord, ProblemRow
from tests.unit.daemon.snapshot_samples import NOW, sample_snapshot


def passed(
    result: str, number: int, *, error: str | None = None, grant_errors: tuple[str, ...] = ()
) -> PassRecord:
    at = NOW + timedelta(minutes=number)
    return PassRecord(number, f"p{number}", result, at, at, 0.1, 0, 0, 0, error, grant_errors)


BLOCKED = (ProblemRow("blocked", "identity 'x' is not known", "specs/a.yaml:4:9"),)


def run(sequence: list[tuple[PassRecord, dict[str, object]]]) -> list[list[str]]:
    """The event kinds each pass raises, in order."""
    state = AlertState()
    kinds = []
    for record, extra in sequence:
        snapshot = sample_snapshot(passes=(record,), **{"problems": (), **extra})
        state, events = compute_pass_alerts(state, snapshot)
        kinds.append([e.kind for e in events])
    return kinds


def test_a_problem_is_announced_when_it_begins_or_changes_and_recovery_once() -> None:
    other = (ProblemRow("blocked", "the deletion guard refused: 30 prunes > 25"),)
    assert run(
        [
            (passed("success", 1), {}),
            (passed("blocked", 2), {"problems": BLOCKED}),
            (passed("blocked", 3), {"problems": BLOCKED}),  # the same: quiet
            (passed("blocked", 4), {"problems": other}),  # a different reason: again
            (passed("success", 5), {}),
            (passed("success", 6), {}),
        ]
    ) == [[], ["blocked"], [], ["blocked"], ["recovered"], []]


def test_failures_are_announced_once_per_run_whatever_the_error_text() -> None:
    assert run(
        [
            (passed("failed", 1, error="GlobusConnectionError: timed out"), {}),
            (passed("failed", 2, error="GlobusAPIError: 502"), {}),
            (passed("success", 3), {}),
        ]
    ) == [["failed"], [], ["recovered"]]


def test_invalid_specs_and_grant_errors() -> None:
    assert run(
        [
            (
                passed("invalid_spec", 1),
                {"spec_valid": False, "diagnostics": ("specs/a.yaml:1:1: error: bad",)},
            ),
            (
                passed("invalid_spec", 2),
                {"spec_valid": False, "diagnostics": ("specs/a.yaml:1:1: error: bad",)},
            ),
            (
                passed("success", 3, grant_errors=("specs/a.yaml:7:3: no activity monitor role",)),
                {},
            ),
            (passed("success", 4), {}),
        ]
    ) == [["spec_invalid"], [], ["grant_errors"], ["recovered"]]


def test_a_blocked_event_carries_the_problems_with_their_location() -> None:
    snapshot = sample_snapshot(passes=(passed("blocked", 1, error="x"),), problems=BLOCKED)
    _state, (event,) = compute_pass_alerts(AlertState(), snapshot)
    assert event.severity == "error"
    assert event.details == ("specs/a.yaml:4:9: identity 'x' is not known",)
    assert event.pass_id == "p1"


def test_the_digest_comes_once_a_day_and_only_with_something_to_say() -> None:
    rows = [
        ExpiryRow(NOW + timedelta(days=2), "rule", "petrel:/a/", "identity:alice@example.org"),
        ExpiryRow(NOW + timedelta(days=8), "rule", "petrel:/b/", "identity:bob@example.org"),
    ]
    state, event = compute_digest(AlertState(), rows, now=NOW)
    assert event is not None
    assert event.kind == "expiry_digest"
    assert event.summary == "1 grant(s) or membership(s) expire within 7 days"
    assert event.details == (
        "2026-03-03 12:00:00Z (in 2d 0h): rule petrel:/a/ for identity:alice@example.org",
    )
    assert compute_digest(state, rows, now=NOW + timedelta(hours=23))[1] is None
    state, event = compute_digest(state, rows, now=NOW + timedelta(days=1, hours=1))
    assert event is not None  # the next day: bob's is now within 7 days too
    assert len(event.details) == 2
    _state, event = compute_digest(AlertState(), rows, now=NOW, warning=timedelta(days=1))
    assert event is None


def test_the_payload_is_slack_and_mattermost_text_plus_structured_fields() -> None:
    snapshot = sample_snapshot(passes=(passed("blocked", 1, error="x"),), problems=BLOCKED)
    _state, (event,) = compute_pass_alerts(AlertState(), snapshot)
    payload = render_payload(event, host="gw1", version="1.2.3")
    assert json.loads(json.dumps(payload)) == payload
    assert payload["text"] == (
        "[error] reconciler on gw1: a pass was blocked: nothing was applied\n"
        "- specs/a.yaml:4:9: identity 'x' is not known"
    )
    assert payload["event"] == "blocked"
    assert payload["details"] == ["specs/a.yaml:4:9: identity 'x' is not known"]
    assert payload["at"] == "2026-03-01T12:01:00Z"
    assert (payload["host"], payload["version"], payload["pass_id"]) == ("gw1", "1.2.3", "p1")
