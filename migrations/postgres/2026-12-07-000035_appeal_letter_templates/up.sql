-- The practice's appeal-letter template: its own wording with placeholders for the letter's
-- facts. One row per organization; no patient data.
CREATE TABLE appeal_letter_templates (
    org_id TEXT PRIMARY KEY NOT NULL REFERENCES orgs(id),
    template TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
