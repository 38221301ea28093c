"""Which notifications a pass raises, and their payload. Pure: computed from the pass
records, problems and expiries of the ``DaemonSnapshot`` and the previous ``AlertState``.

A problem is announced when it begins or changes, not at every pass (a daemon blocked
for a day would otherwise post every resync); ``recovered`` follows once a pass
succeeds with no problem left. Conditions, each one event:

- ``blocked``: the plan was refused (problems such as an unresolvable identity or a
  clock skew, or the deletion guard); nothing was applied;
- ``spec_invalid``: the spec set does not validate (the last valid one stays in force);
- ``failed``: the pass failed (Globus unreachable, failed actions); announced once per
  run of failures, whatever the error text of each retry;
- ``grant_errors``: grant-level errors (the rest of the pass converged);
- ``recovered``: a successful pass after any of these;
- ``expiry_digest``: at most once a day, the grants and memberships expiring within the
  warning window (sent only when there are some).

The payload is one JSON object that Slack and Mattermost incoming webhooks accept: they
show ``text`` and ignore the structured fields next to it, which other receivers read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from reconciler.daemon.snapshots import DaemonSnapshot, ExpiryRow
from reconciler.rendering.describing import format_time, time_left

DIGEST_PERIOD = timedelta(days=1)
DEFAULT_EXPIRY_WARNING = timedelta(days=7)
TEXT_DETAILS = 10
"""Details repeated in ``text``; the ``details`` field has them all (up to MAX_DETAILS)."""
MAX_DETAILS = 100


@dataclass(frozen=True, slots=True)
class AlertEvent:
    kind: str
    severity: str
    """``error``, ``warning`` or ``info``."""
    at: datetime
    summary: str
    details: tuple[str, ...] = ()
    pass_id: str | None = None


Condition = tuple[str, str]
"""(kind, what identifies it): a change of the second part is announced again."""


@dataclass(frozen=True, slots=True)
class AlertState:
    conditions: frozenset[Condition] = frozenset()
    last_digest: datetime | None = None


def _problem_lines(snapshot: DaemonSnapshot, kind: str) -> tuple[str, ...]:
    return tuple(
        (f"{p.location}: " if p.location else "") + p.message
        for p in snapshot.problems
        if p.kind == kind
    )


def compute_pass_alerts(
    state: AlertState, snapshot: DaemonSnapshot
) -> tuple[AlertState, tuple[AlertEvent, ...]]:
    """The events the last pass in ``snapshot`` raises, and the state to carry on."""
    last = snapshot.last_pass
    if last is None:
        return state, ()
    found: dict[Condition, AlertEvent] = {}

    def add(kind: str, key: str, severity: str, summary: str, details: Sequence[str]) -> None:
        found[(kind, key)] = AlertEvent(
            kind, severity, last.finished, summary, tuple(details)[:MAX_DETAILS], last.pass_id
        )

    if last.result == "blocked":
        details = _problem_lines(snapshot, "blocked") or ((last.error or "",))
        add(
            "blocked",
            "\n".join(details),
            "error",
            "a pass was blocked: nothing was applied",
            details,
        )
    if snapshot.spec_valid is False or last.result == "invalid_spec":
        details = snapshot.diagnostics or ((last.error or "",))
        add(
            "spec_invalid",
            "\n".join(details),
            "error",
            "the specs are invalid: the last valid spec set stays in force",
            details,
        )
    if last.result == "failed":
        add("failed", "", "error", f"a pass failed: {last.error or 'unknown error'}", ())
    if last.grant_errors:
        add(
            "grant_errors",
            "\n".join(last.grant_errors),
            "warning",
            f"{len(last.grant_errors)} grant-level error(s); the rest converged",
            last.grant_errors,
        )
    conditions = frozenset(found)
    events = [found[c] for c in sorted(conditions - state.conditions)]
    if state.conditions and not conditions and last.result == "success":
        events.append(
            AlertEvent(
                "recovered",
                "info",
                last.finished,
                "recovered: the last pass succeeded and Globus matches the specs",
                tuple(sorted({kind for kind, _ in state.conditions})),
                last.pass_id,
            )
        )
    return AlertState(conditions, state.last_digest), tuple(events)


def compute_digest(
    state: AlertState,
    expiries: Sequence[ExpiryRow],
    *,
    now: datetime,
    warning: timedelta = DEFAULT_EXPIRY_WARNING,
) -> tuple[AlertState, AlertEvent | None]:
    """Once a day (the first call, then a day after the last digest): the expiries
    within ``warning`` of ``now``, soonest first; no event when there are none."""
    if state.last_digest is not None and now - state.last_digest < DIGEST_PERIOD:
        return state, None
    soon = [e for e in expiries if now < e.at <= now + warning]
    new_state = AlertState(state.conditions, now)
    if not soon:
        return new_state, None
    details = tuple(
        f"{format_time(e.at)} (in {time_left(e.at, now)}): {e.kind} {e.where} for {e.principal}"
        for e in soon
    )
    days = warning / timedelta(days=1)
    window = f"{days:g} day{'s' if days != 1 else ''}"
    summary = f"{len(soon)} grant(s) or membership(s) expire within {window}"
    return new_state, AlertEvent("expiry_digest", "info", now, summary, details[:MAX_DETAILS])


def render_payload(event: AlertEvent, *, host: str, version: str) -> dict[str, object]:
    """The JSON body POSTed to each webhook."""
    lines = [f"[{event.severity}] reconciler on {host}: {event.summary}"]
    lines += [f"- {d}" for d in event.details[:TEXT_DETAILS]]
    if len(event.details) > TEXT_DETAILS:
        lines.append(f"... and {len(event.details) - TEXT_DETAILS} more")
    return {
        "text": "\n".join(lines),
        "event": event.kind,
        "severity": event.severity,
        "summary": event.summary,
        "details": list(event.details),
        "host": host,
        "pass_id": event.pass_id,
        "at": event.at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "version": version,
    }
