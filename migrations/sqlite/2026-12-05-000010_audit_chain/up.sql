-- The audit trail becomes tamper-evident: each row carries the hash of its
-- content and of the row before it (one chain over the whole table, in
-- insertion order), and rows about a site, an organization or an account
-- carry that entity's whole state after the change, so that
-- `siteward audit verify` can compare the registry with what was audited.
-- Rows written before this migration are sealed once by siteward right
-- after it (their hashes filled in), then never again.
ALTER TABLE audit ADD COLUMN state_json TEXT;
ALTER TABLE audit ADD COLUMN prev_hash TEXT;
ALTER TABLE audit ADD COLUMN row_hash TEXT;
-- Where the actor's name came from: `--actor`, $USER, $LOGNAME, the
-- system's user database, or siteward itself.
ALTER TABLE audit ADD COLUMN actor_source TEXT;

DROP TRIGGER audit_no_update;
CREATE TRIGGER audit_no_update BEFORE UPDATE OF id, recorded_at, effective_at, actor, entity, entity_id, site_id, action, before_json, after_json, reason, warnings, state_json, actor_source ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
-- Only the one-time sealing of rows written before the chain.
CREATE TRIGGER audit_sealed BEFORE UPDATE OF prev_hash, row_hash ON audit
WHEN OLD.row_hash IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;

-- Every table that holds history refuses deletes (SQLite has no TRUNCATE:
-- an unqualified DELETE fires these row triggers).
CREATE TRIGGER exceptions_no_delete BEFORE DELETE ON exceptions
BEGIN SELECT RAISE(ABORT, 'exceptions are never deleted: end them'); END;
CREATE TRIGGER org_contacts_no_delete BEFORE DELETE ON org_contacts
BEGIN SELECT RAISE(ABORT, 'registry rows are never deleted: change their state'); END;
CREATE TRIGGER findings_no_delete BEFORE DELETE ON findings
BEGIN SELECT RAISE(ABORT, 'findings are never deleted: they are resolved'); END;
CREATE TRIGGER finding_events_no_delete BEFORE DELETE ON finding_events
BEGIN SELECT RAISE(ABORT, 'a finding''s events are never deleted'); END;

-- The `audit` job (the daily verification) joins the jobs a run can be
-- of: `runs` rebuilt as in the reports migration.
CREATE TABLE runs_new (
    id INTEGER PRIMARY KEY NOT NULL,
    job TEXT NOT NULL DEFAULT 'probe' CHECK (job IN ('probe', 'feeds', 'discover', 'retain', 'confirm', 'reconcile', 'report', 'audit')),
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
