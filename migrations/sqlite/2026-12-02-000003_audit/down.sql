DROP TABLE audit_event_patients;
DROP TABLE audit_events;
