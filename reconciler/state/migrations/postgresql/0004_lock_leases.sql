-- How long the holder of each target lock key may still act: renewed with every
-- confirmation of the lock and deleted when it is given up. A process that takes a key
-- whose row is still in the future waits until then: the previous holder's session was
-- ended under it (a restart, pg_terminate_backend) and it may not know yet.
CREATE TABLE lock_leases (
    key BIGINT PRIMARY KEY, until TIMESTAMPTZ NOT NULL
);
