-- Patient identity is (assigning authority, MRN): the same MRN under two systems belongs to
-- two patients. mrn_bidx now covers the system with the value (for a row without a system it
-- is unchanged, so existing rows keep their index); mrn_value_bidx covers the bare value and
-- serves searches by MRN alone. The system is sealed like the MRN.
ALTER TABLE patients ADD COLUMN mrn_system_ct BYTEA;
ALTER TABLE patients ADD COLUMN mrn_value_bidx TEXT NOT NULL DEFAULT '';
UPDATE patients SET mrn_value_bidx = mrn_bidx;
CREATE INDEX patients_mrn_value ON patients (org_id, mrn_value_bidx);

-- One NPI is one provider with a set of roles (billing, rendering, referring, supervising),
-- stored sorted and comma-separated. The old single role 'both' meant billing and rendering.
ALTER TABLE providers ADD COLUMN roles TEXT NOT NULL DEFAULT '';
UPDATE providers SET roles = CASE role WHEN 'both' THEN 'billing,rendering' ELSE role END;
ALTER TABLE providers DROP COLUMN role;
