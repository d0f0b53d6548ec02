-- Quarterly circulars: each one whole (its text, tables and figures) as
-- JSON, so that `report show` renders the same files again whatever the
-- registry became since; the headline figures beside it for listing.
CREATE TABLE report_runs (
    id INTEGER PRIMARY KEY NOT NULL,
    quarter TEXT NOT NULL,
    as_of TIMESTAMP NOT NULL,
    complete BOOLEAN NOT NULL,
    generated_at TIMESTAMP NOT NULL,
    trigger TEXT NOT NULL CHECK (trigger IN ('manual', 'scheduled')),
    actor TEXT NOT NULL,
    reconcile_run BIGINT REFERENCES reconcile_runs(id),
    sites BIGINT NOT NULL,
    sites_failed BIGINT NOT NULL,
    circular TEXT NOT NULL
);
CREATE INDEX report_runs_by_quarter ON report_runs(quarter, id);

-- The `report` job joins the jobs a run can be of: `runs` rebuilt as in
-- the reconcile migration (SQLite cannot change a CHECK in place).
CREATE TABLE runs_new (
    id INTEGER PRIMARY KEY NOT NULL,
    job TEXT NOT NULL DEFAULT 'probe' CHECK (job IN ('probe', 'feeds', 'discover', 'retain', 'confirm', 'reconcile', 'report')),
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
