"""Who may read the console and who may change anything, as a table of requests."""

from __future__ import annotations

import pytest

from reconciler.daemon.access import (
    compute_control_refusal,
    compute_host_name,
    compute_read_refusal,
    is_loopback,
)

JSON = {"content-type": "application/json", "host": "127.0.0.1:9464"}


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.8.9.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("::ffff:127.0.0.1", True),
        ("0.0.0.0", False),
        ("::", False),
        ("", False),
        ("10.0.0.5", False),
        ("evil.example", False),
        ("localhost.evil.example", False),
    ],
)
def test_loopback(host: str, expected: bool) -> None:
    assert is_loopback(host) is expected


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("127.0.0.1:9464", "127.0.0.1"),
        ("[::1]:9464", "::1"),
        ("localhost", "localhost"),
        ("evil.example:9464", "evil.example"),
    ],
)
def test_host_names(header: str, name: str) -> None:
    assert compute_host_name(header) == name


@pytest.mark.parametrize(
    ("headers", "peer", "server", "token", "status"),
    [
        # loopback daemon, no token: a local client may
        (JSON, "127.0.0.1", "127.0.0.1", None, None),
        ({**JSON, "origin": "http://127.0.0.1:9464"}, "127.0.0.1", "127.0.0.1", None, None),
        ({**JSON, "sec-fetch-site": "same-origin"}, "127.0.0.1", "127.0.0.1", None, None),
        # not JSON: what a cross-site form or a simple fetch would send
        ({**JSON, "content-type": "text/plain"}, "127.0.0.1", "127.0.0.1", None, 415),
        ({"host": "127.0.0.1:9464"}, "127.0.0.1", "127.0.0.1", None, 415),
        # a foreign origin, or a browser saying cross-site
        ({**JSON, "origin": "http://evil.example"}, "127.0.0.1", "127.0.0.1", None, 403),
        ({**JSON, "origin": "null"}, "127.0.0.1", "127.0.0.1", None, 403),
        ({**JSON, "sec-fetch-site": "cross-site"}, "127.0.0.1", "127.0.0.1", None, 403),
        # DNS rebinding: a foreign name resolved to loopback
        (
            {**JSON, "host": "evil.example:9464", "origin": "http://evil.example:9464"},
            "127.0.0.1",
            "127.0.0.1",
            None,
            421,
        ),
        # a daemon listening on every interface needs a token
        (JSON, "127.0.0.1", "0.0.0.0", None, 403),
        (JSON, "10.1.2.3", "::", None, 403),
        # with a token: required, wherever the daemon listens
        ({**JSON, "authorization": "Bearer s3cret"}, "10.1.2.3", "0.0.0.0", "s3cret", None),
        ({**JSON, "authorization": "bearer s3cret"}, "10.1.2.3", "0.0.0.0", "s3cret", None),
        ({**JSON, "authorization": "Bearer wrong"}, "10.1.2.3", "0.0.0.0", "s3cret", 401),
        (JSON, "127.0.0.1", "127.0.0.1", "s3cret", 401),
        ({**JSON, "authorization": "Basic s3cret"}, "127.0.0.1", "127.0.0.1", "s3cret", 401),
        (
            {**JSON, "authorization": "Bearer s3cret", "origin": "http://evil.example"},
            "10.1.2.3",
            "0.0.0.0",
            "s3cret",
            403,
        ),
    ],
)
def test_control_policy(
    headers: dict[str, str], peer: str, server: str, token: str | None, status: int | None
) -> None:
    refusal = compute_control_refusal(headers, peer=peer, server_host=server, token=token)
    assert (refusal.status if refusal else None) == status
    if refusal is not None:
        assert refusal.message  # one sentence saying why
        assert "s3cret" not in refusal.message


def test_reading_is_refused_only_through_a_foreign_name_on_a_loopback_daemon() -> None:
    assert compute_read_refusal({"host": "localhost:9464"}, server_host="127.0.0.1") is None
    assert compute_read_refusal({"host": "evil.example"}, server_host="127.0.0.1") is not None
    assert compute_read_refusal({}, server_host="127.0.0.1") is not None
    assert compute_read_refusal({"host": "monitor.example"}, server_host="0.0.0.0") is None
