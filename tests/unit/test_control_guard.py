"""Who may use the sandbox control plane: a program on this host, not a web page."""

from __future__ import annotations

import pytest

from reconciler.sandbox.control_guard import compute_control_refusal

JSON = "application/json"


@pytest.mark.parametrize(
    ("method", "headers"),
    [
        ("POST", {"Host": "127.0.0.1:8765", "Content-Type": JSON}),
        ("POST", {"Host": "127.0.0.1:8765", "Content-Type": "application/json; charset=utf-8"}),
        ("DELETE", {"Host": "localhost:8765", "Content-Type": JSON}),
        ("POST", {"Host": "[::1]:8765", "Content-Type": JSON, "Origin": "http://[::1]:8765"}),
        (
            "POST",
            {"Host": "127.0.0.1:8765", "Content-Type": JSON, "Origin": "http://127.0.0.1:8765"},
        ),
        ("GET", {"Host": "127.0.0.1:8765"}),  # a read, e.g. urllib's health check
        ("GET", {"Host": "localhost"}),
    ],
)
def test_programs_on_this_host_are_served(method: str, headers: dict[str, str]) -> None:
    assert compute_control_refusal(method, headers) is None


@pytest.mark.parametrize(
    ("method", "headers", "why"),
    [
        ("POST", {"Host": "127.0.0.1:8765", "Content-Type": "text/plain"}, "application/json"),
        ("POST", {"Host": "127.0.0.1:8765"}, "application/json"),
        (
            "POST",
            {"Host": "127.0.0.1:8765", "Content-Type": "application/x-www-form-urlencoded"},
            "application/json",
        ),
        (
            "POST",
            {
                "Host": "127.0.0.1:8765",
                "Content-Type": "text/plain",
                "Origin": "https://evil.example",
            },
            "Origin",
        ),
        (
            "POST",
            {"Host": "127.0.0.1:8765", "Content-Type": JSON, "Origin": "https://evil.example"},
            "Origin",
        ),
        (
            "POST",
            {"Host": "127.0.0.1:8765", "Content-Type": JSON, "Origin": "http://127.0.0.1:9999"},
            "Origin",
        ),
        (
            "POST",
            {"Host": "127.0.0.1:8765", "Content-Type": JSON, "Origin": "http://localhost:8765"},
            "Origin",
        ),
        ("POST", {"Host": "127.0.0.1:8765", "Content-Type": JSON, "Origin": "null"}, "Origin"),
        ("GET", {"Host": "127.0.0.1:8765", "Origin": "https://evil.example"}, "Origin"),
        ("GET", {"Host": "evil.example:8765"}, "loopback host"),  # DNS rebinding
        ("GET", {}, "loopback host"),
    ],
)
def test_anything_a_web_page_could_send_is_refused(
    method: str, headers: dict[str, str], why: str
) -> None:
    refusal = compute_control_refusal(method, headers)
    assert refusal is not None
    assert why in refusal
