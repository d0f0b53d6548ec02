DELETE FROM notifications WHERE kind IN ('maintenance_started', 'maintenance_ended');
ALTER TABLE notifications DROP COLUMN findings_sent;
ALTER TABLE notifications DROP COLUMN window_id;
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check CHECK (kind IN ('opened', 'repeat', 'resolved', 'overdue', 'test'));
DROP TABLE maintenance_windows;
DROP TABLE sink_sends;
DROP TABLE sink_states;
