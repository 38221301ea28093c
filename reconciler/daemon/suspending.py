"""Suspension: while suspended the loop runs no pass, so nothing is applied.

Two independent holds, either one suspends: a flag file (persistent, survives a
restart, can be created by an operator or a CI job) and SIGUSR1, undone by SIGUSR2
(in memory only). SIGUSR2 does not remove the flag file. Reads are lock-free so the
signal-side setters are safe to call from a signal handler. Nothing here logs.
"""

from __future__ import annotations

from pathlib import Path


class Suspension:
    def __init__(self, flag_file: Path | None) -> None:
        self.flag_file = flag_file
        # A plain attribute rather than threading.Event: a signal handler may set it while
        # the same thread is inside another handler, and Event takes a lock.
        self._by_signal = False

    def suspend(self) -> None:
        self._by_signal = True

    def resume(self) -> None:
        self._by_signal = False

    def fetch_reason(self) -> str | None:
        """Why the daemon is suspended now (reads the file system), or None."""
        if self.flag_file is not None and self.flag_file.exists():
            return f"the flag file {self.flag_file} exists (remove it to resume)"
        if self._by_signal:
            return "SIGUSR1 was received (send SIGUSR2 to resume)"
        return None
