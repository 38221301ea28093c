-- Refused group additions (Globus Groups would not add the identity), so the add is
-- not retried on every pass.
CREATE TABLE member_refusals (
    group_id TEXT NOT NULL, identity_id TEXT NOT NULL, detail TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (group_id, identity_id)
);
