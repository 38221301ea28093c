"""One writer at a time per spec directory: an exclusive ``flock`` on the hidden file
``.reconciler.lock`` in it (hidden, so the spec loader and the daemon's watcher ignore
it), held around read, validate, write and commit. Waiting is bounded: after the
timeout, ``SpecsLocked`` says who holds it. The lock is advisory and local to one
machine (``flock`` is not reliable on every network file system).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import time
from collections.abc import Iterator
from pathlib import Path

from reconciler.editing.errors import EditRefused, SpecsLocked

LOCK_NAME = ".reconciler.lock"
_FIRST_DELAY = 0.002
_MAX_DELAY = 0.05


@contextlib.contextmanager
def hold_spec_lock(specs_dir: Path, *, timeout: float) -> Iterator[None]:
    """Hold the exclusive lock of ``specs_dir`` while the block runs."""
    path = specs_dir / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        raise EditRefused(
            f"cannot open the lock file {path}: {exc.strerror or exc}",
            hint="whoever edits the specs needs write access to the spec directory",
        ) from exc
    try:
        _acquire(fd, path, timeout)
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _acquire(fd: int, path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    delay = _FIRST_DELAY
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SpecsLocked(
                    f"another edit has held {path} for more than {timeout:g} s"
                    f"{_holder(fd)}; nothing was changed",
                    hint="try again in a moment, or allow longer waits with --lock-timeout",
                ) from None
            time.sleep(min(remaining, delay * random.uniform(0.5, 1.5)))
            delay = min(delay * 2, _MAX_DELAY)


def _holder(fd: int) -> str:
    try:
        pid = os.pread(fd, 32, 0).decode().strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (process {pid})" if pid.isdigit() else ""
