-- Actions taken from a denial: the corrected (frequency 7) or void (8) claim made from it, whose
-- payment by a later 835 resolves it; and appeals, with each payer's appeal window.

-- The claim resubmitted for the denial (a replacement or a void of the denied claim).
ALTER TABLE denials ADD COLUMN resubmission_claim_id TEXT REFERENCES claims(id);

-- Days after the remittance date within which the payer takes a first appeal: 120 for Medicare
-- (redetermination, claim filing indicators MA and MB), 180 for every other payer by default.
ALTER TABLE payers ADD COLUMN appeal_limit_days INTEGER NOT NULL DEFAULT 180;
UPDATE payers SET appeal_limit_days = 120 WHERE claim_filing_indicator IN ('MA', 'MB');

-- The last day to appeal: the remittance date plus the payer's window when the denial was
-- found (a later change of the window does not move it).
ALTER TABLE denials ADD COLUMN appeal_deadline DATE;
UPDATE denials SET appeal_deadline = date(
    (SELECT r.payment_date FROM remittances r WHERE r.id = denials.remittance_id),
    '+' || (SELECT p.appeal_limit_days FROM payers p WHERE p.id = denials.payer_id) || ' days');
CREATE INDEX denials_appeal_deadline ON denials (org_id, appeal_deadline, id);
CREATE INDEX denials_resubmission ON denials (org_id, resubmission_claim_id);

-- Appeals of a denial, one row per level sent. The reason for sending one after the deadline
-- is PHI-prone free text: it is kept as an encrypted note on the denial, named here by id.
CREATE TABLE denial_appeals (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    denial_id TEXT NOT NULL REFERENCES denials(id),
    claim_id TEXT NOT NULL REFERENCES claims(id),
    level INTEGER NOT NULL,
    sent_on DATE NOT NULL,
    deadline DATE NOT NULL,
    late_note_id TEXT REFERENCES denial_notes(id),
    outcome TEXT,
    decided_on DATE,
    decided_by TEXT,
    actor TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (denial_id, level)
);
CREATE INDEX denial_appeals_denial ON denial_appeals (org_id, denial_id, level);
