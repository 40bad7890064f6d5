DROP INDEX event_deliveries_pending;
DROP INDEX event_deliveries_pending_order;
CREATE INDEX event_deliveries_due ON event_deliveries (state, next_attempt_at);
CREATE INDEX event_deliveries_order ON event_deliveries (subscription_id, resource_key, event_seq);
