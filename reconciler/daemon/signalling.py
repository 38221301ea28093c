"""Signals as bytes on a socket pair, read by the main thread at its leisure.

A process-directed signal may be delivered to any thread; a main thread blocked in a
lock would not notice it until the lock is released. So the C-level wakeup fd
(``signal.set_wakeup_fd``) writes each signal's number into a socket pair, and the main
thread blocks in ``receive`` on the other end: it wakes for every signal, whichever
thread the kernel picked. Other threads (and tests) ``send`` numbers the same way.
The Python-level handlers do nothing; acting on a signal is the caller's job.
"""

from __future__ import annotations

import contextlib
import signal
import socket
from collections.abc import Iterator
from types import FrameType

HANDLED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2)
LOOP_EXITED = 0
"""Not a signal: the reconcile loop has returned."""


def _acknowledge(_signum: int, _frame: FrameType | None) -> None:
    """Replaces the default action (exit, KeyboardInterrupt); the wakeup fd carries the
    number to ``SignalChannel.receive``."""


class SignalChannel:
    def __init__(self) -> None:
        self._reader, self._writer = socket.socketpair()
        self._writer.setblocking(False)

    def send(self, number: int) -> None:
        """Queue ``number`` for ``receive``; safe from any thread."""
        with contextlib.suppress(BlockingIOError):  # a full buffer already wakes the reader
            self._writer.send(bytes([number]))

    def receive(self) -> list[int]:
        """Block until at least one number arrives; return all that did."""
        return list(self._reader.recv(256))

    @contextlib.contextmanager
    def routing_signals(self) -> Iterator[None]:
        """While inside, the handled signals go to this channel (main thread only);
        the previous handlers and wakeup fd are restored afterwards."""
        previous = {number: signal.signal(number, _acknowledge) for number in HANDLED}
        old_fd = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        try:
            yield
        finally:
            signal.set_wakeup_fd(old_fd)
            for number, handler in previous.items():
                signal.signal(number, handler)

    def close(self) -> None:
        self._reader.close()
        self._writer.close()
