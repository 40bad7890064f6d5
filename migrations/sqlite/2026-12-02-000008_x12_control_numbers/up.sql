-- Interchange control numbers (ISA13, also GS06) per organization and sender id (ISA06).
-- A submission takes the next number by incrementing this row in its own write transaction:
-- the row lock (PostgreSQL) or the write lock (SQLite) makes concurrent submissions, and
-- several server processes on one database, get distinct numbers. 999999999 wraps to 1.
CREATE TABLE x12_control_numbers (
    org_id TEXT NOT NULL,
    sender_id TEXT NOT NULL,
    last_value BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, sender_id)
);
