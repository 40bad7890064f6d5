-- Publishing events to NATS JetStream (optional, `events_nats_url`). Each event of the outbox
-- is claimed under a lease (`nats_lease_until`, also the time of the next try after a failed
-- one) the way webhook deliveries are, and marked published once JetStream acknowledged it.
-- The partial index keeps finding the events still to publish cheap as the outbox grows.
ALTER TABLE outbox_events ADD COLUMN nats_lease_until TIMESTAMP;
ALTER TABLE outbox_events ADD COLUMN nats_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox_events ADD COLUMN nats_published_at TIMESTAMP;
CREATE INDEX outbox_events_nats_pending ON outbox_events (seq) WHERE nats_published_at IS NULL;
-- A record's events in order: publishing keeps each record's order, as delivery does.
CREATE INDEX outbox_events_resource ON outbox_events (resource_type, resource_id, seq);

-- Where each optional sink starts: events before it was first enabled are not published.
CREATE TABLE event_sinks (
    name TEXT PRIMARY KEY NOT NULL,
    after_seq BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
