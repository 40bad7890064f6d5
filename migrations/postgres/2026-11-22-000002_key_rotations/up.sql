-- Data-key rotations: one row per rotation, its progress, so an interrupted one resumes.
CREATE TABLE key_rotations (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    to_version INTEGER NOT NULL,
    state TEXT NOT NULL,
    rows_total BIGINT NOT NULL,
    rows_done BIGINT NOT NULL,
    started_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP
);
CREATE INDEX key_rotations_org ON key_rotations (org_id, started_at);

-- Stored responses are encrypted too; record under which data key, so rotation finds them.
ALTER TABLE idempotency_keys ADD COLUMN key_version INTEGER NOT NULL DEFAULT 1;
