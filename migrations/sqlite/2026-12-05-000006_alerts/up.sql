-- Every change of a finding, written in the transaction that makes it.
CREATE TABLE finding_events (
    id INTEGER PRIMARY KEY NOT NULL,
    finding_id BIGINT NOT NULL REFERENCES findings(id),
    at TIMESTAMP NOT NULL,
    change TEXT NOT NULL CHECK (change IN ('detected', 'opened', 'severity_changed', 'acknowledged', 'suppressed', 'resolved', 'reopened')),
    status TEXT NOT NULL,
    severity TEXT NOT NULL,
    actor TEXT,
    note TEXT
);
CREATE INDEX finding_events_finding ON finding_events(finding_id);

-- When a finding was confirmed open (its rectification deadline counts
-- from then), last announced, and announced overdue.
ALTER TABLE findings ADD COLUMN opened_at TIMESTAMP;
ALTER TABLE findings ADD COLUMN notified_at TIMESTAMP;
ALTER TABLE findings ADD COLUMN overdue_at TIMESTAMP;
-- Findings open before this count from when they were first seen.
UPDATE findings SET opened_at = first_seen WHERE status IN ('open', 'acknowledged');

-- The outbox: one message to one sink about one organization's findings,
-- planned in the transaction of the events it tells of. Its body is
-- frozen when first claimed, so every attempt sends the same bytes under
-- the same key.
CREATE TABLE notifications (
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
CREATE INDEX notifications_due ON notifications(status, next_attempt_at);
CREATE INDEX notifications_group ON notifications(sink, org_id, kind, status);
