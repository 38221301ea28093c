"""Whether the spec files may have changed since they were last loaded, without reading
them: a signature of their ``stat`` results.

A daemon pass woken by an expiry or the resync timer, with no file changed, need not
parse a single spec: the last loaded intent is still what the files say. The signature
covers every non-hidden file under the spec paths (device, inode, size, modification and
change times in nanoseconds). Any write changes the change time, and replacing a file
changes its inode, so an unchanged signature means unchanged files; a spurious change
(a ``touch``, a file that is not a spec) only costs a reload. Hidden entries and
symlinked directories are skipped, as the loader skips them.

One exception, git's "racy clean" rule: file times advance in clock ticks, so a second
write of the same size within the tick of the first leaves the stat as it was. A
signature taken within ``RACY_NS`` of the newest change it covers is not trusted
(``Signature.trusted``); the next look compares the files' content
(``load_spec_digest``, a BLAKE2b of every file: reading, no parsing) instead.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

RACY_NS = 2_000_000_000
"""A change this close to the stat (2 s, the coarsest common file-time granularity) may
hide a second one: such a signature is not trusted."""


FileStat = tuple[str, int, int, int, int, int]
"""Path, device, inode, size, mtime_ns, ctime_ns (an unreadable file: -1 and its errno)."""


@dataclass(frozen=True, slots=True)
class Signature:
    entries: tuple[FileStat, ...]
    trusted: bool
    """No file changed within ``RACY_NS`` before the signature was taken."""

    def same_files(self, other: Signature | None) -> bool:
        """Whether the files are certainly the ones ``other`` (a trusted one) saw."""
        return other is not None and other.trusted and other.entries == self.entries


def load_spec_signature(
    paths: Sequence[Path], *, clock: Callable[[], int] = time.time_ns
) -> Signature:
    """The stat signature of every file the spec paths hold (reads no file)."""
    taken = clock()
    entries: list[FileStat] = []
    for path in paths:
        if path.is_dir():
            for parent, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(names):
                    if not name.startswith("."):
                        entries.append(_stat(os.path.join(parent, name)))
        else:
            entries.append(_stat(str(path)))
    newest = max((max(e[4], e[5]) for e in entries), default=0)
    return Signature(tuple(entries), trusted=newest < taken - RACY_NS)


def _stat(path: str) -> FileStat:
    try:
        st = os.stat(path)
    except OSError as err:
        return (path, -1, err.errno or 0, -1, -1, -1)
    return (path, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def load_spec_digest(signature: Signature) -> bytes:
    """A digest of the path and content of every file ``signature`` covers (reads the
    files, parses nothing); an unreadable file counts by its error."""
    digest = hashlib.blake2b(digest_size=32)
    for entry in signature.entries:
        path = entry[0]
        digest.update(path.encode("utf-8", "surrogateescape") + b"\0")
        try:
            with open(path, "rb") as file:
                digest.update(hashlib.blake2b(file.read(), digest_size=32).digest())
        except OSError as err:
            digest.update(f"unreadable {err.errno}".encode())
    return digest.digest()
