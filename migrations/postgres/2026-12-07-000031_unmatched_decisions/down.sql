DROP TABLE payer_refunds;
DROP INDEX claim_postings_unmatched;
ALTER TABLE claim_postings DROP COLUMN unmatched_id;
ALTER TABLE unmatched_remittance_claims DROP COLUMN decided_at;
ALTER TABLE unmatched_remittance_claims DROP COLUMN decided_by;
ALTER TABLE unmatched_remittance_claims DROP COLUMN decision;
