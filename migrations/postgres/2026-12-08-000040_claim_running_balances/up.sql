-- The A/R aging and the KPIs' receivables summed every claim's ledger entries on each call
-- (537,500 entries at 100,000 claims). Each claim's balance is now kept as entries are
-- appended, in the same transaction: the insurance and patient parts in cents (a transfer
-- moves its amount from the first to the second) and the latest posting time, so a report as
-- of a moment after that time reads the row and only claims touched later are summed from
-- their entries. A claim's first submission is kept on the claim for the same reason (the
-- KPIs' clean-claim count grouped every claim's transitions). The ledger stays the record;
-- these are derived from it and rebuilt from it here.
CREATE TABLE claim_balances (
    claim_id TEXT PRIMARY KEY NOT NULL REFERENCES claims(id),
    org_id TEXT NOT NULL REFERENCES orgs(id),
    insurance_cents BIGINT NOT NULL,
    patient_cents BIGINT NOT NULL,
    last_posted_at TIMESTAMP NOT NULL
);
CREATE INDEX claim_balances_org ON claim_balances (org_id, last_posted_at);

INSERT INTO claim_balances (claim_id, org_id, insurance_cents, patient_cents, last_posted_at)
SELECT l.claim_id, MIN(l.org_id),
    CAST(SUM(CASE l.side WHEN 'insurance' THEN ROUND(l.amount * 100)
        WHEN 'insurance_to_patient' THEN -ROUND(l.amount * 100) ELSE 0 END) AS BIGINT),
    CAST(SUM(CASE l.side WHEN 'patient' THEN ROUND(l.amount * 100)
        WHEN 'insurance_to_patient' THEN ROUND(l.amount * 100) ELSE 0 END) AS BIGINT),
    MAX(l.posted_at)
FROM ledger_entries l
WHERE l.claim_id IS NOT NULL
GROUP BY l.claim_id;

ALTER TABLE claims ADD COLUMN first_submitted_at TIMESTAMP;
UPDATE claims SET first_submitted_at = (SELECT MIN(t.at) FROM claim_transitions t
    WHERE t.org_id = claims.org_id AND t.claim_id = claims.id AND t.to_status = 'submitted');
CREATE INDEX claims_first_submitted ON claims (org_id, first_submitted_at);
