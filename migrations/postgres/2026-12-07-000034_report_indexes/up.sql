-- Reports aggregate over a period in the database: denials by their creation time, claims by
-- the time of their adjudication, ledger entries by kind (write-offs).
CREATE INDEX denials_created ON denials (org_id, created_at);
CREATE INDEX claim_transitions_at ON claim_transitions (org_id, at);
CREATE INDEX ledger_entries_kind ON ledger_entries (org_id, kind);
