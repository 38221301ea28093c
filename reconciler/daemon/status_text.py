"""``reconciler daemon status`` for people: a ``DaemonSnapshot`` as a few aligned lines.
Pure; the JSON form is ``snapshots.render_snapshot_json``."""

from __future__ import annotations

from datetime import datetime

from reconciler.daemon.snapshots import DaemonSnapshot
from reconciler.rendering.describing import format_time, time_left

EXPIRIES_SHOWN = 5
DIAGNOSTICS_SHOWN = 5


def _ago(then: datetime, now: datetime) -> str:
    text = time_left(now, then)  # the time from then until now
    return "just now" if text == "expired" else f"{text} ago"


def render_status_text(snapshot: DaemonSnapshot) -> str:
    s = snapshot
    lines = [
        f"daemon      {s.role}, " + (f"SUSPENDED: {s.suspended}" if s.suspended else "running")
    ]
    last = s.last_pass
    if last is None:
        lines.append("last pass   " + ("in progress (the first)" if s.in_pass else "none yet"))
    else:
        lines.append(
            f"last pass   {last.result} at {format_time(last.finished)} "
            f"({_ago(last.finished, s.now)}) in {last.duration:.1f}s: "
            f"{last.done} done, {last.failed} failed, {last.skipped} skipped"
        )
        if last.error:
            lines.append(f"            {last.error}")
        lines.extend(f"            grant error: {e}" for e in last.grant_errors)
    if s.in_pass and last is not None:
        lines.append("            a pass is running now")
    if s.next_wake is not None:
        due = "due now" if s.next_wake <= s.now else f"in {time_left(s.next_wake, s.now)}"
        lines.append(f"next wake   {format_time(s.next_wake)} ({s.next_wake_reason}; {due})")
    validity = {None: "not read yet", True: "valid"}.get(
        s.spec_valid, "INVALID: the last valid spec set stays in force"
    )
    lines.append(f"specs       {validity}")
    lines.extend(f"            {d}" for d in s.diagnostics[:DIAGNOSTICS_SHOWN])
    for problem in s.problems:
        where = f"{problem.location}: " if problem.location else ""
        lines.append(f"problem     {problem.kind}: {where}{problem.message}")
    if s.expiries:
        lines.append(f"expiries    {len(s.expiries)} upcoming; the next:")
        lines.extend(
            f"            {format_time(e.at)}  in {time_left(e.at, s.now):<8}  "
            f"{e.kind} {e.where}  {e.principal}"
            for e in s.expiries[:EXPIRIES_SHOWN]
        )
    else:
        lines.append("expiries    none upcoming" + ("" if s.planned_at else " (no plan yet)"))
    return "\n".join(lines)
