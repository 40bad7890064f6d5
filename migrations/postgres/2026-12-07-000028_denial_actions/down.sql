DROP TABLE denial_appeals;
DROP INDEX denials_resubmission;
DROP INDEX denials_appeal_deadline;
ALTER TABLE denials DROP COLUMN appeal_deadline;
ALTER TABLE payers DROP COLUMN appeal_limit_days;
ALTER TABLE denials DROP COLUMN resubmission_claim_id;
