DROP TABLE event_sinks;
DROP INDEX outbox_events_resource;
DROP INDEX outbox_events_nats_pending;
ALTER TABLE outbox_events DROP COLUMN nats_published_at;
ALTER TABLE outbox_events DROP COLUMN nats_attempts;
ALTER TABLE outbox_events DROP COLUMN nats_lease_until;
