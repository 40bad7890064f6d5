-- Billing: claim lifecycle history, the ledger, remittance postings and the unmatched work queue.
-- Money is TEXT holding a decimal string (never NUMERIC: SQLite would coerce it to REAL).

-- Every status change of a claim: who moved it, when and why. Rows are only ever inserted.
CREATE TABLE claim_transitions (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    claim_id TEXT NOT NULL REFERENCES claims(id),
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT,
    remittance_id TEXT REFERENCES remittances(id)
);
CREATE INDEX claim_transitions_claim ON claim_transitions (org_id, claim_id, at);

-- The append-only ledger: every money movement. Balances are folds over these rows; a mistake
-- is undone by a reversal entry (reverses = the entry it negates), never by an edit.
CREATE TABLE ledger_entries (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    kind TEXT NOT NULL,
    side TEXT NOT NULL,
    claim_id TEXT REFERENCES claims(id),
    claim_line_id TEXT,
    patient_id TEXT REFERENCES patients(id),
    payer_id TEXT REFERENCES payers(id),
    amount TEXT NOT NULL,
    adjustment_group TEXT,
    carc TEXT,
    remarks TEXT NOT NULL,
    provider_adjustment_reason TEXT,
    reference TEXT,
    remittance_id TEXT REFERENCES remittances(id),
    trace_number TEXT,
    reverses TEXT UNIQUE REFERENCES ledger_entries(id),
    posted_at TIMESTAMP NOT NULL
);
CREATE INDEX ledger_entries_claim ON ledger_entries (org_id, claim_id);
CREATE INDEX ledger_entries_patient ON ledger_entries (org_id, patient_id);
CREATE INDEX ledger_entries_payer ON ledger_entries (org_id, payer_id);

-- One row per posted remittance. The unique key makes posting idempotent: the same payer and
-- trace number (TRN02) post once; a retry reads back `result`, the first posting's answer.
CREATE TABLE remittance_postings (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    remittance_id TEXT NOT NULL UNIQUE REFERENCES remittances(id),
    payer_id TEXT NOT NULL REFERENCES payers(id),
    trace_number TEXT NOT NULL,
    posted_at TIMESTAMP NOT NULL,
    actor TEXT NOT NULL,
    result TEXT NOT NULL,
    UNIQUE (org_id, payer_id, trace_number)
);

-- What one claim payment (CLP) did to one claim, kept so a later CLP02 22 can reverse it.
CREATE TABLE claim_postings (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    posting_id TEXT NOT NULL REFERENCES remittance_postings(id),
    remittance_id TEXT NOT NULL REFERENCES remittances(id),
    claim_id TEXT NOT NULL REFERENCES claims(id),
    clp_index INTEGER NOT NULL,
    status_before TEXT NOT NULL,
    status_after TEXT NOT NULL,
    payer_claim_number TEXT,
    reverses_remittance TEXT,
    entry_ids TEXT NOT NULL,
    posted_at TIMESTAMP NOT NULL
);
CREATE INDEX claim_postings_claim ON claim_postings (org_id, claim_id, posted_at);
CREATE INDEX claim_postings_pcn ON claim_postings (org_id, payer_claim_number);

-- Claim payments a posting could not apply: the work queue billers clear by hand.
CREATE TABLE unmatched_remittance_claims (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    posting_id TEXT NOT NULL REFERENCES remittance_postings(id),
    remittance_id TEXT NOT NULL REFERENCES remittances(id),
    payer_id TEXT NOT NULL REFERENCES payers(id),
    clp_index INTEGER NOT NULL,
    patient_control_number TEXT NOT NULL,
    payer_claim_number TEXT,
    paid TEXT NOT NULL,
    reason TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (remittance_id, clp_index)
);
CREATE INDEX unmatched_remittance_claims_open ON unmatched_remittance_claims (org_id, state, id);

-- A patient's agreement to pay a balance in installments. Payments themselves are ledger
-- entries; a plan's progress is derived from them.
CREATE TABLE payment_plans (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    patient_id TEXT NOT NULL REFERENCES patients(id),
    total TEXT NOT NULL,
    installments INTEGER NOT NULL,
    installment_amount TEXT NOT NULL,
    first_due DATE NOT NULL,
    frequency TEXT NOT NULL,
    status TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX payment_plans_patient ON payment_plans (org_id, patient_id);

-- Coordination of benefits: a secondary claim and the primary payer's adjudication it carries
-- (837P loops 2320/2430). One secondary claim per primary claim.
CREATE TABLE claim_cob (
    claim_id TEXT PRIMARY KEY NOT NULL REFERENCES claims(id),
    org_id TEXT NOT NULL REFERENCES orgs(id),
    primary_claim_id TEXT NOT NULL UNIQUE REFERENCES claims(id),
    primary_payer_id TEXT REFERENCES payers(id),
    adjudication TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
CREATE TRIGGER claim_transitions_no_update BEFORE UPDATE ON claim_transitions
BEGIN SELECT RAISE(ABORT, 'claim transitions are append-only'); END;
CREATE TRIGGER claim_transitions_no_delete BEFORE DELETE ON claim_transitions
BEGIN SELECT RAISE(ABORT, 'claim transitions are append-only'); END;
