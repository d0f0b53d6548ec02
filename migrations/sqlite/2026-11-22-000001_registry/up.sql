-- The registry: organizations, sites, domains, accounts, exceptions and
-- the audit trail. Times are UTC. Nothing is ever deleted: triggers refuse.

CREATE TABLE organizations (
    id INTEGER PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    division TEXT NOT NULL,
    level TEXT NOT NULL,
    parent_id BIGINT REFERENCES organizations(id),
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE org_contacts (
    id INTEGER PRIMARY KEY NOT NULL,
    org_id BIGINT NOT NULL REFERENCES organizations(id),
    kind TEXT NOT NULL CHECK (kind IN ('email', 'webhook')),
    value TEXT NOT NULL,
    UNIQUE (org_id, kind, value)
);

CREATE TABLE sites (
    id INTEGER PRIMARY KEY NOT NULL,
    code TEXT,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    org_id BIGINT NOT NULL REFERENCES organizations(id),
    status TEXT NOT NULL,
    icp_filing TEXT,
    psb_filing TEXT,
    approval_ref TEXT,
    retirement_ref TEXT,
    successor_url TEXT,
    status_reason TEXT,
    requested_at TIMESTAMP,
    approved_at TIMESTAMP,
    rejected_at TIMESTAMP,
    live_at TIMESTAMP,
    suspended_at TIMESTAMP,
    retiring_at TIMESTAMP,
    notice_until TIMESTAMP,
    offline_at TIMESTAMP,
    closed_at TIMESTAMP,
    status_changed_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL
);
-- An identifier code is unique among sites that are not closed.
CREATE UNIQUE INDEX sites_code_open ON sites(code) WHERE code IS NOT NULL AND status <> 'closed';
CREATE INDEX sites_org ON sites(org_id);
CREATE INDEX sites_code ON sites(code);

CREATE TABLE domains (
    id INTEGER PRIMARY KEY NOT NULL,
    site_id BIGINT NOT NULL REFERENCES sites(id),
    hostname TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('primary', 'alias')),
    state TEXT NOT NULL CHECK (state IN ('active', 'releasing', 'released')),
    release_deadline TIMESTAMP,
    released_at TIMESTAMP,
    added_at TIMESTAMP NOT NULL
);
-- A host name is held (active or releasing) by at most one site.
CREATE UNIQUE INDEX domains_hostname_held ON domains(hostname) WHERE state <> 'released';
CREATE INDEX domains_hostname ON domains(hostname);
CREATE INDEX domains_site ON domains(site_id);

CREATE TABLE accounts (
    id INTEGER PRIMARY KEY NOT NULL,
    platform TEXT NOT NULL,
    account_id TEXT NOT NULL,
    name TEXT NOT NULL,
    org_id BIGINT NOT NULL REFERENCES organizations(id),
    status TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'closed')),
    feed_url TEXT,
    last_post_at TIMESTAMP,
    status_reason TEXT,
    status_changed_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX accounts_open ON accounts(platform, account_id) WHERE status <> 'closed';

-- Comply-or-explain exceptions: a kind of rule waived for a subject.
CREATE TABLE exceptions (
    id INTEGER PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    reason TEXT NOT NULL,
    actor TEXT NOT NULL,
    valid_until TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX exceptions_subject ON exceptions(kind, subject);

CREATE TABLE audit (
    id INTEGER PRIMARY KEY NOT NULL,
    recorded_at TIMESTAMP NOT NULL,
    effective_at TIMESTAMP NOT NULL,
    actor TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id BIGINT NOT NULL,
    site_id BIGINT,
    action TEXT NOT NULL,
    before_json TEXT,
    after_json TEXT,
    reason TEXT,
    warnings TEXT
);
CREATE INDEX audit_site ON audit(site_id);
CREATE INDEX audit_entity ON audit(entity, entity_id);

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER organizations_no_delete BEFORE DELETE ON organizations
BEGIN SELECT RAISE(ABORT, 'registry rows are never deleted: change their state'); END;
CREATE TRIGGER sites_no_delete BEFORE DELETE ON sites
BEGIN SELECT RAISE(ABORT, 'registry rows are never deleted: change their state'); END;
CREATE TRIGGER domains_no_delete BEFORE DELETE ON domains
BEGIN SELECT RAISE(ABORT, 'registry rows are never deleted: change their state'); END;
CREATE TRIGGER accounts_no_delete BEFORE DELETE ON accounts
BEGIN SELECT RAISE(ABORT, 'registry rows are never deleted: change their state'); END;
