-- The counters per organization come back empty: each is seeded again from the highest
-- interchange control number the organization sent when it is first used.
CREATE TABLE x12_control_numbers (
    org_id TEXT NOT NULL,
    sender_id TEXT NOT NULL,
    last_value BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, sender_id)
);
DROP TABLE x12_sender_control_numbers;
