-- Deciding the unmatched-remittance work queue: each item leaves it only by a decision
-- (matched to a claim, split over claims, or not ours), recorded with who and when.
-- `decision` is the decision as JSON (kind, claims, reason codes, refund owed; no PHI).
ALTER TABLE unmatched_remittance_claims ADD COLUMN decision TEXT;
ALTER TABLE unmatched_remittance_claims ADD COLUMN decided_by TEXT;
ALTER TABLE unmatched_remittance_claims ADD COLUMN decided_at TIMESTAMP;

-- A claim payment posted by hand names the work item it came from (the claim's history).
ALTER TABLE claim_postings ADD COLUMN unmatched_id TEXT;
CREATE INDEX claim_postings_unmatched ON claim_postings (org_id, unmatched_id);

-- Money the practice owes back to a payer: a claim payment decided not ours.
CREATE TABLE payer_refunds (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    payer_id TEXT NOT NULL REFERENCES payers(id),
    remittance_id TEXT NOT NULL REFERENCES remittances(id),
    unmatched_id TEXT NOT NULL UNIQUE REFERENCES unmatched_remittance_claims(id),
    clp_index INTEGER NOT NULL,
    amount NUMERIC(12,2) NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX payer_refunds_open ON payer_refunds (org_id, status, id);
