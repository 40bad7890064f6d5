-- A delivery's first attempt is kept on its own row, and only later attempts get rows in
-- event_delivery_attempts: most deliveries succeed at once, and then the deliverer updates
-- one row per event instead of also inserting a log row (and its two index entries). The
-- delivery log reads both. Attempts recorded before this migration stay in the log table.
ALTER TABLE event_deliveries ADD COLUMN first_try_status_code INTEGER;
ALTER TABLE event_deliveries ADD COLUMN first_try_error TEXT;
ALTER TABLE event_deliveries ADD COLUMN first_try_latency_ms BIGINT;
ALTER TABLE event_deliveries ADD COLUMN first_try_at TIMESTAMP;
