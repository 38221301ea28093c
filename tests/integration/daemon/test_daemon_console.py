"""``reconciler daemon status|suspend|resume|reconcile`` against a real daemon on the
sandbox: status shows the last pass; suspend stops passes on spec edits; resume and
reconcile converge them; control needs JSON from the same origin (or the token); and
nothing the console serves leaks a secret."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from reconciler.cli import cli

LATER = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
SOONER = (datetime.now(UTC) + timedelta(days=5)).replace(microsecond=0)


def reconciler(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def request(
    url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_status_suspend_resume_and_reconcile_from_the_command_line(
    kit: Any, start_daemon: Any, events: Any, tmp_path: Path
) -> None:
    specs = tmp_path / "specs"
    kit.write_specs(specs, {"alice": SOONER})
    running = start_daemon(specs, watch=True, metrics_address="127.0.0.1:0")
    kit.wait_for(lambda: "/disthome/alice/" in kit.rules())
    address = running.daemon.server.url.removeprefix("http://")

    def after_a_pass() -> tuple[int, str] | None:
        code, out = reconciler("daemon", "status", "--address", address)
        return (code, out) if "last pass   success" in out else None

    code, out = kit.wait_for(after_a_pass)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "daemon      leader, running"
    assert "2 done, 0 failed, 0 skipped" in lines[1]  # her directory, then her rule
    assert "specs       valid" in out
    assert f"{SOONER:%Y-%m-%d %H:%M:%S}Z" in out  # the next expiry: alice's
    assert "rule petrel:/disthome/alice/  identity:alice@example.org" in out
    code, out = reconciler("daemon", "status", "--address", address, "--output", "json")
    document = json.loads(out)
    assert document["passes"][0]["result"] == "success"
    assert document["role"] == "leader"
    assert document["collections"][0]["grants"][0]["principal"] == "identity:alice@example.org"

    # Suspended: a spec edit runs no pass.
    code, out = reconciler("daemon", "suspend", "--address", address)
    assert code == 0, out
    assert (tmp_path / "suspended").exists()  # the same flag file an operator would use
    kit.wait_for(lambda: events.named("suspended"))
    started = len(events.named("pass_started"))
    kit.write_specs(specs, {"alice": SOONER, "bob": LATER})
    time.sleep(1.5)  # longer than the watcher's grouping of writes (at most 1 s)
    assert len(events.named("pass_started")) == started
    assert "/disthome/bob/" not in kit.rules()
    code, out = reconciler("daemon", "status", "--address", address)
    assert "SUSPENDED: the flag file" in out
    code, out = reconciler("daemon", "reconcile", "--address", address)
    assert code == 1
    assert "suspended" in out
    assert "resume it first" in out

    # Resumed, and a pass on request converges the edit.
    code, out = reconciler("daemon", "resume", "--address", address)
    assert (code, out) == (0, "resumed\n")
    assert not (tmp_path / "suspended").exists()
    code, out = reconciler("daemon", "reconcile", "--wait", "--address", address)
    assert code == 0, out
    assert ": success in " in out
    assert "/disthome/bob/" in kit.rules()
    assert any("request" in e["triggers"] for e in events.named("pass_started"))
    assert running.stop() == 0


def test_control_refuses_cross_site_requests_and_reads_leak_no_secret(
    kit: Any, start_daemon: Any, sandbox: Any, tmp_path: Path
) -> None:
    specs = tmp_path / "specs"
    kit.write_specs(specs, {"alice": LATER})
    running = start_daemon(specs, metrics_address="127.0.0.1:0")
    kit.wait_for(lambda: "/disthome/alice/" in kit.rules())
    kit.wait_for(lambda: running.daemon.observatory.load_snapshot().passes)
    url = running.daemon.server.url

    # A form or a simple cross-site fetch cannot send JSON, nor a same-origin Origin.
    status, body = request(url + "/api/suspend", data=b"{}", headers={"Content-Type": "text/plain"})
    assert status == 415
    status, body = request(
        url + "/api/suspend",
        data=b"{}",
        headers={"Content-Type": "application/json", "Origin": "http://evil.example"},
    )
    assert status == 403
    assert b"cross-site" in body
    status, _ = request(url + "/api/status", headers={"Host": "evil.example"})
    assert status == 421  # DNS rebinding
    status, _ = request(url + "/api/suspend")
    assert status == 405  # GET changes nothing
    assert running.daemon.suspension.fetch_reason() is None

    pages = [request(url + path)[1] for path in ("/", "/api/status", "/metrics")]
    assert b"alice@example.org" in pages[0]
    for page in pages:
        assert sandbox.client_secret.encode() not in page
        assert b"Bearer" not in page
    assert running.stop() == 0


def test_a_control_token_is_required_when_configured(
    kit: Any, start_daemon: Any, tmp_path: Path
) -> None:
    specs = tmp_path / "specs"
    kit.write_specs(specs, {"alice": LATER})
    running = start_daemon(specs, metrics_address="127.0.0.1:0", control_token="s3cret-token")
    kit.wait_for(lambda: running.daemon.server)
    address = running.daemon.server.url.removeprefix("http://")
    code, out = reconciler("daemon", "suspend", "--address", address)
    assert code == 1
    assert "bearer token" in out
    assert running.daemon.suspension.fetch_reason() is None
    token_file = tmp_path / "token"
    token_file.write_text("s3cret-token\n")
    code, out = reconciler(
        "daemon", "suspend", "--address", address, "--control-token-file", str(token_file)
    )
    assert code == 0, out
    assert running.daemon.suspension.fetch_reason() is not None
    code, out = reconciler("daemon", "status", "--address", address, "--output", "json")
    assert "s3cret-token" not in out
    assert running.stop() == 0


def test_an_unreachable_daemon_is_one_line_not_a_traceback() -> None:
    code, out = reconciler("daemon", "status", "--address", "127.0.0.1:1")
    assert code == 1
    assert out.startswith("error: no daemon answers at http://127.0.0.1:1")
    assert "Traceback" not in out
