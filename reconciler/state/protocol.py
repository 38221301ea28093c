"""The state store's interface, as every caller sees it, whatever the backend.

``StateStore`` is what passes, ``plan``/``apply`` and ``history`` use; ``TargetLock`` is
the lock a store hands out to keep one actor per target (the daemon's leader lock and
the apply lock). Implementations: ``reconciler.state.store.SqlStateStore`` over the
SQLite or the PostgreSQL backend. This module holds no logic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Protocol

from reconciler.core.lifecycle import Lifecycle, RuleKey, ScheduledRemoval, StagingStatus
from reconciler.state.journal import JournalEntry, JournalQuery


class TargetLock(Protocol):
    """An exclusive lock on a set of names, shared by every process using the same
    store, held until released or until the process (or its database session) ends.
    Taken all or nothing: two locks whose name sets overlap exclude each other."""

    @property
    def held(self) -> bool: ...

    @property
    def safe_after(self) -> float:
        """``time.monotonic()`` before which the holder must not act: a previous holder
        that lost the lock without knowing it (its database session was ended under it)
        may act until its lease runs out. 0 when there is nobody to wait for."""
        ...

    def try_acquire(self) -> bool:
        """Take the lock if it is free, without waiting; False when another holds it or
        the store cannot be reached."""
        ...

    def acquire(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the lock."""
        ...

    def confirm(self) -> bool:
        """Prove the lock is still held (a round trip for a database lock); False when
        it was lost, e.g. because the database session ended."""
        ...

    def release(self, *, linger: bool = False) -> None:
        """Let go. ``linger``: this process may still be finishing an action (the lock
        was lost, not given up), so the next holder waits out this holder's lease."""
        ...


class StateStore(Protocol):
    """What cannot be derived from specs and live state, plus the audit journal."""

    @property
    def display(self) -> str:
        """Where the store is, for messages: a path or a URL without its password."""
        ...

    def close(self) -> None: ...

    def target_lock(self, *names: str) -> TargetLock:
        """A lock on ``names`` (any texts; at least one), shared by every process on
        this store."""
        ...

    # what planning reads
    def load_lifecycle(self) -> Lifecycle: ...

    # group memberships
    def record_member_refusal(
        self, group_id: str, identity_id: str, detail: str, *, now: datetime
    ) -> None: ...
    def forget_member_refusal(self, group_id: str, identity_id: str) -> None: ...

    # staging
    def reserve_staging(
        self,
        key: RuleKey,
        source_collection_id: str,
        source_path: str,
        candidate_id: str,
        *,
        now: datetime,
    ) -> str: ...

    def record_staging(
        self,
        key: RuleKey,
        status: StagingStatus,
        *,
        now: datetime,
        task_id: str | None = None,
        error: str | None = None,
        next_attempt: datetime | None = None,
    ) -> None: ...

    # consumption and downloads
    def record_consumed(self, key: RuleKey, *, now: datetime) -> None: ...
    def downloaded_files(self, key: RuleKey) -> set[str]: ...
    def add_downloaded_files(self, key: RuleKey, files: Iterable[str]) -> None: ...
    def seen_download_task(self, task_id: str) -> bool: ...
    def mark_download_task(self, collection_id: str, task_id: str) -> None: ...
    def download_watermark(self, collection_id: str) -> datetime | None: ...
    def set_download_watermark(self, collection_id: str, until: datetime) -> None: ...

    # directories
    def reserve_directory(self, collection_id: str, path: str, *, now: datetime) -> bool: ...
    def release_directory(self, collection_id: str, path: str) -> None: ...
    def record_made_directory(self, collection_id: str, path: str, *, now: datetime) -> None: ...
    def forget_directory(self, collection_id: str, path: str) -> None: ...
    def record_removal(
        self, collection_id: str, paths: Iterable[str], task_id: str, *, now: datetime
    ) -> None: ...
    def pending_removals(self) -> list[tuple[str, str, str]]: ...
    def finish_removal(self, collection_id: str, path: str, *, succeeded: bool) -> None: ...

    # scheduled removals (pruned grants' directories) and the spec-file inventory
    def schedule_removal(self, entry: ScheduledRemoval, *, now: datetime) -> None: ...
    def cancel_removal(self, collection_id: str, path: str) -> None: ...
    def scheduled_removals(self) -> dict[tuple[str, str], ScheduledRemoval]: ...
    def load_spec_inventory(self) -> dict[str, int]: ...
    def record_spec_inventory(self, files: Mapping[str, int], *, now: datetime) -> None: ...

    # journal
    def append_journal(self, entry: JournalEntry) -> None: ...
    def read_journal(self, query: JournalQuery) -> list[JournalEntry]: ...
