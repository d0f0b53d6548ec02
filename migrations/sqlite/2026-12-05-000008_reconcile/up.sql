-- Quarterly reconciliation runs: each run's whole report (discrepancies,
-- the national fix list, counts) as JSON, so that `reconcile show` writes
-- the same files again; the counts beside it for listing.
CREATE TABLE reconcile_runs (
    id INTEGER PRIMARY KEY NOT NULL,
    quarter TEXT NOT NULL,
    as_of TIMESTAMP NOT NULL,
    complete BOOLEAN NOT NULL,
    ran_at TIMESTAMP NOT NULL,
    trigger TEXT NOT NULL CHECK (trigger IN ('manual', 'scheduled')),
    actor TEXT NOT NULL,
    discrepancies BIGINT NOT NULL,
    fixes BIGINT NOT NULL,
    report TEXT NOT NULL
);
CREATE INDEX reconcile_runs_by_quarter ON reconcile_runs(quarter, id);

-- The `reconcile` job joins the jobs a run can be of. SQLite cannot
-- change a CHECK constraint in place: `runs` is rebuilt, and `work`,
-- which refers to it, with it (dropped child first, so no reference
-- dangles at any point).
CREATE TABLE runs_new (
    id INTEGER PRIMARY KEY NOT NULL,
    job TEXT NOT NULL DEFAULT 'probe' CHECK (job IN ('probe', 'feeds', 'discover', 'retain', 'confirm', 'reconcile')),
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
INSERT INTO runs_new SELECT id, job, fire_at, instance, started_at, finished_at, hosts, measurement_failures, failures, opened, resolved, status FROM runs;
CREATE TABLE work_new (
    id INTEGER PRIMARY KEY NOT NULL,
    run_id BIGINT NOT NULL REFERENCES runs_new(id),
    hostname TEXT NOT NULL,
    names TEXT NOT NULL,
    owner TEXT,
    lease_until TIMESTAMP,
    claims BIGINT NOT NULL DEFAULT 0,
    done_at TIMESTAMP
);
INSERT INTO work_new SELECT id, run_id, hostname, names, owner, lease_until, claims, done_at FROM work;
DROP TABLE work;
DROP TABLE runs;
ALTER TABLE runs_new RENAME TO runs;
ALTER TABLE work_new RENAME TO work;
CREATE UNIQUE INDEX runs_fire ON runs(job, fire_at);
CREATE INDEX runs_status ON runs(status);
CREATE UNIQUE INDEX work_host ON work(run_id, hostname);
CREATE INDEX work_open ON work(run_id, done_at);
