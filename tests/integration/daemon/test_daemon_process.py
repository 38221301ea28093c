"""``reconciler run`` as a real process: SIGTERM in the middle of a pass lets the actions
in flight finish, starts no new one, tells systemd STOPPING=1 and exits 0."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[str, socket.socket]]:
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(10)
    yield path, sock
    sock.close()


def run_until_first_rule_then_sigterm(
    command: list[str], *, env: dict[str, str], cwd: Path
) -> tuple[int, list[dict[str, Any]], str]:
    """Start ``command``, send SIGTERM once its log shows a rule created, and return
    the exit code, every JSON log event and stderr."""
    stderr_path = cwd / "stderr.log"
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True
        )
    lines: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (line := process.stdout.readline()):
            lines.append(line)
            event = json.loads(line)
            if event["event"] == "action_done" and event["kind"] == "create_rule":
                process.send_signal(signal.SIGTERM)
                break
        # Read on through the same buffered stream (communicate() would skip what
        # readline has already buffered).
        lines += process.stdout.readlines()
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
    return process.returncode, [json.loads(x) for x in lines], stderr_path.read_text()


def read_all(sock: socket.socket) -> list[str]:
    """Every datagram the (exited) process sent."""
    sock.settimeout(0.2)
    messages = []
    try:
        while True:
            messages.append(sock.recv(4096).decode())
    except TimeoutError:
        return messages


def test_sigterm_mid_pass_finishes_actions_in_flight_and_exits_cleanly(
    kit: Any,
    globus_env: dict[str, str],
    tmp_path: Path,
    notify_socket: tuple[str, socket.socket],
) -> None:
    specs = tmp_path / "specs"
    kit.write_specs(specs, {f"user{i:02}": kit.later for i in range(20)})
    # Slow rule creation down so that SIGTERM lands in the middle of the pass.
    kit.sandbox.control.inject_fault(path=r"/access$", method="POST", latency_ms=300)
    env = {
        **os.environ,
        **globus_env,
        "NOTIFY_SOCKET": notify_socket[0],
        "RECONCILER_STATE_DIR": str(tmp_path / "state"),
    }
    command = [sys.executable, "-m", "reconciler", "run", "--sandbox", str(specs)]
    command += ["--metrics-address", "", "--concurrency", "2", "--resync", "3600"]

    code, events, err = run_until_first_rule_then_sigterm(command, env=env, cwd=tmp_path)

    assert code == 0, err
    for e in events:
        print(e.get("timestamp"), e["event"], e.get("kind"), e.get("detail"))
    names = [e["event"] for e in events]
    assert "stop_requested" in names
    assert names[-1] == "daemon_stopped"
    assert all(e["level"] != "error" or e["event"] == "pass_failed" for e in events), err
    skipped = [e for e in events if e["event"] == "action_skipped"]
    assert skipped
    assert all(e["detail"] == "skipped: stopping" for e in skipped)
    created = [e for e in events if e["event"] == "action_done" and e["kind"] == "create_rule"]
    # Every action that started finished (no rule without its event); none started after.
    assert len(kit.rules()) == len(created), "\n".join(map(str, events))
    assert 1 <= len(created) < 20
    ends = [e for e in events if e["event"] in ("pass_finished", "pass_failed")]
    assert ends[-1]["stopping"] is True
    assert len({e["pass_id"] for e in events if "pass_id" in e}) == 1
    messages = read_all(notify_socket[1])
    assert messages[0].startswith("STOPPING=1")  # at once, while actions were in flight
    assert not any("READY=1" in m for m in messages)  # the first pass never completed
    assert "pass failed" in messages[-2]  # its summary, as STATUS=
    assert messages[-1].startswith("STOPPING=1")
