-- What the probes saw. Only changes are stored: an observation equal to
-- the latest one for its (host, kind, address) moves that row's last_seen.
CREATE TABLE observations (
    id INTEGER PRIMARY KEY NOT NULL,
    hostname TEXT NOT NULL,
    kind TEXT NOT NULL,
    -- '' when the observation is about the host name, not one address.
    address TEXT NOT NULL,
    outcome TEXT NOT NULL,
    data TEXT NOT NULL,
    first_seen TIMESTAMP NOT NULL,
    last_seen TIMESTAMP NOT NULL,
    seen_count BIGINT NOT NULL
);
CREATE INDEX observations_key ON observations(hostname, kind, address, id);
CREATE INDEX observations_last_seen ON observations(last_seen);
