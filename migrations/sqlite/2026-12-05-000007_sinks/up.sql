-- Each sink's state as the sender last found it, shared by every
-- instance: ok, rate-limited until a time (a robot asked us to wait), or
-- broken with the reason (removed, misconfigured).
CREATE TABLE sink_states (
    sink TEXT PRIMARY KEY NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('ok', 'limited', 'broken')),
    limited_until TIMESTAMP,
    reason TEXT,
    changed_at TIMESTAMP NOT NULL,
    last_delivered_at TIMESTAMP
);

-- What was sent to each rate-limited sink within its longest window,
-- counted by every instance before it sends.
CREATE TABLE sink_sends (
    id INTEGER PRIMARY KEY NOT NULL,
    sink TEXT NOT NULL,
    sent_at TIMESTAMP NOT NULL
);
CREATE INDEX sink_sends_by_sink ON sink_sends(sink, sent_at);

-- Maintenance windows: while one is on, the notifications of its site or
-- organization are held (findings are not); when it ends, what is still
-- open is told. started_notice and ended_notice are the occurrence whose
-- notice was planned, so each is told once.
CREATE TABLE maintenance_windows (
    id INTEGER PRIMARY KEY NOT NULL,
    site_id BIGINT REFERENCES sites(id),
    org_id BIGINT REFERENCES organizations(id),
    cron TEXT NOT NULL,
    duration_secs BIGINT NOT NULL CHECK (duration_secs > 0),
    reason TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP,
    started_notice TIMESTAMP,
    ended_notice TIMESTAMP,
    CHECK ((site_id IS NULL) <> (org_id IS NULL))
);

-- The outbox gains the maintenance notices, the window a notice tells
-- of, and how many findings of a split message were delivered (a retry
-- sends the rest, not the parts already delivered). SQLite cannot alter
-- a CHECK, so the table is rebuilt.
CREATE TABLE notifications_new (
    id INTEGER PRIMARY KEY NOT NULL,
    key TEXT NOT NULL UNIQUE,
    sink TEXT NOT NULL,
    org_id BIGINT REFERENCES organizations(id),
    kind TEXT NOT NULL CHECK (kind IN ('opened', 'repeat', 'resolved', 'overdue', 'test', 'maintenance_started', 'maintenance_ended')),
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
    answer TEXT,
    window_id BIGINT REFERENCES maintenance_windows(id),
    findings_sent BIGINT NOT NULL DEFAULT 0
);
INSERT INTO notifications_new (id, key, sink, org_id, kind, findings, body, status, created_at, send_after, attempts, next_attempt_at, lease_owner, lease_until, delivered_at, last_error, answer)
    SELECT id, key, sink, org_id, kind, findings, body, status, created_at, send_after, attempts, next_attempt_at, lease_owner, lease_until, delivered_at, last_error, answer FROM notifications;
DROP TABLE notifications;
ALTER TABLE notifications_new RENAME TO notifications;
CREATE INDEX notifications_due ON notifications(status, next_attempt_at);
CREATE INDEX notifications_group ON notifications(sink, org_id, kind, status);
