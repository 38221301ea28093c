"""Log output: JSON lines off a terminal, readable lines on one, secrets never shown."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
import structlog

from reconciler.logs import REDACTED, configure_logging, redact_text, redact_value


@pytest.fixture(autouse=True)
def _restore_structlog() -> Iterator[None]:
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)
    structlog.contextvars.clear_contextvars()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_json_lines_when_not_a_terminal_with_the_bound_pass_id() -> None:
    out = io.StringIO()
    configure_logging(stream=out)
    with structlog.contextvars.bound_contextvars(pass_id="abc123"):
        structlog.get_logger().info("action_done", kind="create_rule", path="/disthome/x/")
    line = json.loads(out.getvalue())
    assert line["event"] == "action_done"
    assert line["pass_id"] == "abc123"
    assert line["level"] == "info"
    assert line["path"] == "/disthome/x/"
    assert line["timestamp"].endswith("Z")


def test_readable_lines_on_a_terminal() -> None:
    out = Terminal()
    configure_logging(stream=out)
    structlog.get_logger().warning("plan_blocked", reasons=["too many deletions"])
    text = out.getvalue()
    assert "plan_blocked" in text
    assert "too many deletions" in text
    assert not text.lstrip().startswith("{")


def test_debug_is_filtered_at_info_level() -> None:
    out = io.StringIO()
    configure_logging(stream=out, level="info")
    structlog.get_logger().debug("noise")
    assert out.getvalue() == ""


def test_secrets_never_reach_the_output() -> None:
    out = io.StringIO()
    configure_logging(stream=out)
    structlog.get_logger().error(
        "pass_failed",
        client_secret="s3cr3t-value",
        headers={"Authorization": "Bearer abc.def.ghi", "Accept": "json"},
        error="auth 401: token rejected for Bearer eyJhbGciOi.x.y (client_secret=hunter2)",
        refresh_token="rt-123",
        attempts=[{"password": "pw"}],
    )
    text = out.getvalue()
    for secret in ("s3cr3t-value", "abc.def.ghi", "eyJhbGciOi", "hunter2", "rt-123", '"pw"'):
        assert secret not in text
    line = json.loads(text)
    assert line["client_secret"] == REDACTED
    assert line["headers"] == {"Authorization": REDACTED, "Accept": "json"}
    assert line["attempts"] == [{"password": REDACTED}]
    assert "auth 401" in line["error"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bearer abc123", f"Bearer {REDACTED}"),
        ("authorization: basic dXNlcjpwYXNz", f"authorization: basic {REDACTED}"),
        ("access_token=xyz&x=1", f"access_token={REDACTED}&x=1"),
        ('password: "p w" next', f"password: {REDACTED} next"),
        ("client_secret='a b'", f"client_secret={REDACTED}"),
        ("rule 42 created for alice", "rule 42 created for alice"),
    ],
)
def test_redact_text(text: str, expected: str) -> None:
    assert redact_text(text) == expected


def test_plain_values_pass_through() -> None:
    assert redact_value("count", 3) == 3
    assert redact_value("path", "/disthome/run42/") == "/disthome/run42/"
    assert redact_value("tokens", {"transfer": "x"}) == REDACTED
