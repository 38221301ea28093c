"""What a long-running caller keeps between spec loads, so a quiet pass costs a scan.

Give one ``SpecCache`` to every ``load_spec_set(paths, now=now, cache=cache)`` of a
process (the daemon's passes); the result is always the one a fresh load would give.

- **No file changed**: the directory scan and one ``stat`` per file, nothing read,
  parsed, validated or lowered. A file counts as unchanged when its (device, inode,
  size, mtime_ns, ctime_ns) are, and it was last modified more than ``racy_ns``
  (2 s) before it was read: a write within the file system's timestamp granularity of
  the read could otherwise go unseen (git's "racy clean" rule), so such a file is read
  again next time.
- **A file changed** (or is new): it is read and hashed (BLAKE2b). Same content as
  before: not parsed again. New content: parsed and validated on its own. The
  cross-file checks and lowering then run again from the per-file results, unless
  the set of (file, content hash) is the one last checked.
- **A file removed, or unreadable**: the scan or the read reports it as for a fresh
  load (an error for an unreadable one); its entry is dropped.
- **Now**: only past expiries (a warning) and ``max_duration`` caps (an error) depend
  on the instant (see ``expiring``). They are judged again at every load, unless the
  previous judgement provably holds at the new instant (no expiry or cap boundary
  crossed since, and no message that names an instant computed from now).

Size limits, strictness and file-system problems are applied by ``load_spec_set`` at
every load, outside the cache. A cache is for one process and one thread at a time; it
holds the parsed spec set in memory (about as much as one load needs anyway).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from reconciler.spec.compiling import FileCheck, SetCheck
from reconciler.spec.expiring import ExpiryDiagnostics

RACY_NS = 2_000_000_000
"""A file modified this close to its read (2 s, FAT's timestamp granularity) is read
again at the next load: a same-size write in the same tick would not change its stat."""

StatKey = tuple[int, int, int, int, int]
SetKey = tuple[tuple[str, bytes], ...]


def compute_stat_key(info: os.stat_result) -> StatKey:
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


@dataclass(slots=True)
class CacheStats:
    """What the loads through one cache did (counters, for tests and metrics)."""

    loads: int = 0
    files_read: int = 0
    files_parsed: int = 0
    sets_checked: int = 0
    expiries_judged: int = 0


@dataclass(frozen=True, slots=True)
class _File:
    stat: StatKey
    digest: bytes
    check: FileCheck
    trusted: bool
    """The stat was taken long enough after the last write to stand for the content."""


@dataclass(slots=True)
class SpecCache:
    """Per-file and whole-set results of earlier loads (see the module docstring).
    ``clock`` is the wall clock in ns (for the racy-file rule), injectable for tests."""

    clock: Callable[[], int] = time.time_ns
    racy_ns: int = RACY_NS
    stats: CacheStats = field(default_factory=CacheStats)
    _files: dict[str, _File] = field(default_factory=dict)
    _set: tuple[SetKey, SetCheck] | None = None
    _judged: tuple[SetKey, ExpiryDiagnostics] | None = None

    def unchanged(self, name: str, info: os.stat_result) -> tuple[bytes, FileCheck] | None:
        """The content hash and result of a file whose stat says it did not change."""
        entry = self._files.get(name)
        if entry is None or not entry.trusted or entry.stat != compute_stat_key(info):
            return None
        return entry.digest, entry.check

    def parsed(self, name: str, digest: bytes) -> FileCheck | None:
        """The result for this file's content, when it was parsed before."""
        entry = self._files.get(name)
        return entry.check if entry is not None and entry.digest == digest else None

    def remember(
        self, name: str, info: os.stat_result, digest: bytes, check: FileCheck, *, read_at: int
    ) -> None:
        """Keep a file read at wall-clock ``read_at`` (ns, taken before the read)."""
        changed_at = max(info.st_mtime_ns, info.st_ctime_ns)
        trusted = changed_at < read_at - self.racy_ns
        self._files[name] = _File(compute_stat_key(info), digest, check, trusted)

    def keep_only(self, names: Iterable[str]) -> None:
        """Forget every file not in ``names`` (removed, or unreadable this time)."""
        wanted = set(names)
        for name in [n for n in self._files if n not in wanted]:
            del self._files[name]

    def set_check(self, key: SetKey) -> SetCheck | None:
        return self._set[1] if self._set is not None and self._set[0] == key else None

    def remember_set(self, key: SetKey, check: SetCheck) -> None:
        self._set = (key, check)

    def judged(self, key: SetKey) -> ExpiryDiagnostics | None:
        return self._judged[1] if self._judged is not None and self._judged[0] == key else None

    def remember_judged(self, key: SetKey, judged: ExpiryDiagnostics) -> None:
        self._judged = (key, judged)

    def clear(self) -> None:
        """Forget everything (the next load is a fresh one)."""
        self._files.clear()
        self._set = None
        self._judged = None
