-- The daemon: each run names its job and the fire time it ran for, and
-- is recorded when it starts (status `running`), so that a run cut short
-- by a crash is found and marked `interrupted` at the next start. A
-- unique (job, fire time) makes a scheduled run happen once. SQLite cannot
-- change a CHECK constraint in place: the table is rebuilt.
CREATE TABLE runs_new (
    id INTEGER PRIMARY KEY NOT NULL,
    job TEXT NOT NULL DEFAULT 'probe' CHECK (job IN ('probe', 'feeds', 'discover')),
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
INSERT INTO runs_new (id, job, started_at, finished_at, hosts, measurement_failures, failures, opened, resolved, status)
    SELECT id, 'probe', started_at, finished_at, hosts, measurement_failures, failures, opened, resolved, status FROM runs;
DROP TABLE runs;
ALTER TABLE runs_new RENAME TO runs;
CREATE UNIQUE INDEX runs_fire ON runs(job, fire_at);
CREATE INDEX runs_status ON runs(status);

-- The next fire time of each scheduled job, kept across restarts: a
-- restart neither skips nor doubles a run.
CREATE TABLE schedules (
    job TEXT PRIMARY KEY NOT NULL,
    expression TEXT NOT NULL,
    next_at TIMESTAMP NOT NULL
);
