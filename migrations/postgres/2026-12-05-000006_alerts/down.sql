DROP TABLE notifications;
ALTER TABLE findings DROP COLUMN overdue_at;
ALTER TABLE findings DROP COLUMN notified_at;
ALTER TABLE findings DROP COLUMN opened_at;
DROP TABLE finding_events;
