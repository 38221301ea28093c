"""systemd's notify protocol (sd_notify) over the datagram socket in ``$NOTIFY_SOCKET``.

READY=1 after the first pass, STATUS=<one line> after each pass, WATCHDOG=1 pings at
half of ``$WATCHDOG_USEC``, STOPPING=1 on the way out. Written with the stdlib socket
module; abstract socket names (``@name``) are supported. Outside systemd (no
``$NOTIFY_SOCKET``) every call is a no-op. This module sends; it decides nothing.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Mapping


def compute_socket_address(value: str) -> str | bytes:
    """``@name`` is an abstract socket (a leading NUL byte on the wire)."""
    if value.startswith("@"):
        return b"\0" + value[1:].encode()
    return value


def compute_watchdog_interval(env: Mapping[str, str], pid: int) -> float | None:
    """Seconds between WATCHDOG=1 pings (half the timeout systemd gave), or None when
    the watchdog is off or meant for another process (``$WATCHDOG_PID``)."""
    usec = env.get("WATCHDOG_USEC", "").strip()
    if not usec.isdigit() or int(usec) == 0:
        return None
    owner = env.get("WATCHDOG_PID", "").strip()
    if owner and owner != str(pid):
        return None
    return int(usec) / 2_000_000


class SystemdNotifier:
    def __init__(self, address: str | None) -> None:
        self._address = compute_socket_address(address) if address else None
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()
        if self._address is not None:
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._socket.setblocking(False)

    @classmethod
    def from_environ(cls, env: Mapping[str, str] | None = None) -> SystemdNotifier:
        env = os.environ if env is None else env
        return cls(env.get("NOTIFY_SOCKET") or None)

    @property
    def enabled(self) -> bool:
        return self._socket is not None

    def send(self, **fields: str) -> bool:
        """Send one datagram of ``KEY=value`` lines; False when it could not be sent
        (no socket, or systemd went away: the daemon carries on)."""
        if self._socket is None or self._address is None:
            return False
        payload = "\n".join(f"{key}={_one_line(value)}" for key, value in fields.items())
        with self._lock:
            try:
                self._socket.sendto(payload.encode(), self._address)
            except OSError:
                return False
        return True

    def ready(self, status: str) -> bool:
        return self.send(READY="1", STATUS=status)

    def status(self, status: str) -> bool:
        return self.send(STATUS=status)

    def watchdog(self) -> bool:
        return self.send(WATCHDOG="1")

    def stopping(self, status: str = "stopping") -> bool:
        return self.send(STOPPING="1", STATUS=status)

    def close(self) -> None:
        with self._lock:
            if self._socket is not None:
                self._socket.close()
                self._socket = None


def _one_line(value: str) -> str:
    return " ".join(value.split())


def run_watchdog(
    notifier: SystemdNotifier,
    *,
    interval: float,
    alive: Callable[[], bool],
    stop: threading.Event,
) -> None:
    """Ping every ``interval`` seconds while ``alive()`` holds, until ``stop`` is set.
    A stuck loop stops the pings, and systemd restarts the service."""
    while not stop.wait(interval):
        if alive():
            notifier.watchdog()
