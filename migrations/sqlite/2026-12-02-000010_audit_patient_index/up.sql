-- How far each org's patient links are written. The links are kept off the commit path of
-- the audit writer: one index entry per patient per event, keyed by patient, scattered
-- every commit over as many index pages as it had patients, and on SQLite that page traffic
-- was half of what an audited read cost. The writer now links events in batches after they
-- commit; a patient filter reads the links up to `indexed_through` and matches the few
-- newer events by their own patient list.
CREATE TABLE audit_patient_index (
    org_id TEXT NOT NULL PRIMARY KEY,
    indexed_through BIGINT NOT NULL
);

-- Every link written so far is complete: the chains are indexed through their heads.
INSERT INTO audit_patient_index (org_id, indexed_through)
SELECT org_id, MAX(s) FROM (
    SELECT org_id, MAX(sequence) AS s FROM audit_events GROUP BY org_id
    UNION ALL
    SELECT org_id, MAX(sequence) AS s FROM audit_anchors GROUP BY org_id
) AS heads GROUP BY org_id;
