"""The console's routes, on plain requests: what each answers and what it changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.daemon.console import Console
from reconciler.daemon.observing import Observatory
from reconciler.daemon.serving import Request
from reconciler.daemon.suspending import Suspension
from reconciler.daemon.triggers import Inbox
from tests.unit.daemon.fakes import FakeClock

LOCAL = {"host": "127.0.0.1:9464", "content-type": "application/json"}


def call(
    console: Console,
    method: str,
    path: str,
    body: bytes = b"{}",
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes, dict[str, str]]:
    reply = console(Request(method, path, "", headers or LOCAL, body, "127.0.0.1", "127.0.0.1"))
    return reply.status, reply.body, dict(reply.headers)


@pytest.fixture
def parts(tmp_path: Path) -> tuple[Console, Suspension, Inbox]:
    clock = FakeClock()
    suspension = Suspension(tmp_path / "state" / "suspended")
    observatory = Observatory(clock=clock, suspension=suspension)
    inbox = Inbox()
    return (
        Console(observatory=observatory, suspension=suspension, inbox=inbox, clock=clock),
        suspension,
        inbox,
    )


def test_suspend_resume_and_reconcile(parts: tuple[Console, Suspension, Inbox]) -> None:
    console, suspension, inbox = parts
    status, body, _ = call(console, "POST", "/api/suspend")
    assert status == 200
    assert suspension.flag_file is not None
    assert "reconciler daemon suspend" in suspension.flag_file.read_text()
    assert json.loads(body)["suspended"].startswith("the flag file")
    assert inbox.drain() == {"suspend"}
    status, body, _ = call(console, "POST", "/api/reconcile")
    assert status == 409
    assert b"resume it first" in body
    assert inbox.drain() == frozenset()

    suspension.suspend()  # a SIGUSR1 hold too: resume lifts both
    status, body, _ = call(console, "POST", "/api/resume")
    assert (status, json.loads(body)) == (200, {"suspended": None})
    assert not suspension.flag_file.exists()
    assert inbox.drain() == {"resume"}
    status, body, _ = call(console, "POST", "/api/reconcile")
    assert (status, json.loads(body)) == (202, {"requested": True, "after_pass": 0})
    assert inbox.drain() == {"request"}


def test_pages_errors_and_methods(parts: tuple[Console, Suspension, Inbox]) -> None:
    console, _suspension, inbox = parts
    status, body, headers = call(console, "GET", "/", b"")
    assert status == 200
    assert b"<h1>reconciler</h1>" in body
    assert "script-src" not in headers["Content-Security-Policy"]
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    status, body, _ = call(console, "GET", "/api/status", b"")
    assert status == 200
    assert json.loads(body)["passes"] == []
    assert call(console, "GET", "/nothing", b"")[0] == 404
    assert call(console, "GET", "/api/reconcile", b"")[0] == 405
    assert call(console, "POST", "/", b"{}")[0] == 405
    assert call(console, "POST", "/api/reconcile", b"not json")[0] == 400
    assert call(console, "POST", "/api/reconcile", b"[1]")[0] == 400
    deep = b"[" * 60_000  # within the 64 KiB body limit, beyond the decoder's recursion
    assert call(console, "POST", "/api/reconcile", deep)[0] == 400
    assert inbox.drain() == frozenset()  # none of these changed anything
