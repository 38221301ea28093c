"""The daemon process wiring, on real signals and a real notify socket. The specs are
invalid on purpose, so passes never reach Globus and the test needs no sandbox."""

from __future__ import annotations

import os
import signal
import socket
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.core.intent import Intent
from reconciler.credentials import ClientCredentials
from reconciler.daemon.notifying import SystemdNotifier
from reconciler.daemon.passes import PassSettings
from reconciler.daemon.scheduling import Schedule
from reconciler.daemon.service import Daemon, DaemonConfig
from reconciler.globus.connecting import GlobusClients, connect
from reconciler.state import StateStore, open_store


class OfflineTarget:
    """Real (unused) clients and store: with invalid specs a pass stops before any
    Globus call."""

    def __init__(self, state_db: Path) -> None:
        self.clients: GlobusClients = connect(ClientCredentials("client", "secret"))
        self.store: StateStore = open_store(state_db)
        self.seeded: list[Intent] = []

    def close(self) -> None:
        self.clients.close()
        self.store.close()

    def seed(self, intent: Intent) -> None:
        self.seeded.append(intent)


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[str, socket.socket]]:
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(10)
    yield path, sock
    sock.close()


def receive(sock: socket.socket) -> dict[str, str]:
    data = sock.recv(4096).decode()
    return dict(line.split("=", 1) for line in data.split("\n"))


def test_signals_drive_the_daemon_and_systemd_hears_about_it(
    tmp_path: Path, notify_socket: tuple[str, socket.socket], events: list[dict[str, Any]]
) -> None:
    path, sock = notify_socket
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "bad.yaml").write_text("collections: [this is not a mapping\n")
    target = OfflineTarget(tmp_path / "state.db")
    daemon = Daemon(
        DaemonConfig(
            settings=PassSettings(paths=(specs,)),
            schedule=Schedule(resync=3600.0),
            suspend_file=tmp_path / "suspended",
            metrics_address="127.0.0.1:0",
            watch=False,
        ),
        target,
        notifier=SystemdNotifier(path),
        environ={"WATCHDOG_USEC": "40000", "WATCHDOG_PID": str(os.getpid())},
    )
    received: list[dict[str, str]] = []
    metrics_text: list[str] = []

    def until(predicate: Any) -> dict[str, str]:
        while True:
            message = receive(sock)
            received.append(message)
            if predicate(message):
                return message

    def operator() -> None:
        try:
            ready = until(lambda m: m.get("READY") == "1")
            assert "invalid_spec" in ready["STATUS"]
            until(lambda m: m.get("WATCHDOG") == "1")
            os.kill(os.getpid(), signal.SIGHUP)
            until(lambda m: "STATUS" in m and "invalid_spec" in m["STATUS"])
            os.kill(os.getpid(), signal.SIGUSR1)
            until(lambda m: "suspended" in m.get("STATUS", ""))
            os.kill(os.getpid(), signal.SIGUSR2)
            until(lambda m: "invalid_spec" in m.get("STATUS", ""))
            assert daemon.server is not None
            with urllib.request.urlopen(daemon.server.url + "/metrics", timeout=5) as response:
                metrics_text.append(response.read().decode())
        finally:
            os.kill(os.getpid(), signal.SIGTERM)

    previous = signal.getsignal(signal.SIGTERM)
    helper = threading.Thread(target=operator)
    helper.start()
    assert daemon.run() == 0
    helper.join(timeout=10)
    assert signal.getsignal(signal.SIGTERM) is previous  # handlers restored
    until(lambda m: m.get("STOPPING") == "1")
    target.close()

    names = [e["event"] for e in events]
    assert names.count("pass_started") == 3  # start, SIGHUP, resume: never while suspended
    assert names.count("spec_invalid") == 3
    assert "stop_requested" in names
    assert names[-1] == "daemon_stopped"
    invalid = next(e for e in events if e["event"] == "spec_invalid")
    assert invalid["diagnostics"][0].startswith(f"{specs / 'bad.yaml'}:")
    assert target.seeded == []  # no valid intent ever: nothing seeded, nothing planned
    text = metrics_text[0]
    assert 'reconciler_passes_total{result="invalid_spec"} 3.0' in text
    assert 'reconciler_passes_total{result="suspended"} 1.0' in text
    assert "reconciler_spec_valid 0.0" in text


class ExitingTarget(OfflineTarget):
    """A library calling sys.exit() inside a pass: the loop thread dies."""

    def seed(self, intent: Intent) -> None:
        raise SystemExit(3)


def test_a_loop_that_dies_on_its_own_exits_1_for_systemd_to_restart(
    tmp_path: Path, events: list[dict[str, Any]]
) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "c.yaml").write_text(
        "collections:\n  petrel:\n"
        "    id: e56c36e4-1063-11e6-a747-22000bf2d559\n    root: /disthome/\n"
    )
    target = ExitingTarget(tmp_path / "state.db")
    daemon = Daemon(
        DaemonConfig(settings=PassSettings(paths=(specs,)), watch=False),
        target,
        notifier=SystemdNotifier(None),
        environ={},
    )
    try:
        assert daemon.run(install_signals=False) == 1
    finally:
        target.close()
    names = [e["event"] for e in events]
    assert "loop_crashed" in names
    assert names[-2:] == ["daemon_stopped", "loop_exited_unexpectedly"]


def test_the_write_fence_is_lowered_only_at_the_top_of_a_leading_pass(tmp_path: Path) -> None:
    """The election thread may win the lead back while a pass is still running (its plan
    read before another process could act): that pass stays fenced. A SIGTERM fences
    for good, even against a pass that starts leading at that moment."""
    target = OfflineTarget(tmp_path / "state.db")
    daemon = Daemon(DaemonConfig(settings=PassSettings(paths=(tmp_path,)), watch=False), target)
    intent = Intent(collections=(), groups=(), grants=(), memberships=())
    try:
        assert daemon.fence.is_set()  # nothing may write before leading
        with daemon.leadership.turn(intent) as leading:
            assert leading
            assert not daemon.fence.is_set()
        daemon.leadership.stop()  # the lead is lost...
        assert daemon.fence.is_set()
        assert b"reconciler_leader 0.0" in daemon.metrics.render()
        daemon._leadership_changed(True)  # ...and won back by the election thread mid-pass
        assert b"reconciler_leader 1.0" in daemon.metrics.render()
        assert daemon.fence.is_set()
        daemon.handle(signal.SIGTERM)
        with daemon.leadership.turn(intent) as leading:
            assert leading
            assert daemon.fence.is_set()  # stopping: no action may start
        daemon.leadership.stop()
    finally:
        daemon.signals.close()
        target.close()
