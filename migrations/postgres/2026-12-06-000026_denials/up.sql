-- Denials as work items: one row per denied adjustment (CAS group and CARC) of a posted 835,
-- created in the posting's transaction and unique per posting and position, so a posting
-- creates its denials once. `amount_cents` repeats `amount` as an integer so the queue can
-- filter by amount on both engines (SQLite keeps money as text).
CREATE TABLE denials (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    claim_id TEXT NOT NULL REFERENCES claims(id),
    claim_line_id TEXT,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    payer_id TEXT NOT NULL REFERENCES payers(id),
    remittance_id TEXT NOT NULL REFERENCES remittances(id),
    posting_id TEXT NOT NULL REFERENCES remittance_postings(id),
    position INTEGER NOT NULL,
    procedure_code TEXT,
    group_code TEXT NOT NULL,
    carc TEXT NOT NULL,
    rarcs TEXT NOT NULL,
    amount NUMERIC(12,2) NOT NULL,
    amount_cents BIGINT NOT NULL,
    category TEXT NOT NULL,
    avoidable BOOLEAN NOT NULL,
    partial BOOLEAN NOT NULL,
    status TEXT NOT NULL,
    assignee TEXT,
    follow_up_on DATE,
    version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (posting_id, position)
);
CREATE INDEX denials_queue ON denials (org_id, status, id);
CREATE INDEX denials_claim ON denials (org_id, claim_id, id);

-- A denial's notes. The text is PHI (billers write what the payer said about the patient):
-- encrypted per field like the patients' columns, re-encrypted by data-key rotation.
CREATE TABLE denial_notes (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    denial_id TEXT NOT NULL REFERENCES denials(id),
    author TEXT NOT NULL,
    text_ct BYTEA NOT NULL,
    key_version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX denial_notes_denial ON denial_notes (org_id, denial_id, id);

-- Every step taken on a denial (created, assigned, noted, follow-up set, status changed), in
-- the claim's history. `detail` holds no PHI: statuses, the assignee, the date, a note's id.
CREATE TABLE denial_events (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    denial_id TEXT NOT NULL REFERENCES denials(id),
    claim_id TEXT NOT NULL REFERENCES claims(id),
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    detail TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX denial_events_claim ON denial_events (org_id, claim_id, id);
CREATE INDEX denial_events_denial ON denial_events (org_id, denial_id, id);
