-- Audit intake (PostgreSQL only). A request's event commits here durably, with the request's
-- own transaction or the group commit, without taking any chain-wide lock; the sequencer then
-- chains committed events into audit_events in large batches, one org at a time. SQLite
-- serializes its writers anyway and chains at once, so it has no intake.
CREATE TABLE audit_intake (
    intake_id BIGSERIAL PRIMARY KEY,
    org_id TEXT NOT NULL,
    id TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    actor TEXT NOT NULL,
    roles TEXT NOT NULL,
    client_id TEXT,
    purpose_of_use TEXT,
    action TEXT NOT NULL,
    resource_type TEXT,
    resource_id TEXT,
    patient_ids TEXT NOT NULL,
    fields_disclosed TEXT NOT NULL,
    outcome TEXT NOT NULL,
    http_status INTEGER NOT NULL,
    request_id TEXT,
    source_ip TEXT,
    user_agent TEXT,
    break_glass_reason_ct BYTEA
);
CREATE INDEX audit_intake_org ON audit_intake (org_id, intake_id);

-- Each chain's last event, in a row of its own: appenders lock it (FOR UPDATE) instead of an
-- advisory lock, and read the head by primary key, a plan no statistics can spoil (a max()
-- over audit_events was planned on the time index once the table had grown past the
-- statistics gathered while it was empty).
CREATE TABLE audit_chain_heads (
    org_id TEXT PRIMARY KEY,
    sequence BIGINT NOT NULL,
    hash BYTEA NOT NULL
);
INSERT INTO audit_chain_heads (org_id, sequence, hash)
    SELECT DISTINCT ON (org_id) org_id, sequence, hash FROM audit_events
    ORDER BY org_id, sequence DESC;
-- Chains purged whole go on from their latest anchor.
INSERT INTO audit_chain_heads (org_id, sequence, hash)
    SELECT DISTINCT ON (org_id) org_id, sequence, hash FROM audit_anchors
    ORDER BY org_id, sequence DESC
    ON CONFLICT (org_id) DO NOTHING;
