"""Webhook delivery: retried with backoff, never blocking the caller, bounded, and the
URL's secret never logged. The HTTP call is injected (``post``); a real local receiver is
used in tests/integration/daemon/test_daemon_notifications.py."""

from __future__ import annotations

import http.client
import threading
import time
from typing import Any

import pytest

from reconciler.daemon.webhooks import (
    QUEUE_SIZE,
    RetryPolicy,
    WebhookSender,
    check_webhook_url,
    compute_safe_url,
)

SECRET_URL = "https://hooks.example.com/services/T000/B000/XXXXsecretXXXX?token=abc"
FAST = RetryPolicy(attempts=4, base=0.001, cap=0.002)


class Receiver:
    """Answers with the scripted statuses in turn (an OSError for None), then 200."""

    def __init__(self, *script: int | None) -> None:
        self.script = list(script)
        self.calls: list[tuple[str, bytes]] = []
        self.delivered = threading.Event()

    def __call__(self, url: str, body: bytes, timeout: float) -> int:
        self.calls.append((url, body))
        status = self.script.pop(0) if self.script else 200
        if status is None:
            raise ConnectionRefusedError("refused")
        if status == 200:
            self.delivered.set()
        return status


def test_retries_network_errors_and_5xx_then_delivers(events: list[dict[str, Any]]) -> None:
    receiver = Receiver(None, 503, 429)
    sender = WebhookSender([SECRET_URL], post=receiver, retry=FAST)
    sender.start()
    sender.send({"text": "hello"})
    assert receiver.delivered.wait(5)
    sender.stop()
    assert len(receiver.calls) == 4
    assert all(body == b'{"text": "hello"}' for _url, body in receiver.calls)
    failures = [e for e in events if e["event"] == "webhook_failed"]
    assert [e["attempt"] for e in failures] == [1, 2, 3]
    assert failures[0]["error"].startswith("ConnectionRefusedError")
    assert failures[1]["error"] == "HTTP 503"


def test_gives_up_on_a_client_error_and_after_the_last_attempt(
    events: list[dict[str, Any]],
) -> None:
    receiver = Receiver(404, 500, 500, 500, 500)
    sender = WebhookSender([SECRET_URL], post=receiver, retry=FAST)
    sender.start()
    sender.send({"text": "one"})  # 404: no retry
    sender.send({"text": "two"})  # 500 four times: given up
    deadline = time.monotonic() + 5
    while len([e for e in events if e["event"] == "webhook_gave_up"]) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    sender.stop()
    assert len(receiver.calls) == 5
    gave_up = [e["attempts"] for e in events if e["event"] == "webhook_gave_up"]
    assert gave_up == [1, 4]


def test_send_never_blocks_and_drops_beyond_the_queue(events: list[dict[str, Any]]) -> None:
    gate = threading.Event()

    def stuck(url: str, body: bytes, timeout: float) -> int:
        gate.wait(5)
        return 200

    sender = WebhookSender([SECRET_URL], post=stuck, retry=FAST)
    sender.start()
    started = time.monotonic()
    for i in range(QUEUE_SIZE + 5):
        sender.send({"n": i})
    assert time.monotonic() - started < 1.0
    dropped = [e for e in events if e["event"] == "webhook_dropped"]
    assert 4 <= len(dropped) <= 5  # the sender thread may have taken one already
    gate.set()
    sender.stop()


def test_the_secret_in_a_url_is_never_logged(events: list[dict[str, Any]]) -> None:
    receiver = Receiver(500, 500, 500, 500)
    sender = WebhookSender([SECRET_URL], post=receiver, retry=FAST)
    sender.start()
    sender.send({"text": "x"})
    deadline = time.monotonic() + 5
    while not any(e["event"] == "webhook_gave_up" for e in events):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    sender.stop()
    assert sender.targets == ["https://hooks.example.com/[REDACTED]"]
    assert events
    assert all("secret" not in repr(e) and "abc" not in repr(e) for e in events)


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        (SECRET_URL, "https://hooks.example.com/[REDACTED]"),
        ("http://user:pw@127.0.0.1:8080/hook", "http://127.0.0.1:8080/[REDACTED]"),
        ("http://[::1]:9000/", "http://[::1]:9000"),
        ("https://chat.example.org", "https://chat.example.org"),
    ],
)
def test_safe_urls(url: str, safe: str) -> None:
    assert compute_safe_url(url) == safe


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        (SECRET_URL, True),
        ("http://127.0.0.1:1/x", True),
        ("ftp://x/", False),
        ("hooks.example.com/x", False),
        ("http://x:99999/", False),
        ("https:///path", False),
        ("http://127.0.0.1:1/a b", False),  # http.client would refuse it at every event
        ("http://hooks.example.com/x\ny", False),
    ],
)
def test_webhook_urls_are_checked(url: str, ok: bool) -> None:
    assert (check_webhook_url(url) is None) is ok


def test_an_answer_that_is_not_http_is_retried_and_delivery_goes_on(
    events: list[dict[str, Any]],
) -> None:
    """``http.client`` raises ``HTTPException`` (not an ``OSError``) for a malformed
    answer; it is a failed attempt like any other, and never ends the delivery thread."""
    calls: list[bytes] = []
    delivered = threading.Event()

    def garbled_first(url: str, body: bytes, timeout: float) -> int:
        calls.append(body)
        if len(calls) == 1:
            raise http.client.BadStatusLine("SSH-2.0-OpenSSH_9.2")
        if len(calls) == 2:
            raise RuntimeError(f"a bug that quotes {url}")
        delivered.set()
        return 200

    sender = WebhookSender([SECRET_URL], post=garbled_first, retry=FAST)
    sender.start()
    sender.send({"text": "one"})  # a garbled answer, then a bug: given up
    sender.send({"text": "two"})  # still delivered by the same thread
    assert delivered.wait(5)
    sender.stop()
    assert calls == [b'{"text": "one"}', b'{"text": "one"}', b'{"text": "two"}']
    failed = next(e for e in events if e["event"] == "webhook_failed")
    assert failed["error"] == "BadStatusLine"
    gave_up = next(e for e in events if e["event"] == "webhook_gave_up")
    assert gave_up["error"] == "RuntimeError"
    assert all("secret" not in repr(e) for e in events)
