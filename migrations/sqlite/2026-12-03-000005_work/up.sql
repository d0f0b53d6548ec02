-- Several instances share a cycle. The `retain` and `confirm` jobs join
-- the jobs a run can be of (SQLite cannot change a CHECK constraint in place: the table
-- is rebuilt).
CREATE TABLE runs_new (
    id INTEGER PRIMARY KEY NOT NULL,
    job TEXT NOT NULL DEFAULT 'probe' CHECK (job IN ('probe', 'feeds', 'discover', 'retain', 'confirm')),
    fire_at TIMESTAMP,
    instance TEXT,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP NOT NULL,
    hosts BIGINT NOT NULL,
    measurement_failures BIGINT NOT NULL,
    failures TEXT NOT NULL,
    opened BIGINT NOT NULL,
    resolved BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'ok', 'measurement_failed', 'interrupted', 'failed'))
);
INSERT INTO runs_new (id, job, fire_at, instance, started_at, finished_at, hosts, measurement_failures, failures, opened, resolved, status)
    SELECT id, job, fire_at, instance, started_at, finished_at, hosts, measurement_failures, failures, opened, resolved, status FROM runs;
DROP TABLE runs;
ALTER TABLE runs_new RENAME TO runs;
CREATE UNIQUE INDEX runs_fire ON runs(job, fire_at);
CREATE INDEX runs_status ON runs(status);

-- A probe run's host names, claimed in batches by whichever instance is
-- free: the owner holds a batch until `lease_until`; a crashed owner's
-- lease expires and another takes the batch over. `claims` counts the
-- takings (more than one only after an expiry).
CREATE TABLE work (
    id INTEGER PRIMARY KEY NOT NULL,
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
