-- The same table as on PostgreSQL, where lock holders record their leases. Unused on
-- SQLite: a flock is only lost when its process dies, so there is nothing to wait out.
CREATE TABLE IF NOT EXISTS lock_leases (
    key INTEGER PRIMARY KEY, until TEXT NOT NULL
);
