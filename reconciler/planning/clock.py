"""Trust no clock blindly: compare the planning instant with Globus's own clock.

Planning decides what has expired, and when a pruned grant's directory is due, from
``now``. A host clock running ahead (or a mistyped ``--now``) would revoke every grant
and delete every directory. So before anything is written, ``now`` is compared with the
HTTP ``Date`` of each access list and group Globus has just returned; beyond the limit,
or when Globus's clock cannot be read at all, the plan is blocked (fail closed: nothing
is written, neither grants nor deletions).

What a pass observes (a staging task failed, a grant was downloaded) is stamped with
``compute_observed_at``: never later than Globus's clock, so neither a preview as of a
future ``--now`` nor a host clock running ahead puts off a retry by years in the store.

Pure: the readings come in as values (``LiveState.clocks``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from reconciler.core.live import ServerClock
from reconciler.core.plan import Problem
from reconciler.planning.paths import format_span

DEFAULT_MAX_CLOCK_SKEW = timedelta(minutes=5)

_SKEW_HINT = (
    "correct this host's clock (is NTP running? `timedatectl status`); `--now` is only for "
    "`plan` previews and for the sandbox, whose clock `reconciler sandbox clock` moves"
)


def compute_clock_problems(
    now: datetime, clocks: Sequence[ServerClock], *, limit: timedelta
) -> tuple[Problem, ...]:
    """A blocking problem when Globus's clock is unknown or differs from ``now`` by more
    than ``limit``; none when every reading agrees (or nothing was read, so nothing can
    be written either)."""
    unreadable = next((c for c in clocks if c.at is None), None)
    if unreadable is not None:
        shown = "no Date header" if unreadable.raw is None else f"Date {unreadable.raw!r}"
        return (
            Problem(
                f"Globus's clock could not be read: its answer to the {unreadable.source} "
                f"carried {shown}, so the planning instant cannot be checked and nothing "
                "is written",
                hint="a proxy between this host and Globus may be dropping the Date header",
            ),
        )
    if not clocks:
        return ()
    worst = max(clocks, key=lambda c: abs(_skew(now, c)))
    skew = _skew(now, worst)
    if abs(skew) <= limit:
        return ()
    assert worst.at is not None
    direction = "ahead of" if skew > timedelta(0) else "behind"
    apart = format_span(abs(skew), units=2)
    return (
        Problem(
            f"the clock this plan uses ({_show(now)}) is {apart} {direction} "
            f"Globus's clock ({_show(worst.at)}, the Date of the {worst.source}), more than "
            f"--max-clock-skew {format_span(limit)}: nothing is written, as expiry and "
            "cleanup would be decided at the wrong time",
            hint=_SKEW_HINT,
        ),
    )


def compute_observed_at(now: datetime, clocks: Sequence[ServerClock]) -> datetime:
    """The instant to record observations at: ``now``, unless Globus's clock (the latest
    Date read) is behind it. A ``now`` behind Globus is kept: a retry due too early is
    harmless, one put off by a wrong clock withholds a grant."""
    told = [c.at for c in clocks if c.at is not None]
    return min(now, max(told)) if told else now


def _skew(now: datetime, clock: ServerClock) -> timedelta:
    return now - clock.at if clock.at is not None else timedelta(0)


def _show(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
