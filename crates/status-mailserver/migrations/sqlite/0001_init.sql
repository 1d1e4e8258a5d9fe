-- The archive: one row per envelope, keyed as status-go keys it
-- (u32be(expiry - ttl) || keccak256(rlp) || topic, 40 bytes).
CREATE TABLE envelopes (
    id    BLOB NOT NULL UNIQUE,
    topic BLOB NOT NULL,
    data  BLOB NOT NULL
);
-- Topic queries (and bloom queries narrowed to topics): one range per topic.
CREATE INDEX envelopes_topic_id ON envelopes (topic, id);
-- Every topic archived, so that a bloom becomes the topics it matches.
CREATE TABLE topics (
    topic BLOB PRIMARY KEY
) WITHOUT ROWID;
