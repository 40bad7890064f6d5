ALTER TABLE event_deliveries DROP COLUMN first_try_status_code;
ALTER TABLE event_deliveries DROP COLUMN first_try_error;
ALTER TABLE event_deliveries DROP COLUMN first_try_latency_ms;
ALTER TABLE event_deliveries DROP COLUMN first_try_at;
