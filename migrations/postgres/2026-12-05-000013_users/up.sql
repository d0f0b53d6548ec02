-- People who log in to the web page. Only an Argon2id hash of each
-- password is kept (a PHC string: algorithm, parameters, salt and hash).
-- A user is disabled by marking it, never deleted, so the audit trail's
-- actor names stay explained; a disabled user's name stays taken.
-- `orgs` is a JSON list of organization ids the user is limited to
-- (empty: every organization), as for API tokens.
CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    orgs TEXT NOT NULL,
    with_subordinates BOOLEAN NOT NULL,
    password_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by TEXT NOT NULL,
    disabled_at TIMESTAMP,
    password_changed_at TIMESTAMP NOT NULL
);
-- Their sessions, kept server-side: only the SHA-256 of the cookie's
-- secret is stored. Disabling a user or changing a password deletes the
-- user's rows here, which ends those sessions on every instance.
CREATE TABLE web_sessions (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    secret_hash BYTEA NOT NULL UNIQUE,
    csrf TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions(user_id);
