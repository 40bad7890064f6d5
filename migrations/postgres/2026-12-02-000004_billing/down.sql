DROP TABLE claim_cob;
DROP TABLE payment_plans;
DROP TABLE unmatched_remittance_claims;
DROP TABLE claim_postings;
DROP TABLE remittance_postings;
DROP TABLE ledger_entries;
DROP TABLE claim_transitions;
DROP FUNCTION billing_append_only();
