-- The practice's charge master: its own description and default price per procedure code and
-- modifier ('' when none). CPT descriptors are licensed, so the practice supplies its words.
CREATE TABLE charge_master (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    code TEXT NOT NULL,
    modifier TEXT NOT NULL,
    description TEXT NOT NULL,
    price TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (org_id, code, modifier)
);

-- What a practice prints on its patient statements: who it is, where payments go, how to pay.
-- One row per organization; no patient data.
CREATE TABLE statement_profiles (
    org_id TEXT PRIMARY KEY NOT NULL REFERENCES orgs(id),
    profile TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Issued statements. The document holds the statement as issued without the patient's name
-- and address (those stay encrypted in patients and are read when the statement is shown).
-- Numbers are sequential per organization.
CREATE TABLE statements (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    patient_id TEXT NOT NULL REFERENCES patients(id),
    number BIGINT NOT NULL,
    statement_date DATE NOT NULL,
    due_date DATE NOT NULL,
    amount_due TEXT NOT NULL,
    run_id TEXT,
    document TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    actor TEXT NOT NULL,
    UNIQUE (org_id, number)
);
CREATE INDEX statements_patient ON statements (org_id, patient_id, statement_date);

-- The last statement number per organization; issuing increments it in the issuing
-- transaction (row lock on PostgreSQL, write lock on SQLite), so numbers never repeat.
CREATE TABLE statement_counters (
    org_id TEXT PRIMARY KEY NOT NULL REFERENCES orgs(id),
    last_value BIGINT NOT NULL
);
