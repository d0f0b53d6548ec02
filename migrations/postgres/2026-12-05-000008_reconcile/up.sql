-- Quarterly reconciliation runs: each run's whole report (discrepancies,
-- the national fix list, counts) as JSON, so that `reconcile show` writes
-- the same files again; the counts beside it for listing.
CREATE TABLE reconcile_runs (
    id BIGSERIAL PRIMARY KEY,
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

-- The `reconcile` job joins the jobs a run can be of.
ALTER TABLE runs
    DROP CONSTRAINT runs_job_check,
    ADD CONSTRAINT runs_job_check CHECK (job IN ('probe', 'feeds', 'discover', 'retain', 'confirm', 'reconcile'));
