"""One writer at a time per spec directory: an exclusive ``flock`` held around read,
validate, write and commit. Waiting is bounded: after the timeout, ``SpecsLocked`` says
who holds it. The lock is advisory and local to one machine (``flock`` is not reliable
on every network file system).

Where the lock file lives: when the spec directory is inside a git work tree, in that
work tree's git directory (``.git/reconciler.lock``), so an edit never leaves an
untracked file in the user's repository; one lock per work tree also serializes
``--commit`` on git's index. Otherwise, the hidden file ``.reconciler.lock`` in the
spec directory (hidden, so the spec loader and the daemon's watcher ignore it).
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
GIT_LOCK_NAME = "reconciler.lock"
_FIRST_DELAY = 0.002
_MAX_DELAY = 0.05


@contextlib.contextmanager
def hold_spec_lock(specs_dir: Path, *, timeout: float) -> Iterator[None]:
    """Hold the exclusive lock of ``specs_dir`` while the block runs."""
    path = find_lock_path(specs_dir)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        raise EditRefused(
            f"cannot open the lock file {path}: {exc.strerror or exc}",
            hint=f"whoever edits the specs needs write access to {path.parent}",
        ) from exc
    try:
        _acquire(fd, path, timeout)
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def find_lock_path(specs_dir: Path) -> Path:
    """The lock file for ``specs_dir``: in the git directory of the work tree that
    holds it, else hidden in the spec directory itself. Reads the file system only."""
    git_dir = find_git_dir(specs_dir)
    return git_dir / GIT_LOCK_NAME if git_dir is not None else specs_dir / LOCK_NAME


def find_git_dir(directory: Path) -> Path | None:
    """The git directory of the work tree containing ``directory``: a ``.git``
    directory, or the one a ``.git`` file points to (linked work trees, submodules).
    None outside any work tree, or when the pointer cannot be read."""
    start = directory.absolute()
    for candidate in (start, *start.parents):
        dot_git = candidate / ".git"
        if dot_git.is_dir():
            return dot_git
        if dot_git.is_file():
            try:
                first = dot_git.read_text(encoding="utf-8", errors="replace").splitlines()[0]
            except (OSError, IndexError):
                return None
            if not first.startswith("gitdir:"):
                return None
            target = Path(first.removeprefix("gitdir:").strip())
            target = target if target.is_absolute() else candidate / target
            return target if target.is_dir() else None
    return None


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
