-- The audit trail: one hash chain per org (org_id, sequence). Rows are only ever inserted;
-- the triggers refuse UPDATE, DELETE and TRUNCATE for every role, the application's included.
CREATE TABLE audit_events (
    org_id TEXT NOT NULL,
    sequence BIGINT NOT NULL,
    -- UUIDv7, unique by construction; not indexed: the hot path pays for every index.
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
    break_glass_reason_ct BYTEA,
    prev_hash BYTEA NOT NULL,
    hash BYTEA NOT NULL,
    PRIMARY KEY (org_id, sequence)
);
CREATE INDEX audit_events_time ON audit_events (org_id, occurred_at);

CREATE TABLE audit_event_patients (
    org_id TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    sequence BIGINT NOT NULL,
    PRIMARY KEY (org_id, patient_id, sequence)
);

CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only';
END $$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_event_patients_append_only BEFORE UPDATE OR DELETE ON audit_event_patients
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_event_patients_no_truncate BEFORE TRUNCATE ON audit_event_patients
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
