"""The only checks that depend on *now*: expiries already past, and duration caps.

Everything else a spec set is checked for depends on its files alone, so a cached
result stays right as time passes, except for these two rules:

- an expiry at or before now is a warning (the grant or membership is treated as
  absent);
- an expiry later than now + ``max_duration`` (the collection's for grants, the group's
  for memberships) is an error.

``checking`` records one ``ExpiryCheck`` per grant and membership instead of judging
it; ``compute_expiry_diagnostics`` judges them all at a given now. Both rules flip only
when now crosses an *expiry* or an *expiry - cap*, so the answer carries the interval of
instants over which it stays the same (``holds_at``), which lets a cache reuse it with a
comparison instead of a loop. Pure.
"""

from __future__ import annotations

import bisect
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from reconciler.core.intent import Origin
from reconciler.spec.diagnostics import Diagnostic
from reconciler.spec.timeparse import format_instant
from reconciler.spec.validating import Where


class ExpiryCheck(NamedTuple):
    """One expiry to judge at now, written at ``place`` (its ``expires`` key); ``cap`` is
    the parsed ``max_duration`` (as written in ``max_duration``) of ``owner``
    (``collection `x```), when there is one. (A named tuple: one is made per grant.)"""

    expires: datetime
    place: Where
    cap: timedelta | None = None
    max_duration: str = ""
    owner: str = ""

    @property
    def at(self) -> Origin:
        return self.place.at("expires")


@dataclass(frozen=True, slots=True)
class ExpiryDiagnostics:
    """The now-dependent diagnostics at some now, and the instants ``[since, until)``
    over which they are exactly the same (``None``: unbounded on that side)."""

    diagnostics: tuple[Diagnostic, ...]
    since: datetime | None
    until: datetime | None
    reusable: bool
    """False when a message names an instant computed from now (a cap error)."""

    def holds_at(self, now: datetime) -> bool:
        return (
            self.reusable
            and (self.since is None or self.since <= now)
            and (self.until is None or now < self.until)
        )


def compute_thresholds(checks: Sequence[ExpiryCheck]) -> tuple[datetime, ...]:
    """The sorted instants at which some check changes its answer."""
    found: set[datetime] = set()
    for check in checks:
        found.add(check.expires)
        if check.cap is not None:
            # Before year 1 (OverflowError), the cap can never be exceeded.
            with contextlib.suppress(OverflowError):
                found.add(check.expires - check.cap)
    return tuple(sorted(found))


def compute_expiry_diagnostics(
    checks: Sequence[ExpiryCheck], thresholds: Sequence[datetime], now: datetime
) -> ExpiryDiagnostics:
    """Judge every check at ``now``; ``thresholds`` is ``compute_thresholds(checks)``."""
    diagnostics: list[Diagnostic] = []
    reusable = True
    for check in checks:
        if check.expires <= now:
            at = check.at
            diagnostics.append(
                Diagnostic(
                    at.file,
                    at.line,
                    at.col,
                    "warning",
                    f"expired at {format_instant(check.expires)}, so it is treated as absent",
                    "remove the entry, or move `expires` later to grant it again",
                )
            )
        if check.cap is None:
            continue
        try:
            latest = now + check.cap
        except OverflowError:  # a `now` near year 9999: no expiry can be later than the cap
            continue
        if check.expires > latest:
            reusable = False
            at = check.at
            diagnostics.append(
                Diagnostic(
                    at.file,
                    at.line,
                    at.col,
                    "error",
                    f"expires {format_instant(check.expires)}, later than {check.owner} "
                    f"allows: its max_duration {check.max_duration} means no later than "
                    # Whole seconds, rounded down: an instant one can write, and allowed.
                    f"{format_instant(latest.replace(microsecond=0))}",
                    "choose an earlier `expires` (the cap counts from now), or raise "
                    "`max_duration`",
                )
            )
    # Every rule flips exactly at a threshold t (`t <= now` either way), so the answer is
    # the same for every now in [the last threshold <= now, the first one > now).
    index = bisect.bisect_right(thresholds, now)
    return ExpiryDiagnostics(
        diagnostics=tuple(diagnostics),
        since=thresholds[index - 1] if index > 0 else None,
        until=thresholds[index] if index < len(thresholds) else None,
        reusable=reusable,
    )
