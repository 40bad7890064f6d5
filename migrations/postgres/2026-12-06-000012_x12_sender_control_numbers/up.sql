-- Interchange control numbers (ISA13, also GS06) per sender id (ISA06), whatever the
-- organization: organizations that submit under one sender id share its numbering, so the
-- clearinghouse never sees an ISA13 repeated. Replaces the counter per organization and
-- sender (000008); each sender goes on after the highest number any organization took for it.
-- A submission takes the next number by incrementing this row in its own write transaction
-- (row lock on PostgreSQL, write lock on SQLite). 999999999 wraps to 1.
CREATE TABLE x12_sender_control_numbers (
    sender_id TEXT NOT NULL PRIMARY KEY,
    last_value BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
INSERT INTO x12_sender_control_numbers (sender_id, last_value, updated_at)
SELECT sender_id, MAX(last_value), MAX(updated_at)
FROM x12_control_numbers
GROUP BY sender_id;
DROP TABLE x12_control_numbers;
