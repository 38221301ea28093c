-- The safety of deletions (issue 11). scheduled_removals: pruned grants' directories
-- waiting out their collection's policy.prune_grace (recorded before the rule is
-- deleted; the due date never moves). spec_inventory: the spec files of the last
-- successful pass and the grants and memberships they held, for the deletion guard.
CREATE TABLE scheduled_removals (
    collection_id TEXT NOT NULL, path TEXT NOT NULL,
    principal_type TEXT NOT NULL, principal_id TEXT NOT NULL, principal_label TEXT NOT NULL,
    due TIMESTAMPTZ NOT NULL, at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (collection_id, path)
);
CREATE TABLE spec_inventory (
    file TEXT PRIMARY KEY, held INTEGER NOT NULL, at TIMESTAMPTZ NOT NULL
);
