"""Properties of the pure editing layer (no files): any notify text survives the trip
into YAML and back; any sequence of add, extend and revoke keeps the spec set valid and
says exactly what a simple model of the grants says."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.core.intent import Intent
from reconciler.editing.arguments import Expiry, Principal
from reconciler.editing.checking import compute_checked
from reconciler.editing.errors import EditRefused
from reconciler.editing.granting import (
    GrantRequest,
    compute_grant_addition,
    compute_grant_extension,
    compute_grant_revocation,
)
from reconciler.editing.proposals import Proposal
from reconciler.editing.workspace import Workspace
from reconciler.editing.yamltext import SpecText, compute_parsed
from reconciler.spec import compute_spec_set
from reconciler.spec.timeparse import format_instant

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
BASE = {
    "c.yaml": "collections:\n    c:   # odd indent\n"
    "        id: e56c36e4-1063-11e6-a747-22000bf2d559\n        root: /d/\n",
    "d.yaml": "distributions:\n- name: dist   # the one\n  collection: c\n"
    "  path: '/d/{identity_id}/'\n  grants: []   # empty at first\n",
}
USERS = ("ann@x.org", "ben@x.org", "cat@x.org")


def apply_pure(files: dict[str, str], compute: Callable[[Workspace], Proposal]) -> dict[str, str]:
    """``files`` after the edit ``compute`` decides on (or ``EditRefused``)."""
    specs = [SpecText(Path(name), name, text) for name, text in files.items()]
    parsed = tuple(compute_parsed(spec) for spec in specs)
    proposal = compute(Workspace(Path("specs"), parsed, NOW))
    checked = compute_checked(parsed, proposal, now=NOW)
    return {name: checked.texts.get(Path(name), text) for name, text in files.items()}


def intent_of(files: dict[str, str]) -> Intent:
    intent, diagnostics = compute_spec_set(
        [(name, text.encode()) for name, text in files.items()], now=NOW
    )
    assert intent is not None, diagnostics
    return intent


def expiry(days: int) -> Expiry:
    instant = NOW + timedelta(days=days)
    return Expiry(instant, format_instant(instant))


@settings(max_examples=60, deadline=None)
@given(message=st.text(min_size=1, max_size=80))
def test_any_notify_message_reads_back_unchanged(message: str) -> None:
    request = GrantRequest("dist", Principal("identity", USERS[0]), expiry(3), notify=message)
    try:
        files = apply_pure(dict(BASE), lambda ws: compute_grant_addition(ws, request))
    except EditRefused as refused:  # e.g. a message of blanks, or a character YAML forbids
        diagnostics = refused.diagnostics
        assert diagnostics
        return
    (grant,) = intent_of(files).grants
    assert grant.notify
    assert grant.notify_message == message
    assert files["c.yaml"] == BASE["c.yaml"]


Op = tuple[str, int, int]


@settings(max_examples=40, deadline=None)
@given(
    ops=st.lists(
        st.tuples(
            st.sampled_from(["add", "extend", "revoke"]),
            st.integers(0, len(USERS) - 1),
            st.integers(1, 400),
        ),
        max_size=8,
    )
)
def test_edits_agree_with_a_model(ops: list[Op]) -> None:
    files = dict(BASE)
    model: dict[str, datetime] = {}
    for kind, who, days in ops:
        user = USERS[who]
        principal = Principal("identity", user)
        when = expiry(days)

        def compute(
            ws: Workspace, kind: str = kind, when: Expiry = when, p: Principal = principal
        ) -> Proposal:
            if kind == "add":
                return compute_grant_addition(ws, GrantRequest("dist", p, when))
            if kind == "extend":
                return compute_grant_extension(ws, "dist", p, when)
            return compute_grant_revocation(ws, "dist", p)

        possible = (kind == "add") != (user in model)
        try:
            files = apply_pure(files, compute)
        except EditRefused:
            assert not possible
            continue
        assert possible
        if kind != "revoke":
            model[user] = when.instant
        elif model[user] > NOW:
            model[user] = NOW
    intent = intent_of(files)  # it keeps ended grants: planning treats them as absent
    assert {g.principal.value: g.expires for g in intent.grants} == model
    assert files["d.yaml"].startswith("distributions:\n- name: dist   # the one\n  collection: c\n")
    assert files["c.yaml"] == BASE["c.yaml"]
