ALTER TABLE providers ADD COLUMN role TEXT NOT NULL DEFAULT '';
UPDATE providers SET role = CASE
    WHEN roles LIKE '%billing%' AND roles LIKE '%rendering%' THEN 'both'
    WHEN roles LIKE '%billing%' THEN 'billing'
    ELSE 'rendering' END;
ALTER TABLE providers DROP COLUMN roles;

DROP INDEX patients_mrn_value;
ALTER TABLE patients DROP COLUMN mrn_value_bidx;
ALTER TABLE patients DROP COLUMN mrn_system_ct;
