-- The first schema: the same tables and keys as SQLite's, with native times.
CREATE TABLE stagings (
    key TEXT PRIMARY KEY,
    collection_id TEXT NOT NULL, principal_type TEXT NOT NULL, principal TEXT NOT NULL,
    path TEXT NOT NULL, source_collection_id TEXT NOT NULL, source_path TEXT NOT NULL,
    status TEXT NOT NULL, submission_id TEXT, task_id TEXT,
    attempts INTEGER NOT NULL DEFAULT 0, next_attempt TIMESTAMPTZ, error TEXT,
    updated TIMESTAMPTZ NOT NULL
);
CREATE TABLE consumed (
    key TEXT PRIMARY KEY,
    collection_id TEXT NOT NULL, principal_type TEXT NOT NULL, principal TEXT NOT NULL,
    path TEXT NOT NULL, at TIMESTAMPTZ NOT NULL
);
CREATE TABLE made_directories (
    collection_id TEXT NOT NULL, path TEXT NOT NULL, at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (collection_id, path)
);
CREATE TABLE pending_directories (
    collection_id TEXT NOT NULL, path TEXT NOT NULL, at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (collection_id, path)
);
CREATE TABLE removals (
    collection_id TEXT NOT NULL, path TEXT NOT NULL, task_id TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (collection_id, path)
);
CREATE TABLE downloads (
    key TEXT NOT NULL, file TEXT NOT NULL, PRIMARY KEY (key, file)
);
CREATE TABLE download_tasks (
    task_id TEXT PRIMARY KEY, collection_id TEXT NOT NULL
);
CREATE TABLE watermarks (
    collection_id TEXT PRIMARY KEY, checked_until TIMESTAMPTZ NOT NULL
);
CREATE TABLE journal (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL, event TEXT NOT NULL, "where" TEXT NOT NULL,
    principal TEXT NOT NULL, reason TEXT NOT NULL, detail TEXT NOT NULL,
    pass_id TEXT NOT NULL, status TEXT NOT NULL
);
CREATE INDEX journal_at ON journal (at);
