-- API tokens: only the SHA-256 of each token is kept (the token itself is
-- shown once, when it is made). A token is revoked by marking it, never
-- by deleting its row, so the audit trail's actor names stay explained.
-- `orgs` is a JSON list of organization ids the token is limited to
-- (empty: every organization).
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    orgs TEXT NOT NULL,
    with_subordinates BOOLEAN NOT NULL,
    hash BLOB NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    created_by TEXT NOT NULL,
    revoked_at TIMESTAMP
);
-- One token in use per name; a revoked name may be made again.
CREATE UNIQUE INDEX api_tokens_name ON api_tokens(name) WHERE revoked_at IS NULL;
