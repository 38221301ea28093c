"""The stable JSON form of a plan (``format_version`` 1): rendering and reading back.

Documented in docs/plan-json.md. ``reconciler apply --plan FILE`` reads it back and
refuses it when the live state's fingerprint has changed since it was written. A file
holding a control character (other than a newline or a tab) anywhere is not a plan:
nothing Globus or a valid spec set holds has one, and ``show-plan`` would print it to a
terminal, where an escape sequence can rewrite or hide the lines a reviewer reads.
"""

from __future__ import annotations

import json
import re
from dataclasses import MISSING, fields
from datetime import datetime
from typing import Any

from reconciler.core.actions import (
    Action,
    AddMember,
    CancelRemoval,
    CreateRule,
    DeleteRule,
    MakeDirectory,
    Principal,
    RemoveDirectory,
    RemoveMember,
    ScheduleRemoval,
    StageData,
    UpdateRule,
)
from reconciler.core.intent import Origin
from reconciler.core.lifecycle import LocatedError
from reconciler.core.plan import GuardVerdict, PendingRemoval, Plan, Problem
from reconciler.errors import ReconcilerError

FORMAT_VERSION = 1
ACTION_TYPES: dict[str, type[Action]] = {
    t.kind: t
    for t in (
        ScheduleRemoval,
        CancelRemoval,
        MakeDirectory,
        StageData,
        CreateRule,
        UpdateRule,
        DeleteRule,
        RemoveDirectory,
        AddMember,
        RemoveMember,
    )
}


class PlanFileError(ReconcilerError):
    """A saved plan that cannot be read back."""


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _require_printable(value: object, where: str = "plan") -> None:
    """Refuse a control character in any string of ``value`` (keys included)."""
    if isinstance(value, str):
        found = _CONTROL.search(value)
        if found:
            raise PlanFileError(
                f"not a reconciler plan file: control character U+{ord(found.group()):04X} "
                f"in {where}"
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            _require_printable(key, where)
            _require_printable(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _require_printable(item, f"{where}[{index}]")


def _encode(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Principal):
        return {"type": value.type, "id": value.id, "label": value.label}
    if isinstance(value, Origin):
        return str(value)
    return value


def action_to_json(action: Action) -> dict[str, object]:
    doc: dict[str, object] = {"kind": action.kind}
    for f in fields(action):
        doc[f.name] = _encode(getattr(action, f.name))
    return doc


def plan_to_json(plan: Plan) -> dict[str, object]:
    return {
        "format_version": FORMAT_VERSION,
        "now": plan.now.isoformat(),
        "live_fingerprint": plan.live_fingerprint,
        "blocked": plan.blocked,
        "summary": plan.counts(),
        "managed": {"rules": plan.managed_rules, "memberships": plan.managed_members},
        "next_expiry": plan.next_expiry.isoformat() if plan.next_expiry else None,
        "guard": {
            "pruned": plan.guard.pruned,
            "managed": plan.guard.managed,
            "tripped": plan.guard.tripped,
            "explanation": plan.guard.explanation,
            "tripped_by": list(plan.guard.tripped_by),
        },
        "problems": [
            {"message": p.message, "origin": str(p.origin) if p.origin else None, "hint": p.hint}
            for p in plan.problems
        ],
        "errors": [
            {"message": e.message, "origin": str(e.origin) if e.origin else None}
            for e in plan.errors
        ],
        "notes": list(plan.notes),
        "next_check": plan.next_check.isoformat() if plan.next_check else None,
        "scheduled_removals": [
            {
                "collection": p.collection,
                "collection_id": p.collection_id,
                "path": p.path,
                "due": p.due.isoformat(),
                "principal": _encode(p.principal),
            }
            for p in plan.pending_removals
        ],
        "actions": [action_to_json(a) for a in plan.actions],
        "targets": list(plan.targets),
    }


def render_plan_json(plan: Plan) -> str:
    return json.dumps(plan_to_json(plan), indent=2) + "\n"


def _origin(text: object) -> Origin | None:
    if not isinstance(text, str):
        return None
    file, line, col = text.rsplit(":", 2)
    return Origin(file, int(line), int(col))


def _decode_action(doc: dict[str, Any]) -> Action:
    cls = ACTION_TYPES[doc["kind"]]
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        # A field added after a plan was saved takes its default.
        value: Any = doc.get(f.name) if f.name in doc or f.default is MISSING else f.default
        if f.name == "principal":
            value = _principal(value)
        elif f.name == "origin":
            value = _origin(value)
        elif f.name in ("expires", "old_expires", "due", "since") and value is not None:
            value = datetime.fromisoformat(value)
        kwargs[f.name] = value
    return cls(**kwargs)


def _principal(value: Any) -> Principal | None:
    if value is None:
        return None
    return Principal(value["type"], value["id"], value.get("label", ""))


def _pending(doc: dict[str, Any]) -> PendingRemoval:
    return PendingRemoval(
        doc["collection"],
        doc["collection_id"],
        doc["path"],
        datetime.fromisoformat(doc["due"]),
        _principal(doc.get("principal")),
    )


def plan_from_json(text: str) -> Plan:
    """Read a plan written by ``render_plan_json``; raises PlanFileError when it is not one."""
    try:
        doc = json.loads(text)
        _require_printable(doc)
        if doc.get("format_version") != FORMAT_VERSION:
            raise PlanFileError(f"unsupported plan format_version {doc.get('format_version')!r}")
        guard = doc["guard"]
        return Plan(
            now=datetime.fromisoformat(doc["now"]),
            actions=tuple(_decode_action(a) for a in doc["actions"]),
            problems=tuple(
                Problem(p["message"], _origin(p.get("origin")), p.get("hint"))
                for p in doc["problems"]
            ),
            notes=tuple(doc.get("notes", ())),
            guard=GuardVerdict(
                guard["pruned"],
                guard["managed"],
                guard["tripped"],
                guard["explanation"],
                tuple(guard.get("tripped_by", ())),
            ),
            live_fingerprint=doc["live_fingerprint"],
            next_expiry=datetime.fromisoformat(doc["next_expiry"])
            if doc.get("next_expiry")
            else None,
            managed_rules=doc.get("managed", {}).get("rules", 0),
            managed_members=doc.get("managed", {}).get("memberships", 0),
            errors=tuple(
                LocatedError(e["message"], _origin(e.get("origin"))) for e in doc.get("errors", ())
            ),
            next_check=datetime.fromisoformat(doc["next_check"]) if doc.get("next_check") else None,
            pending_removals=tuple(_pending(p) for p in doc.get("scheduled_removals", ())),
            targets=tuple(str(t) for t in doc.get("targets") or ()),
        )
    except PlanFileError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise PlanFileError(f"not a reconciler plan file: {type(err).__name__}: {err}") from err
