"""Files and directories only their owner may read: the state directory (0700), the
state store and its SQLite companions, saved plans, state exports and the token cache
(0600).

They say who can read what, until when, and hold live tokens, so nobody else on the
host should read them. New ones are created private (never open for an instant), and
existing ones are tightened when they are opened, which repairs what older versions
left at 0644. Only what this process owns is tightened: a file someone else owns and
shares with us on purpose is left as it is. This module knows modes, not contents.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

from reconciler.errors import ConfigurationError

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def _tighten(path: Path, mode: int) -> None:
    """Drop group and other bits from ``path`` if this process owns it."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    if info.st_uid != os.geteuid():
        return
    if stat.S_IMODE(info.st_mode) & ~mode:
        os.chmod(path, stat.S_IMODE(info.st_mode) & mode)


def make_private_dir(path: Path, *, tighten: bool = True) -> Path:
    """Create ``path`` (and missing parents) with the directory itself 0700, and with
    ``tighten`` make an existing one 0700 too (the state directory; not a folder the
    user named for one file, which may be shared). Parents get the usual mode."""
    try:
        path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        if tighten:
            _tighten(path, PRIVATE_DIR)
    except OSError as err:
        raise ConfigurationError(
            f"cannot create the private directory {path}: {err.strerror or err}"
        ) from err
    return path


def make_private_files(paths: Iterable[Path]) -> None:
    """Create each missing file empty with mode 0600 and tighten existing ones, before
    anything opens them (SQLite gives its ``-wal`` and ``-shm`` files the database's
    mode, so a private database keeps its journal private too)."""
    for path in paths:
        try:
            handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE)
            os.close(handle)
            _tighten(path, PRIVATE_FILE)
        except OSError as err:
            raise ConfigurationError(f"cannot make {path} private: {err.strerror or err}") from err


def tighten_private_files(paths: Iterable[Path]) -> None:
    """Tighten the files that exist among ``paths`` to 0600; create none."""
    for path in paths:
        try:
            _tighten(path, PRIVATE_FILE)
        except OSError as err:
            raise ConfigurationError(f"cannot make {path} private: {err.strerror or err}") from err


def write_private_text(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically, mode 0600 from the first byte (a
    temporary file in the same directory, renamed over it)."""
    with open_private_text(path) as stream:
        stream.write(text)


@contextlib.contextmanager
def open_private_text(path: Path) -> Iterator[TextIO]:
    """A text stream that replaces ``path`` atomically when the block ends without an
    error, mode 0600 from the first byte (for what is too big to build in memory, such
    as a state store's export); an error leaves ``path`` as it was."""
    directory = path.parent if str(path.parent) else Path(".")
    try:
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise ConfigurationError(f"cannot write {path}: {err.strerror or err}") from err
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except OSError as err:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise ConfigurationError(f"cannot write {path}: {err.strerror or err}") from err
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
