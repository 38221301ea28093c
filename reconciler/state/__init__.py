"""The state store: what cannot be derived from specs and live state (staging tasks,
consumed grants, directories the reconciler made, download progress) and the audit
journal of every change. One small SQLite file in the state directory.

Losing it is safe: everything still converges from specs and live state; what is at
risk is bounded by each grant's expiry (docs/lifecycle.md).
"""

from reconciler.state.journal import JournalEntry, JournalQuery
from reconciler.state.store import StateStore, open_store

__all__ = ["JournalEntry", "JournalQuery", "StateStore", "open_store"]
