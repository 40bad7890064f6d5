-- Which of our records an EHR's record became, so importing the same feed again creates
-- nothing. Both keys are HMACs under the org's index key: external ids can be identifiers.
CREATE TABLE import_links (
    org_id TEXT NOT NULL,
    source_key TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    record_id TEXT NOT NULL,
    content_key TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, source_key)
);
