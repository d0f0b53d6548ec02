DROP TABLE schedules;
DROP INDEX runs_status;
DROP INDEX runs_fire;
CREATE TABLE runs_old (
    id INTEGER PRIMARY KEY NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP NOT NULL,
    hosts BIGINT NOT NULL,
    measurement_failures BIGINT NOT NULL,
    failures TEXT NOT NULL,
    opened BIGINT NOT NULL,
    resolved BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'measurement_failed'))
);
INSERT INTO runs_old SELECT id, started_at, finished_at, hosts, measurement_failures, failures, opened, resolved, status
    FROM runs WHERE job = 'probe' AND status IN ('ok', 'measurement_failed');
DROP TABLE runs;
ALTER TABLE runs_old RENAME TO runs;
