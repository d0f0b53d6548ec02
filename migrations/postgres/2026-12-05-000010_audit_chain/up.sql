-- The audit trail becomes tamper-evident: each row carries the hash of its
-- content and of the row before it (one chain over the whole table, in
-- insertion order), and rows about a site, an organization or an account
-- carry that entity's whole state after the change, so that
-- `siteward audit verify` can compare the registry with what was audited.
-- Rows written before this migration are sealed once by siteward right
-- after it (their hashes filled in), then never again.
ALTER TABLE audit
    ADD COLUMN state_json TEXT,
    ADD COLUMN prev_hash TEXT,
    ADD COLUMN row_hash TEXT,
    -- Where the actor's name came from: `--actor`, $USER, $LOGNAME, the
    -- system's user database, or siteward itself.
    ADD COLUMN actor_source TEXT;

DROP TRIGGER audit_no_update ON audit;
CREATE TRIGGER audit_no_update BEFORE UPDATE OF id, recorded_at, effective_at, actor, entity, entity_id, site_id, action, before_json, after_json, reason, warnings, state_json, actor_source ON audit
FOR EACH ROW EXECUTE FUNCTION siteward_refuse('the audit trail is append-only');
-- Only the one-time sealing of rows written before the chain.
CREATE TRIGGER audit_sealed BEFORE UPDATE OF prev_hash, row_hash ON audit
FOR EACH ROW WHEN (OLD.row_hash IS NOT NULL)
EXECUTE FUNCTION siteward_refuse('the audit trail is append-only');

-- Every table that holds history refuses deletes.
CREATE TRIGGER exceptions_no_delete BEFORE DELETE ON exceptions
FOR EACH ROW EXECUTE FUNCTION siteward_refuse('exceptions are never deleted: end them');
CREATE TRIGGER org_contacts_no_delete BEFORE DELETE ON org_contacts
FOR EACH ROW EXECUTE FUNCTION siteward_refuse('registry rows are never deleted: change their state');
CREATE TRIGGER findings_no_delete BEFORE DELETE ON findings
FOR EACH ROW EXECUTE FUNCTION siteward_refuse('findings are never deleted: they are resolved');
CREATE TRIGGER finding_events_no_delete BEFORE DELETE ON finding_events
FOR EACH ROW EXECUTE FUNCTION siteward_refuse('a finding''s events are never deleted');

-- Row triggers do not fire on TRUNCATE: statement triggers refuse it, on
-- every table a cascade could reach too.
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
FOR EACH STATEMENT EXECUTE FUNCTION siteward_refuse('the audit trail is append-only');
CREATE TRIGGER organizations_no_truncate BEFORE TRUNCATE ON organizations
FOR EACH STATEMENT EXECUTE FUNCTION siteward_refuse('registry rows are never deleted: change their state');
CREATE TRIGGER org_contacts_no_truncate BEFORE TRUNCATE ON org_contacts
FOR EACH STATEMENT EXECUTE FUNCTION siteward_refuse('registry rows are never deleted: change their state');
CREATE TRIGGER sites_no_truncate BEFORE TRUNCATE ON sites
FOR EACH STATEMENT EXECUTE FUNCTION siteward_refuse('registry rows are never deleted: change their state');
CREATE TRIGGER domains_no_truncate BEFORE TRUNCATE ON domains
FOR EACH STATEMENT EXECUTE FUNCTION siteward_refuse('registry rows are never deleted: change their state');
CREATE TRIGGER accounts_no_truncate BEFORE TRUNCATE ON accounts
FOR EACH STATEMENT EXECUTE FUNCTION siteward_refuse('registry rows are never deleted: change their state');
CREATE TRIGGER exceptions_no_truncate BEFORE TRUNCATE ON exceptions
FOR EACH STATEMENT EXECUTE FUNCTION siteward_refuse('exceptions are never deleted: end them');
CREATE TRIGGER findings_no_truncate BEFORE TRUNCATE ON findings
FOR EACH STATEMENT EXECUTE FUNCTION siteward_refuse('findings are never deleted: they are resolved');
CREATE TRIGGER finding_events_no_truncate BEFORE TRUNCATE ON finding_events
FOR EACH STATEMENT EXECUTE FUNCTION siteward_refuse('a finding''s events are never deleted');

-- The `audit` job (the daily verification) joins the jobs a run can be of.
ALTER TABLE runs
    DROP CONSTRAINT runs_job_check,
    ADD CONSTRAINT runs_job_check CHECK (job IN ('probe', 'feeds', 'discover', 'retain', 'confirm', 'reconcile', 'report', 'audit'));
