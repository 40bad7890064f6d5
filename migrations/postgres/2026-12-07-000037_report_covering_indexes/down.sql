DROP INDEX claim_transitions_status;
DROP INDEX claim_transitions_at;
CREATE INDEX claim_transitions_at ON claim_transitions (org_id, at);
DROP INDEX ledger_entries_posted;
DROP INDEX ledger_entries_claim;
CREATE INDEX ledger_entries_claim ON ledger_entries (org_id, claim_id);
