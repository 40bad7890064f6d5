DROP TABLE audit_patient_index;
