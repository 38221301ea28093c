"""When the daemon wakes next: resync with jitter, exact expiry, exponential backoff."""

from __future__ import annotations

from datetime import timedelta

import pytest

from reconciler.daemon.scheduling import (
    Schedule,
    Wake,
    compute_backoff,
    compute_next_wake,
    compute_timeout,
)
from tests.unit.daemon.fakes import T0

S = Schedule(resync=300.0, jitter=0.1, backoff_base=5.0, backoff_cap=300.0)


def at(seconds: float) -> object:
    return T0 + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("failures", "expected"),
    [(0, 0.0), (1, 5.0), (2, 10.0), (3, 20.0), (6, 160.0), (7, 300.0), (8, 300.0), (10_000, 300.0)],
)
def test_backoff_doubles_up_to_the_cap(failures: int, expected: float) -> None:
    assert compute_backoff(failures, base=5.0, cap=300.0) == expected


@pytest.mark.parametrize(
    ("jitter", "next_expiry", "failures", "expected"),
    [
        # plain resync, scaled by the jitter draw (+-10%)
        (0.0, None, 0, Wake(at(300), "resync")),
        (1.0, None, 0, Wake(at(330), "resync")),
        (-1.0, None, 0, Wake(at(270), "resync")),
        # an expiry before the resync wins, to the microsecond
        (0.0, at(42.000_001), 0, Wake(at(42.000_001), "expiry")),
        # an expiry after the resync does not delay the resync
        (0.0, at(3600), 0, Wake(at(300), "resync")),
        # an expiry already past (it fell due during the pass) means now-ish
        (0.0, at(-2), 0, Wake(at(-2), "expiry")),
        # a tie is reported as the expiry
        (0.0, at(300), 0, Wake(at(300), "expiry")),
        # after failures: the retry comes first...
        (0.0, None, 1, Wake(at(5), "retry")),
        (0.0, None, 3, Wake(at(20), "retry")),
        # ...unless an upcoming expiry comes sooner
        (0.0, at(3), 3, Wake(at(3), "expiry")),
        # an expiry already past is left to the retry, so a failing Globus is not
        # hammered in a hot loop
        (0.0, at(-10), 3, Wake(at(20), "retry")),
        # the backoff cap (300) never exceeds the resync with negative jitter
        (-1.0, None, 9, Wake(at(270), "resync")),
    ],
)
def test_next_wake(jitter: float, next_expiry: object, failures: int, expected: Wake) -> None:
    wake = compute_next_wake(
        last_pass=T0,
        schedule=S,
        jitter=jitter,
        next_expiry=next_expiry,  # type: ignore[arg-type]
        failures=failures,
    )
    assert wake == expected


def test_jitter_draw_outside_the_unit_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="jitter"):
        compute_next_wake(last_pass=T0, schedule=S, jitter=1.5, next_expiry=None, failures=0)


@pytest.mark.parametrize(
    "kwargs",
    [{"resync": 0.0}, {"backoff_base": -1.0}, {"backoff_cap": 0.0}, {"jitter": 1.0}],
)
def test_schedule_rejects_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        Schedule(**kwargs)


def test_timeout_counts_down_and_never_goes_negative() -> None:
    wake = Wake(at(10), "resync")
    assert compute_timeout(wake, T0) == 10.0
    assert compute_timeout(wake, T0 + timedelta(seconds=12)) == 0.0


def test_data_being_followed_wakes_the_loop_before_the_resync() -> None:
    last = T0
    check = last + timedelta(seconds=10)
    wake = compute_next_wake(
        last_pass=last,
        schedule=Schedule(),
        jitter=0.0,
        next_expiry=None,
        failures=0,
        next_check=check,
    )
    assert wake == Wake(check, "follow")
    # after a failure the retry backoff decides, not the follow-up
    wake = compute_next_wake(
        last_pass=last,
        schedule=Schedule(),
        jitter=0.0,
        next_expiry=None,
        failures=1,
        next_check=check,
    )
    assert wake.reason == "retry"
