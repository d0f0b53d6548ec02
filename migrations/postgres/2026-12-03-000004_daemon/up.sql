-- The daemon: each run names its job and the fire time it ran for, and
-- is recorded when it starts (status `running`), so that a run cut short
-- by a crash is found and marked `interrupted` at the next start. A
-- unique (job, fire time) makes a scheduled run happen once.
ALTER TABLE runs
    ADD COLUMN job TEXT NOT NULL DEFAULT 'probe' CHECK (job IN ('probe', 'feeds', 'discover')),
    ADD COLUMN fire_at TIMESTAMP,
    ADD COLUMN instance TEXT,
    DROP CONSTRAINT runs_status_check,
    ADD CONSTRAINT runs_status_check CHECK (status IN ('running', 'ok', 'measurement_failed', 'interrupted', 'failed'));
CREATE UNIQUE INDEX runs_fire ON runs(job, fire_at);
CREATE INDEX runs_status ON runs(status);

-- The next fire time of each scheduled job, kept across restarts: a
-- restart neither skips nor doubles a run.
CREATE TABLE schedules (
    job TEXT PRIMARY KEY NOT NULL,
    expression TEXT NOT NULL,
    next_at TIMESTAMP NOT NULL
);
