DROP TRIGGER exceptions_no_delete;
DROP TRIGGER org_contacts_no_delete;
DROP TRIGGER findings_no_delete;
DROP TRIGGER finding_events_no_delete;
DROP TRIGGER audit_sealed;
DROP TRIGGER audit_no_update;
ALTER TABLE audit DROP COLUMN state_json;
ALTER TABLE audit DROP COLUMN prev_hash;
ALTER TABLE audit DROP COLUMN row_hash;
ALTER TABLE audit DROP COLUMN actor_source;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
-- The runs table keeps its wider CHECK: a rebuild back would only lose
-- the audit runs' history.
