"""File systems for spec-loading tests: the real one, with chosen paths made unreadable
(tests run as root, whom ``chmod 000`` does not stop) and every read counted."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from reconciler.spec.finding import DirectoryEntry, OsFiles


class TestFiles(OsFiles):
    """``OsFiles`` that refuses, with EACCES, to list the directories in ``unlistable``
    and to read the files in ``unreadable``, and records every file it reads."""

    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        self.unlistable: set[Path] = set()
        self.unreadable: set[Path] = set()
        self.unreachable: set[Path] = set()
        self.reads: list[Path] = []

    def stat(self, path: Path) -> os.stat_result:
        if path in self.unreachable:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return super().stat(path)

    def list_directory(self, path: Path) -> list[DirectoryEntry]:
        if path in self.unlistable:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return super().list_directory(path)

    def read(self, path: Path, *, expected: os.stat_result, limit: int) -> bytes:
        self.reads.append(path)
        if path in self.unreadable:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return super().read(path, expected=expected, limit=limit)
