DROP INDEX claims_first_submitted;
ALTER TABLE claims DROP COLUMN first_submitted_at;
DROP TABLE claim_balances;
