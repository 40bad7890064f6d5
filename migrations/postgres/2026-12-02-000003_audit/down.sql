DROP TABLE audit_event_patients;
DROP TABLE audit_events;
DROP FUNCTION audit_append_only();
