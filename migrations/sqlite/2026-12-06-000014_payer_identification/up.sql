-- A payer is known by several ids (EIN, clearinghouse payer id, NAIC code, CMS plan id...):
-- an 835 names its payer by any of them (TRN03, N1*PR N104, 1000A REF). One id value of one
-- kind names one payer of an organization.
CREATE TABLE payer_identifiers (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    payer_id TEXT NOT NULL REFERENCES payers(id),
    qualifier TEXT NOT NULL,
    value TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (org_id, qualifier, value)
);
CREATE INDEX payer_identifiers_payer ON payer_identifiers (org_id, payer_id);

-- The work queue of remittances whose payer is not set up (or is named ambiguously): each
-- is kept, as the remittance would have been stored (amounts, codes, control numbers; no
-- names or member ids), with the ids the file gave its payer, until someone links a payer
-- and it is stored (and posted, when its import asked for that).
CREATE TABLE unidentified_remittances (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    exchange_id TEXT REFERENCES x12_exchanges(id),
    file_name TEXT,
    remittance_index INTEGER NOT NULL,
    payer_name TEXT NOT NULL,
    identifiers TEXT NOT NULL,
    reason TEXT NOT NULL,
    trace_number TEXT NOT NULL,
    payment_date DATE NOT NULL,
    total_paid TEXT NOT NULL,
    body TEXT NOT NULL,
    post BOOLEAN NOT NULL,
    state TEXT NOT NULL,
    payer_id TEXT REFERENCES payers(id),
    remittance_id TEXT REFERENCES remittances(id),
    resolved_by TEXT,
    resolved_at TIMESTAMP,
    version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX unidentified_remittances_open ON unidentified_remittances (org_id, state, id);

-- The file a remittance came in (an 835 exchange) and that file's name.
ALTER TABLE remittances ADD COLUMN exchange_id TEXT REFERENCES x12_exchanges(id);
ALTER TABLE remittances ADD COLUMN file_name TEXT;
