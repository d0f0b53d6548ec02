ALTER TABLE observations DROP COLUMN schema;
DROP TABLE instances;
DROP TABLE work;
ALTER TABLE runs
    DROP CONSTRAINT runs_job_check,
    ADD CONSTRAINT runs_job_check CHECK (job IN ('probe', 'feeds', 'discover'));
