DROP TABLE report_runs;
DELETE FROM runs WHERE job = 'report';
ALTER TABLE runs
    DROP CONSTRAINT runs_job_check,
    ADD CONSTRAINT runs_job_check CHECK (job IN ('probe', 'feeds', 'discover', 'retain', 'confirm', 'reconcile'));
