-- Topic queries (and bloom queries narrowed to topics): one index range per
-- topic instead of a bloom test on every row of the time range.
CREATE INDEX IF NOT EXISTS envelopes_topic_id_idx ON envelopes (topic, id);
-- Every topic archived, so that a bloom becomes the topics it matches.
CREATE TABLE IF NOT EXISTS envelope_topics (
    topic BYTEA PRIMARY KEY
);
INSERT INTO envelope_topics (topic) SELECT DISTINCT topic FROM envelopes
    ON CONFLICT DO NOTHING;
