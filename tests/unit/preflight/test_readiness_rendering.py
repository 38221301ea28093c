"""The doctor's report as text (one line per check, remedy at its end) and as JSON."""

from __future__ import annotations

import json

from reconciler.core.readiness import Check
from reconciler.rendering.readiness import render_checks_json, render_checks_text

CHECKS = (
    Check("credentials", "c@clients.auth.globus.org", "ok", "issued", "never shown"),
    Check("collection_role", "collection t (x)", "fail", "lacks access_manager", "add it"),
    Check("collection_role", "collection u (y)", "warn", "not reported", "check it"),
)


def test_text_has_one_line_per_check_and_a_verdict() -> None:
    assert render_checks_text(CHECKS).splitlines() == [
        "  ok  credentials               c@clients.auth.globus.org: issued",
        "FAIL  collection_role           collection t (x): lacks access_manager -> add it",
        "WARN  collection_role           collection u (y): not reported -> check it",
        "NOT ready: 3 checks, 1 failed, 1 warnings",
    ]


def test_json_lists_every_check() -> None:
    doc = json.loads(render_checks_json(CHECKS))
    assert doc["ok"] is False
    assert [(c["status"], c["remedy"]) for c in doc["checks"]] == [
        ("ok", "never shown"),
        ("fail", "add it"),
        ("warn", "check it"),
    ]
    assert json.loads(render_checks_json(CHECKS[:1]))["ok"] is True
