"""``reconciler probe``'s JSON report: each behaviour observed, what the docs assume,
and whether they agree; then what cleaning up did. Pure."""

from __future__ import annotations

import json
from typing import Any

from reconciler.core.probe import ASSUMPTIONS, compute_agreement
from reconciler.probing import ProbeReport

FORMAT_VERSION = 1


def compute_disagreements(report: ProbeReport) -> list[str]:
    return [o.behaviour for o in report.observations if compute_agreement(o) is False]


def render_probe_json(report: ProbeReport) -> str:
    cleanup = report.cleanup
    doc: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "collection": report.collection_id,
        "scratch": report.scratch,
        "run_directory": report.run_directory,
        "principal": report.principal,
        "clock": "sandbox (moved, not waited for)" if report.simulated_clock else "real",
        "started": report.started.isoformat(),
        "finished": report.finished.isoformat(),
        "calls": report.calls,
        "stopped": report.stopped,
        "interrupted": report.interrupted,
        "behaviours": [
            {
                "behaviour": o.behaviour,
                "status": o.status,
                "summary": o.summary,
                "observed": dict(o.outcome),
                "assumed": ASSUMPTIONS[o.behaviour].text,
                "agrees": compute_agreement(o),
            }
            for o in report.observations
        ],
        "disagreements": compute_disagreements(report),
        "cleanup": {
            "complete": cleanup.complete,
            "rules_deleted": cleanup.rules_deleted,
            "rules_left": cleanup.rules_left,
            "directory": cleanup.directory,
            "delete_task": cleanup.delete_task,
            "delete_status": cleanup.delete_status,
            "directory_absent": cleanup.directory_absent,
            "rule_limit_restored": cleanup.rule_limit_restored,
            "errors": cleanup.errors,
        },
    }
    return json.dumps(doc, indent=2) + "\n"
