ALTER TABLE org_contacts DROP COLUMN removed_at;
