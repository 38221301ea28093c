"""The sandbox world in SQLite: schema, connection, transactions and the ``meta`` table.

One ``Store`` owns one connection. Every request runs inside ``Store.transaction()``,
which holds a process-wide lock and an ``IMMEDIATE`` SQLite transaction, so concurrent
HTTP requests are serialised and a failing request leaves nothing half-written. WAL mode
lets another process (``reconciler sandbox show --db``) read while the server writes.

This module knows tables, not behaviour: the service modules own their queries.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DEFAULT_DB = Path(".reconciler/sandbox.db")
DB_ENV = "RECONCILER_SANDBOX_DB"
SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS identities (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    name TEXT,
    email TEXT,
    organization TEXT,
    identity_provider TEXT NOT NULL,
    status TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS clients (client_id TEXT PRIMARY KEY, secret TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    token TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    identity_id TEXT NOT NULL,
    resource_server TEXT NOT NULL,
    scope TEXT NOT NULL,
    issued_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS collections (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    host_endpoint_id TEXT NOT NULL,
    owner_id TEXT,
    subscription_id TEXT,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS collection_kinds (
    collection_id TEXT PRIMARY KEY,
    entity_type TEXT NOT NULL,
    high_assurance INTEGER NOT NULL DEFAULT 0,
    unmapped TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS collection_roles (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    collection_id TEXT NOT NULL,
    principal_type TEXT NOT NULL,
    principal TEXT NOT NULL,
    role TEXT NOT NULL,
    created REAL NOT NULL,
    UNIQUE (collection_id, principal_type, principal, role)
);
CREATE TABLE IF NOT EXISTS acl_rules (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    collection_id TEXT NOT NULL,
    principal_type TEXT NOT NULL,
    principal TEXT NOT NULL,
    path TEXT NOT NULL,
    permissions TEXT NOT NULL,
    create_time REAL NOT NULL,
    expiration_date REAL,
    created_by TEXT
);
CREATE INDEX IF NOT EXISTS acl_rules_by_collection ON acl_rules (collection_id);
CREATE TABLE IF NOT EXISTS notifications (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    collection_id TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    principal_type TEXT NOT NULL,
    principal TEXT NOT NULL,
    email TEXT,
    message TEXT,
    sent_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS fs_entries (
    collection_id TEXT NOT NULL,
    path TEXT NOT NULL,
    type TEXT NOT NULL,
    size INTEGER NOT NULL DEFAULT 0,
    checksum TEXT,
    mtime REAL NOT NULL,
    PRIMARY KEY (collection_id, path)
);
CREATE TABLE IF NOT EXISTS submission_ids (
    id TEXT PRIMARY KEY,
    issued_to TEXT NOT NULL,
    issued_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS tasks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id TEXT NOT NULL UNIQUE,
    submission_id TEXT UNIQUE,
    type TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    status TEXT NOT NULL,
    source_endpoint_id TEXT,
    destination_endpoint_id TEXT,
    request_time REAL NOT NULL,
    started_at REAL,
    due_at REAL,
    completion_time REAL,
    items TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_by_status ON tasks (status, due_at);
CREATE TABLE IF NOT EXISTS successful_transfers (
    task_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    source_path TEXT NOT NULL,
    destination_path TEXT NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (task_id, seq)
);
CREATE TABLE IF NOT EXISTS globus_groups (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS memberships (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id TEXT NOT NULL,
    identity_id TEXT NOT NULL,
    role TEXT NOT NULL,
    status TEXT NOT NULL,
    updated REAL NOT NULL,
    UNIQUE (group_id, identity_id)
);
CREATE TABLE IF NOT EXISTS identity_links (
    identity_id TEXT PRIMARY KEY,
    primary_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS group_opt_outs (identity_id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS subgroups (
    group_id TEXT PRIMARY KEY,
    parent_id TEXT NOT NULL
);
"""

WORLD_TABLES = (
    "identities",
    "clients",
    "tokens",
    "collections",
    "collection_kinds",
    "collection_roles",
    "acl_rules",
    "notifications",
    "fs_entries",
    "submission_ids",
    "tasks",
    "successful_transfers",
    "globus_groups",
    "memberships",
    "identity_links",
    "group_opt_outs",
    "subgroups",
)


def resolve_db_path(explicit: Path | str | None = None) -> Path:
    """``--db`` if given, else ``$RECONCILER_SANDBOX_DB``, else ``.reconciler/sandbox.db``."""
    if explicit:
        return Path(explicit)
    from_env = os.environ.get(DB_ENV)
    if from_env:
        return Path(from_env)
    return DEFAULT_DB


class Store:
    """One SQLite database holding one world; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are begun explicitly below, so a
        # request's reads and writes form one IMMEDIATE transaction.
        self._conn = sqlite3.connect(
            str(path), check_same_thread=False, isolation_level=None, timeout=10.0
        )
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(_SCHEMA)
            self._conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                (SCHEMA_VERSION,),
            )

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Serialise with every other request of this process and run one transaction."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def get_meta(conn: sqlite3.Connection, key: str, default: str) -> str:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return default if row is None else str(row["value"])


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def wipe(conn: sqlite3.Connection) -> None:
    """Empty the world: every table, the clock offset and the settings."""
    for table in WORLD_TABLES:
        conn.execute(f"DELETE FROM {table}")
    conn.execute("DELETE FROM meta WHERE key != 'schema_version'")
