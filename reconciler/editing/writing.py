"""Write a spec file atomically: a temporary file in the same directory, flushed to
disk, given the old file's permission bits, then renamed over the old one (and the
directory synced), so a reader sees the old file or the new one, never a part. A
symlinked spec file is written through to its target. Writes only what it is given;
deciding the content is not its job.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from reconciler.editing.errors import EditRefused

_DEFAULT_MODE = 0o644


def write_spec_file(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (or create it, and its folder)."""
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = _DEFAULT_MODE & ~_current_umask()
    except OSError as exc:
        raise _refusal(path, exc) from exc
    try:
        target.parent.mkdir(parents=True, exist_ok=True)  # a new file may be in a new folder
        fd, temporary = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
        )
    except OSError as exc:
        raise _refusal(path, exc) from exc
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise _refusal(path, exc) from exc
    _sync_directory(target.parent)


def _refusal(path: Path, exc: OSError) -> EditRefused:
    return EditRefused(
        f"{path}: cannot write the file: {exc.strerror or exc}",
        hint="check that the spec directory is writable; the file was left as it was",
    )


def _sync_directory(directory: Path) -> None:
    """Make the rename durable (best effort: some file systems refuse)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def _current_umask() -> int:
    """The process umask, read without changing it (Linux), else the usual 022."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022
