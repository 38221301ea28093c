"""Trust no clock blindly (design semantics 13): the planning instant against Globus's
HTTP ``Date``; beyond the limit, or with no readable Date, the plan is blocked."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from reconciler.core.live import ServerClock
from reconciler.globus.reading import parse_date_header
from reconciler.planning import compute_plan
from reconciler.planning.clock import compute_clock_problems, compute_observed_at
from tests.unit.planning.builders import NOW, grant, intent, live

LIMIT = timedelta(minutes=5)


def at(offset: timedelta, source: str = "access list of collection c") -> ServerClock:
    return ServerClock(source, NOW + offset)


def test_clocks_within_the_limit_pass() -> None:
    clocks = (at(timedelta(seconds=-290)), at(timedelta(seconds=299), "group g"))
    assert compute_clock_problems(NOW, clocks, limit=LIMIT) == ()


def test_a_planning_clock_years_ahead_is_refused_naming_both_clocks() -> None:
    four_years = timedelta(days=1461)
    (problem,) = compute_clock_problems(NOW + four_years, (at(timedelta(0)),), limit=LIMIT)
    assert "the clock this plan uses (2030-11-26 12:00:00Z) is 1461d ahead of" in problem.message
    assert "Globus's clock (2026-11-26 12:00:00Z, the Date of the access list" in problem.message
    assert "more than --max-clock-skew 5m: nothing is written" in problem.message
    assert problem.hint is not None
    assert "NTP" in problem.hint


def test_the_worst_reading_is_reported_behind_too() -> None:
    clocks = (at(timedelta(minutes=1)), at(timedelta(hours=2), "group g"))
    (problem,) = compute_clock_problems(NOW, clocks, limit=LIMIT)
    assert "is 2h behind Globus's clock" in problem.message
    assert "the Date of the group g" in problem.message


@pytest.mark.parametrize("raw", [None, "", "yesterday-ish"])
def test_no_readable_date_fails_closed(raw: str | None) -> None:
    clocks = (at(timedelta(0)), ServerClock("group g", parse_date_header(raw), raw))
    (problem,) = compute_clock_problems(NOW, clocks, limit=LIMIT)
    assert "Globus's clock could not be read: its answer to the group g" in problem.message
    assert "nothing is written" in problem.message


def test_nothing_read_means_nothing_to_check() -> None:
    assert compute_clock_problems(NOW, (), limit=LIMIT) == ()


def test_the_date_header_is_read_as_utc() -> None:
    assert parse_date_header("Tue, 01 Dec 2026 00:11:35 GMT") == datetime(
        2026, 12, 1, 0, 11, 35, tzinfo=UTC
    )
    assert parse_date_header("Tue, 01 Dec 2026 01:11:35 +0100") == datetime(
        2026, 12, 1, 0, 11, 35, tzinfo=UTC
    )


def test_compute_plan_blocks_only_when_asked_to_check() -> None:
    skewed = replace(live(), clocks=(at(timedelta(days=-1)),))
    wanted = intent((grant(),))
    preview = compute_plan(wanted, skewed, now=NOW)
    assert not preview.blocked
    assert preview.actions
    checked = compute_plan(wanted, skewed, now=NOW, max_clock_skew=LIMIT)
    assert checked.blocked
    assert "ahead of Globus's clock" in checked.problems[0].message
    assert checked.actions == preview.actions  # shown, never applied


def test_observations_are_never_stamped_ahead_of_globus() -> None:
    """A preview as of a future --now, or a host clock running ahead, must not record
    (say) a failed staging's next attempt years ahead."""
    globus = (at(timedelta(seconds=-3)), at(timedelta(seconds=-1), "group g"))
    assert compute_observed_at(NOW + timedelta(days=1461), globus) == NOW - timedelta(seconds=1)
    assert compute_observed_at(NOW - timedelta(days=30), globus) == NOW - timedelta(days=30)
    unread = (ServerClock("group g", None, "garbage"),)
    assert compute_observed_at(NOW, unread) == NOW
    assert compute_observed_at(NOW, ()) == NOW
