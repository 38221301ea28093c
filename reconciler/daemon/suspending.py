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
            return (
                f"the flag file {self.flag_file} exists "
                "(`reconciler daemon resume` or removing it resumes)"
            )
        if self._by_signal:
            return "SIGUSR1 was received (send SIGUSR2 to resume)"
        return None

    def hold(self, note: str) -> None:
        """Suspend the way an operator does: write the flag file (``note`` says who and
        when), or hold in memory when no flag file is configured. Raises ``OSError``."""
        if self.flag_file is None:
            self._by_signal = True
            return
        self.flag_file.parent.mkdir(parents=True, exist_ok=True)
        self.flag_file.write_text(note + "\n", encoding="utf-8")

    def release(self) -> None:
        """Resume: remove the flag file and lift the signal hold. Raises ``OSError``."""
        self._by_signal = False
        if self.flag_file is not None:
            self.flag_file.unlink(missing_ok=True)
