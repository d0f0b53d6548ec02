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
    id BIGSERIAL PRIMARY KEY,
    sink TEXT NOT NULL,
    sent_at TIMESTAMP NOT NULL
);
CREATE INDEX sink_sends_by_sink ON sink_sends(sink, sent_at);

-- Maintenance windows: while one is on, the notifications of its site or
-- organization are held (findings are not); when it ends, what is still
-- open is told. started_notice and ended_notice are the occurrence whose
-- notice was planned, so each is told once.
CREATE TABLE maintenance_windows (
    id BIGSERIAL PRIMARY KEY,
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
-- sends the rest, not the parts already delivered).
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check CHECK (kind IN ('opened', 'repeat', 'resolved', 'overdue', 'test', 'maintenance_started', 'maintenance_ended'));
ALTER TABLE notifications ADD COLUMN window_id BIGINT REFERENCES maintenance_windows(id);
ALTER TABLE notifications ADD COLUMN findings_sent BIGINT NOT NULL DEFAULT 0;
