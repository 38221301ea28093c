-- The first schema. IF NOT EXISTS: stores made before numbered migrations already
-- have these tables, and adopt them as version 1. Times are ISO 8601 text in UTC.
CREATE TABLE IF NOT EXISTS stagings (
    key TEXT PRIMARY KEY,
    collection_id TEXT NOT NULL, principal_type TEXT NOT NULL, principal TEXT NOT NULL,
    path TEXT NOT NULL, source_collection_id TEXT NOT NULL, source_path TEXT NOT NULL,
    status TEXT NOT NULL, submission_id TEXT, task_id TEXT,
    attempts INTEGER NOT NULL DEFAULT 0, next_attempt TEXT, error TEXT, updated TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS consumed (
    key TEXT PRIMARY KEY,
    collection_id TEXT NOT NULL, principal_type TEXT NOT NULL, principal TEXT NOT NULL,
    path TEXT NOT NULL, at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS made_directories (
    collection_id TEXT NOT NULL, path TEXT NOT NULL, at TEXT NOT NULL,
    PRIMARY KEY (collection_id, path)
);
CREATE TABLE IF NOT EXISTS pending_directories (
    collection_id TEXT NOT NULL, path TEXT NOT NULL, at TEXT NOT NULL,
    PRIMARY KEY (collection_id, path)
);
CREATE TABLE IF NOT EXISTS removals (
    collection_id TEXT NOT NULL, path TEXT NOT NULL, task_id TEXT NOT NULL, at TEXT NOT NULL,
    PRIMARY KEY (collection_id, path)
);
CREATE TABLE IF NOT EXISTS downloads (
    key TEXT NOT NULL, file TEXT NOT NULL, PRIMARY KEY (key, file)
);
CREATE TABLE IF NOT EXISTS download_tasks (
    task_id TEXT PRIMARY KEY, collection_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS watermarks (
    collection_id TEXT PRIMARY KEY, checked_until TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL, event TEXT NOT NULL, "where" TEXT NOT NULL, principal TEXT NOT NULL,
    reason TEXT NOT NULL, detail TEXT NOT NULL, pass_id TEXT NOT NULL, status TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_at ON journal (at);
