"""The audit journal for people (a table) and machines (JSON)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from reconciler.rendering.describing import format_time
from reconciler.state import JournalEntry


def render_history_text(entries: Sequence[JournalEntry]) -> str:
    if not entries:
        return "No journal entries match."
    lines = []
    for e in entries:
        status = "" if e.status == "done" else f" [{e.status.upper()}]"
        lines.append(f"{format_time(e.at)}  {e.event:<18} {e.where}  {e.principal}{status}")
        lines.append(f"    because {e.reason}" + (f" ({e.detail})" if e.detail else ""))
    lines.append(f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}.")
    return "\n".join(lines)


def render_history_json(entries: Sequence[JournalEntry]) -> str:
    docs = [
        {
            "at": e.at.isoformat(),
            "event": e.event,
            "where": e.where,
            "principal": e.principal,
            "reason": e.reason,
            "detail": e.detail,
            "pass_id": e.pass_id,
            "status": e.status,
        }
        for e in entries
    ]
    return json.dumps({"entries": docs}, indent=2) + "\n"
