"""Which files make up a spec set: the walk over spec paths, failing closed.

``scan_spec_paths`` walks each spec path (a directory is searched recursively for
``*.yaml``/``*.yml`` in sorted order, hidden entries skipped, symlinked directories not
followed; a file named explicitly is taken whatever its name) and stats every spec file
once. A spec set seen only in part must never look smaller than it is, since that would
revoke access and delete data, so everything it cannot see is an error:

- a path that is missing or cannot be reached, a directory that cannot be listed (the
  top one or any below it), a spec file that cannot be stat'ed;
- a spec file that is not a regular file (a FIFO, a device, a socket, or a symlink to
  one): refused by name, never opened;
- a spec file larger than the size limit: refused before it is read.

Names that look meant as specs but are not read (``x.YAML``, ``x.yaml.bak``,
``x.yaml~``, ``#x.yaml#``, ``x.orig``...) and symlinked directories are warnings.

The operating system is reached only through ``SpecFiles`` (``OS_FILES`` in
production), so a test can simulate a permission error that root would not get.
``OsFiles.read`` checks the open descriptor again (regular, same inode, within the
limit, opened non-blocking), so a file swapped after the scan cannot hang the reader
or exhaust its memory. Nothing here parses YAML.
"""

from __future__ import annotations

import errno
import os
import pwd
import re
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from reconciler.spec.diagnostics import Diagnostic

SPEC_SUFFIXES = (".yaml", ".yml")
DEFAULT_MAX_FILE_SIZE = 10 * 1024 * 1024
"""Spec files larger than this (10 MiB, about 100,000 grants) are refused unread."""

_YAML_PART = re.compile(r"^[#\s]*ya?ml[~#\s]*$", re.IGNORECASE)
_LEFTOVER = re.compile(r"\.(orig|rej)$", re.IGNORECASE)
_READ_CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class DirectoryEntry:
    """One name in a directory, as listed (symlinks not followed)."""

    name: str
    is_dir: bool
    is_symlink: bool


class SpecFiles(Protocol):
    """The file system as the spec loader uses it."""

    def stat(self, path: Path) -> os.stat_result:
        """``os.stat`` (following symlinks); raises ``OSError``."""
        ...

    def list_directory(self, path: Path) -> list[DirectoryEntry]:
        """The entries of a directory; raises ``OSError`` when it cannot be listed."""
        ...

    def read(self, path: Path, *, expected: os.stat_result, limit: int) -> bytes:
        """The bytes of the regular file ``expected`` describes; raises ``OSError``, or
        ``SpecFileRefused`` when it is no longer that file or is larger than ``limit``."""
        ...


class SpecFileRefused(Exception):
    """A spec file that is not read: not a regular file, or too large."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class OsFiles:
    """``SpecFiles`` on the real file system."""

    def stat(self, path: Path) -> os.stat_result:
        return os.stat(path)

    def list_directory(self, path: Path) -> list[DirectoryEntry]:
        with os.scandir(path) as entries:
            return [
                DirectoryEntry(e.name, e.is_dir(follow_symlinks=False), e.is_symlink())
                for e in entries
            ]

    def read(self, path: Path, *, expected: os.stat_result, limit: int) -> bytes:
        # Non-blocking: a FIFO swapped in after the scan must not hang the reader.
        flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
        fd = os.open(path, flags)
        try:
            opened = os.fstat(fd)
            if not stat.S_ISREG(opened.st_mode):
                raise SpecFileRefused(*_not_regular(path, opened, following=True))
            if (opened.st_dev, opened.st_ino) != (expected.st_dev, expected.st_ino):
                raise SpecFileRefused(
                    "the file was replaced while it was being read",
                    hint="run the command again once the file is written",
                )
            if opened.st_size > limit:
                raise SpecFileRefused(*_too_large(opened.st_size, limit))
            chunks: list[bytes] = []
            size = 0
            while chunk := os.read(fd, _READ_CHUNK):
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:  # it grew while being read
                    raise SpecFileRefused(*_too_large(size, limit))
            return b"".join(chunks)
        finally:
            os.close(fd)


OS_FILES: SpecFiles = OsFiles()


@dataclass(frozen=True, slots=True)
class Scan:
    """What the spec paths hold: every spec file found (``files``, in load order), those
    to read with their stat (``readable``), and what is wrong or suspicious."""

    files: tuple[Path, ...]
    readable: tuple[tuple[Path, os.stat_result], ...]
    diagnostics: tuple[Diagnostic, ...]


def scan_spec_paths(
    paths: Sequence[Path], *, files: SpecFiles = OS_FILES, max_file_size: int
) -> Scan:
    """The spec files at ``paths``, each once, with located errors for all that cannot
    be seen or read safely. Never raises for bad input."""
    found: list[Path] = []
    readable: list[tuple[Path, os.stat_result]] = []
    diagnostics: list[Diagnostic] = []
    seen: set[tuple[int, int] | Path] = set()
    for path in paths:
        for file in _spec_files_at(path, files, diagnostics):
            try:
                info = files.stat(file)
            except OSError as exc:
                if file.absolute() not in seen:
                    seen.add(file.absolute())
                    found.append(file)
                    diagnostics.append(_stat_error(file, exc))
                continue
            if (info.st_dev, info.st_ino) in seen:
                continue
            seen.add((info.st_dev, info.st_ino))
            found.append(file)
            if not stat.S_ISREG(info.st_mode):
                message, hint = _not_regular(file, info, following=_is_symlink(file))
                diagnostics.append(_error(file, message, hint))
            elif info.st_size > max_file_size:
                diagnostics.append(_error(file, *_too_large(info.st_size, max_file_size)))
            else:
                readable.append((file, info))
    return Scan(tuple(found), tuple(readable), tuple(diagnostics))


def describe_read_error(path: Path, exc: OSError | SpecFileRefused) -> Diagnostic:
    """A file that could not be read, as a diagnostic with a hint."""
    if isinstance(exc, SpecFileRefused):
        return _error(path, exc.message, exc.hint)
    hint = (
        f"the reconciler runs as {running_as()}: make the file readable by it"
        if exc.errno in (errno.EACCES, errno.EPERM)
        else None
    )
    return _error(path, f"cannot read the file: {exc.strerror or exc}", hint)


def running_as() -> str:
    """``user `name` (uid N)``: who the permission hints ask to grant access to."""
    uid = os.geteuid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"
    return f"user `{name}` (uid {uid})"


def is_near_miss(name: str) -> bool:
    """Whether a file named ``name``, which is not read as a spec, looks meant as one:
    a `.yaml`/`.yml` part in another case or followed by more (`.YAML`, `.yaml.bak`,
    `.yaml~`, `#x.yaml#`, `.yml.orig`, `.yaml.swp`), or a merge or patch leftover."""
    if name.startswith(".") or name.endswith(SPEC_SUFFIXES):
        return False
    parts = name.split(".")[1:]
    return any(_YAML_PART.match(part) for part in parts) or bool(_LEFTOVER.search(name))


def _spec_files_at(path: Path, files: SpecFiles, diagnostics: list[Diagnostic]) -> list[Path]:
    """The candidate spec files at one spec path (a file, or a directory's tree)."""
    try:
        info = files.stat(path)
    except OSError as exc:
        if exc.errno == errno.ENOENT and not _is_symlink(path):
            diagnostics.append(_error(path, "no such file or directory"))
        else:
            diagnostics.append(_stat_error(path, exc))
        return []
    if not stat.S_ISDIR(info.st_mode):
        return [path]
    found = list(_walk(path, files, diagnostics))
    if not found and not any(d.file == str(path) for d in diagnostics):
        diagnostics.append(
            Diagnostic(str(path), 0, 0, "warning", "no *.yaml or *.yml files here", None)
        )
    return sorted(found, key=lambda p: p.relative_to(path).parts)


def _walk(directory: Path, files: SpecFiles, diagnostics: list[Diagnostic]) -> Iterable[Path]:
    try:
        entries = sorted(files.list_directory(directory), key=lambda e: e.name)
    except OSError as exc:
        hint = (
            f"the reconciler runs as {running_as()}: make the directory readable and "
            "searchable by it (e.g. `chmod a+rx`), or move it out of the spec path"
            if exc.errno in (errno.EACCES, errno.EPERM)
            else None
        )
        reason = exc.strerror or str(exc)
        diagnostics.append(
            _error(
                directory, f"cannot list this directory ({reason}), so its specs are unseen", hint
            )
        )
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = directory / entry.name
        if entry.is_dir:
            yield from _walk(path, files, diagnostics)
        elif entry.name.endswith(SPEC_SUFFIXES):
            yield path
        elif entry.is_symlink and _points_to_directory(path, files):
            diagnostics.append(
                Diagnostic(
                    str(path),
                    0,
                    0,
                    "warning",
                    "a symlinked directory is not followed, so no spec in it is read",
                    "name it on the command line to read it, or replace the link by the directory",
                )
            )
        elif is_near_miss(entry.name):
            diagnostics.append(
                Diagnostic(
                    str(path),
                    0,
                    0,
                    "warning",
                    "this file is not read as a spec: only names ending in `.yaml` or "
                    "`.yml` (lower case) are",
                    "if it holds specs, rename it to end in `.yaml`; if not, move it out of "
                    "the spec directory or hide it (a name starting with `.`)",
                )
            )


def _points_to_directory(path: Path, files: SpecFiles) -> bool:
    try:
        return stat.S_ISDIR(files.stat(path).st_mode)
    except OSError:
        return False


def _is_symlink(path: Path) -> bool:
    return os.path.islink(path)


def _stat_error(path: Path, exc: OSError) -> Diagnostic:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return _error(
            path,
            f"cannot access this path: {exc.strerror or exc}",
            f"the reconciler runs as {running_as()}: make it and the directories above it "
            "readable and searchable by it",
        )
    if exc.errno == errno.ENOENT:
        return _error(path, "cannot read the file: a broken symlink (its target does not exist)")
    if exc.errno == errno.ELOOP:
        return _error(path, "cannot read the file: a symlink loop")
    return _error(path, f"cannot access this path: {exc.strerror or exc}")


def _not_regular(path: Path, info: os.stat_result, *, following: bool) -> tuple[str, str]:
    mode = info.st_mode
    kind = (
        "a FIFO (named pipe)"
        if stat.S_ISFIFO(mode)
        else "a character device"
        if stat.S_ISCHR(mode)
        else "a block device"
        if stat.S_ISBLK(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "a directory"
        if stat.S_ISDIR(mode)
        else "not a regular file"
    )
    what = f"a symlink to {kind} ({os.path.realpath(path)})" if following else kind
    return (
        f"this is {what}, not a regular file, so it is not read",
        "spec files must be regular files: remove it or replace it by one",
    )


def _too_large(size: int, limit: int) -> tuple[str, str]:
    return (
        f"the file is {size:,} bytes, larger than the limit of {limit:,} bytes, so it is not read",
        "split it into several files, or raise the limit (`--max-spec-size`, or "
        "RECONCILER_MAX_SPEC_SIZE)",
    )


def _error(path: Path, message: str, hint: str | None = None) -> Diagnostic:
    return Diagnostic(str(path), 0, 0, "error", message, hint)
