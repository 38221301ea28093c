"""The state store: what cannot be derived from specs and live state (staging tasks,
consumed grants, directories the reconciler made, download progress) and the audit
journal of every change. A SQLite file by default; PostgreSQL when several processes
(CI, two daemons) act on the same target and must share it.

Losing it is safe: everything still converges from specs and live state; what is at
risk is bounded by each grant's expiry (docs/lifecycle.md).
"""

from reconciler.state.backend import StateStoreError
from reconciler.state.journal import JournalEntry, JournalQuery
from reconciler.state.locating import (
    STATE_DB_ENV,
    PostgresLocation,
    SqliteLocation,
    StoreLocation,
    parse_location,
)
from reconciler.state.protocol import StateStore, TargetLock
from reconciler.state.store import SqlStateStore, open_store

__all__ = [
    "STATE_DB_ENV",
    "JournalEntry",
    "JournalQuery",
    "PostgresLocation",
    "SqlStateStore",
    "SqliteLocation",
    "StateStore",
    "StateStoreError",
    "StoreLocation",
    "TargetLock",
    "open_store",
    "parse_location",
]
