-- Findings: what the rules concluded, with their lifecycle. A finding is
-- current (pending, open, acknowledged, suppressed) until it stops
-- holding and is resolved; at most one current finding per kind and
-- subject.
CREATE TABLE findings (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    scope TEXT NOT NULL,
    severity TEXT NOT NULL CHECK (severity IN ('critical', 'warning', 'info')),
    status TEXT NOT NULL CHECK (status IN ('pending', 'open', 'acknowledged', 'resolved', 'suppressed')),
    site_id BIGINT REFERENCES sites(id),
    org_id BIGINT REFERENCES organizations(id),
    summary TEXT NOT NULL,
    action TEXT NOT NULL,
    evidence TEXT NOT NULL,
    confirmations BIGINT NOT NULL,
    first_seen TIMESTAMP NOT NULL,
    last_seen TIMESTAMP NOT NULL,
    resolved_at TIMESTAMP,
    ack_actor TEXT,
    ack_note TEXT,
    ack_at TIMESTAMP
);
CREATE UNIQUE INDEX findings_current ON findings(kind, subject) WHERE status <> 'resolved';
CREATE INDEX findings_status ON findings(status);

-- Host names known beyond the registry, with where they were learnt.
CREATE TABLE discovered_hosts (
    id BIGSERIAL PRIMARY KEY,
    hostname TEXT NOT NULL,
    source TEXT NOT NULL,
    first_seen TIMESTAMP NOT NULL,
    last_seen TIMESTAMP NOT NULL,
    UNIQUE (hostname, source)
);

-- Check runs: what was probed and what could not be measured.
CREATE TABLE runs (
    id BIGSERIAL PRIMARY KEY,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP NOT NULL,
    hosts BIGINT NOT NULL,
    measurement_failures BIGINT NOT NULL,
    failures TEXT NOT NULL,
    opened BIGINT NOT NULL,
    resolved BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'measurement_failed'))
);
