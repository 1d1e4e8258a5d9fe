-- status-go v0.55.1's schema (mailserver/migrations 1557732988_initialize_db),
-- so that an archive a status-go mailserver filled can be served as is.
CREATE TABLE IF NOT EXISTS envelopes (
    id    BYTEA NOT NULL UNIQUE,
    data  BYTEA NOT NULL,
    topic BYTEA NOT NULL,
    bloom BIT(512) NOT NULL
);
