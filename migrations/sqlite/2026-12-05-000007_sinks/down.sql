DELETE FROM notifications WHERE kind IN ('maintenance_started', 'maintenance_ended');
CREATE TABLE notifications_old (
    id INTEGER PRIMARY KEY NOT NULL,
    key TEXT NOT NULL UNIQUE,
    sink TEXT NOT NULL,
    org_id BIGINT REFERENCES organizations(id),
    kind TEXT NOT NULL CHECK (kind IN ('opened', 'repeat', 'resolved', 'overdue', 'test')),
    findings TEXT NOT NULL,
    body TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed', 'cancelled')),
    created_at TIMESTAMP NOT NULL,
    send_after TIMESTAMP NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_owner TEXT,
    lease_until TIMESTAMP,
    delivered_at TIMESTAMP,
    last_error TEXT,
    answer TEXT
);
INSERT INTO notifications_old SELECT id, key, sink, org_id, kind, findings, body, status, created_at, send_after, attempts, next_attempt_at, lease_owner, lease_until, delivered_at, last_error, answer FROM notifications;
DROP TABLE notifications;
ALTER TABLE notifications_old RENAME TO notifications;
CREATE INDEX notifications_due ON notifications(status, next_attempt_at);
CREATE INDEX notifications_group ON notifications(sink, org_id, kind, status);
DROP TABLE maintenance_windows;
DROP TABLE sink_sends;
DROP TABLE sink_states;
