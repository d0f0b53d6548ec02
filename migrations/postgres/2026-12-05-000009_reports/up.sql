-- Quarterly circulars: each one whole (its text, tables and figures) as
-- JSON, so that `report show` renders the same files again whatever the
-- registry became since; the headline figures beside it for listing.
CREATE TABLE report_runs (
    id BIGSERIAL PRIMARY KEY,
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

-- The `report` job joins the jobs a run can be of.
ALTER TABLE runs
    DROP CONSTRAINT runs_job_check,
    ADD CONSTRAINT runs_job_check CHECK (job IN ('probe', 'feeds', 'discover', 'retain', 'confirm', 'reconcile', 'report'));
