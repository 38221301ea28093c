"""Bring the world up to sandbox time before anything reads it.

Nothing in the sandbox runs in the background: due tasks complete and (in ``delete``
expiry mode) expired rules vanish here, at the start of every transaction that serves a
request or a control-plane call, so every reader sees the same, time-consistent world.
"""

from __future__ import annotations

import sqlite3

from reconciler.sandbox import transfer_acl, transfer_scheduling


def settle(conn: sqlite3.Connection, now: float) -> None:
    transfer_scheduling.settle(conn, now)
    transfer_acl.settle_expired(conn, now)
