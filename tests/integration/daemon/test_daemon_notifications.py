"""Notifications from a real daemon on the sandbox to a real local HTTP receiver: a
blocked plan (the deletion guard trips) posts one event, and recovery posts another."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from reconciler.daemon.triggers import SPEC_CHANGE

LATER = datetime.now(UTC) + timedelta(days=30)


class Receiver:
    """A webhook endpoint on 127.0.0.1 that keeps every JSON body it is sent."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                received.append(
                    {
                        "body": json.loads(self.rfile.read(length)),
                        "path": self.path,
                        "type": self.headers["Content-Type"],
                    }
                )
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/T0/B0/s3cr3t"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self) -> list[str]:
        return [r["body"]["event"] for r in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.close()


def test_a_blocked_plan_posts_an_event_and_recovery_another(
    kit: Any, start_daemon: Any, events: Any, receiver: Receiver, tmp_path: Path
) -> None:
    specs = tmp_path / "specs"
    users = [f"user{i}" for i in range(8)]
    kit.write_specs(specs, dict.fromkeys(users, LATER))
    running = start_daemon(specs, notify_webhooks=(receiver.url,))
    kit.wait_for(lambda: len(kit.rules()) == 8)
    kit.wait_for(events.finished)
    assert receiver.received == []  # a first successful pass announces nothing

    kit.write_specs(specs, {"user0": LATER})  # as if seven grants were deleted by mistake
    running.daemon.inbox.post(SPEC_CHANGE)
    kit.wait_for(lambda: receiver.received)
    (blocked,) = receiver.received
    assert blocked["path"] == "/hooks/T0/B0/s3cr3t"
    assert blocked["type"] == "application/json"
    body = blocked["body"]
    assert body["event"] == "blocked"
    assert body["severity"] == "error"
    assert body["text"].startswith("[error] reconciler on ")
    assert "a pass was blocked: nothing was applied" in body["text"]
    assert any("deletion guard" in d for d in body["details"])
    assert body["pass_id"] == events.named("plan_blocked")[0]["pass_id"]
    assert len(kit.rules()) == 8  # nothing was applied

    kit.write_specs(specs, dict.fromkeys(users, LATER))  # the mistake is undone
    running.daemon.inbox.post(SPEC_CHANGE)
    kit.wait_for(lambda: len(receiver.received) == 2)
    assert receiver.events() == ["blocked", "recovered"]
    assert running.stop() == 0
    queued = events.named("notification_queued")
    assert [e["kind"] for e in queued] == ["blocked", "recovered"]
    # the URL's secret path is never logged
    assert all("s3cr3t" not in repr(e) for e in events.entries)
