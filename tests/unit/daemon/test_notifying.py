"""sd_notify over a real unix datagram socket, as systemd would receive it."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.daemon.notifying import (
    SystemdNotifier,
    compute_socket_address,
    compute_watchdog_interval,
    run_watchdog,
)


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[str, socket.socket]]:
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(5)
    yield path, sock
    sock.close()


def receive(sock: socket.socket) -> dict[str, str]:
    data = sock.recv(4096).decode()
    return dict(line.split("=", 1) for line in data.split("\n"))


def test_lifecycle_messages_arrive_on_the_socket(listener: tuple[str, socket.socket]) -> None:
    path, sock = listener
    notifier = SystemdNotifier.from_environ({"NOTIFY_SOCKET": path})
    assert notifier.enabled
    assert notifier.ready("last pass success in 0.2s")
    assert notifier.status("line one\nline two")
    assert notifier.watchdog()
    assert notifier.stopping()
    notifier.close()
    assert receive(sock) == {"READY": "1", "STATUS": "last pass success in 0.2s"}
    assert receive(sock) == {"STATUS": "line one line two"}  # STATUS is one line
    assert receive(sock) == {"WATCHDOG": "1"}
    assert receive(sock) == {"STOPPING": "1", "STATUS": "stopping"}


def test_abstract_socket_names_are_supported() -> None:
    name = f"reconciler-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(b"\0" + name.encode())
    sock.settimeout(5)
    try:
        notifier = SystemdNotifier(f"@{name}")
        assert notifier.ready("up")
        assert receive(sock) == {"READY": "1", "STATUS": "up"}
        notifier.close()
    finally:
        sock.close()


def test_outside_systemd_everything_is_a_quiet_no_op() -> None:
    notifier = SystemdNotifier.from_environ({})
    assert not notifier.enabled
    assert not notifier.ready("up")
    assert not notifier.stopping()


def test_a_vanished_socket_does_not_raise(tmp_path: Path) -> None:
    notifier = SystemdNotifier(str(tmp_path / "gone.sock"))
    assert notifier.watchdog() is False
    notifier.close()


def test_socket_address_forms() -> None:
    assert compute_socket_address("/run/systemd/notify") == "/run/systemd/notify"
    assert compute_socket_address("@abc") == b"\0abc"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "junk"}, None),
        ({"WATCHDOG_USEC": "60000000"}, 30.0),
        ({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "1234"}, 30.0),
        ({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "999"}, None),
    ],
)
def test_watchdog_interval_is_half_the_timeout_for_this_pid(
    env: dict[str, str], expected: float | None
) -> None:
    assert compute_watchdog_interval(env, 1234) == expected


def test_watchdog_pings_only_while_alive(listener: tuple[str, socket.socket]) -> None:
    path, sock = listener
    notifier = SystemdNotifier(path)
    stop = threading.Event()
    alive = threading.Event()
    alive.set()
    checks: list[bool] = []

    def is_alive() -> bool:
        checks.append(alive.is_set())
        if len(checks) == 2:
            alive.clear()  # the loop got stuck: no more pings
        if len(checks) == 4:
            stop.set()
        return checks[-1]

    thread = threading.Thread(
        target=run_watchdog,
        args=(notifier,),
        kwargs={"interval": 0.01, "alive": is_alive, "stop": stop},
    )
    thread.start()
    thread.join(timeout=5)
    sock.settimeout(0.2)
    pings = []
    try:
        while True:
            pings.append(receive(sock))
    except TimeoutError:
        pass
    notifier.close()
    assert pings == [{"WATCHDOG": "1"}] * 2
