-- An organization's contact (an e-mail, a webhook) is removed by marking
-- it, never by deleting its row (the database refuses DELETE on
-- org_contacts): `removed_at` is when it stopped being used, NULL while it
-- is in use. Alerts, `org show` and exports read only contacts in use; the
-- audit trail keeps every row.
ALTER TABLE org_contacts ADD COLUMN removed_at TIMESTAMP;
