-- Refused group additions (Globus Groups would not add the identity), so the add is
-- not retried on every pass. IF NOT EXISTS: stores made before numbered migrations
-- by a version that already had the table adopt it.
CREATE TABLE IF NOT EXISTS member_refusals (
    group_id TEXT NOT NULL, identity_id TEXT NOT NULL, detail TEXT NOT NULL, at TEXT NOT NULL,
    PRIMARY KEY (group_id, identity_id)
);
