-- Several instances share a cycle. The `retain` and `confirm` jobs join
-- the jobs a run can be of.
ALTER TABLE runs
    DROP CONSTRAINT runs_job_check,
    ADD CONSTRAINT runs_job_check CHECK (job IN ('probe', 'feeds', 'discover', 'retain', 'confirm'));

-- A probe run's host names, claimed in batches by whichever instance is
-- free (FOR UPDATE SKIP LOCKED): the owner holds a batch until
-- `lease_until` (the database's clock); a crashed owner's lease expires
-- and another takes the batch over. `claims` counts the takings (more
-- than one only after an expiry).
CREATE TABLE work (
    id BIGSERIAL PRIMARY KEY,
    run_id BIGINT NOT NULL REFERENCES runs(id),
    hostname TEXT NOT NULL,
    names TEXT NOT NULL,
    owner TEXT,
    lease_until TIMESTAMP,
    claims BIGINT NOT NULL DEFAULT 0,
    done_at TIMESTAMP
);
CREATE UNIQUE INDEX work_host ON work(run_id, hostname);
CREATE INDEX work_open ON work(run_id, done_at);

-- The daemons sharing this database, with their last heartbeat.
CREATE TABLE instances (
    name TEXT PRIMARY KEY NOT NULL,
    started_at TIMESTAMP NOT NULL,
    heartbeat_at TIMESTAMP NOT NULL
);

-- The stored form of an observation carries its version: a form that
-- changes is upgraded when read, never taken for corrupt. Rows written
-- before this are version 1 (pages with every link).
ALTER TABLE observations ADD COLUMN schema INTEGER NOT NULL DEFAULT 1;
