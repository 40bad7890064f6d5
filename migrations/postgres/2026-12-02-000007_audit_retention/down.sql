DROP TRIGGER audit_event_patients_purge_only ON audit_event_patients;
DROP TRIGGER audit_event_patients_append_only ON audit_event_patients;
CREATE TRIGGER audit_event_patients_append_only BEFORE UPDATE OR DELETE ON audit_event_patients
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
DROP TRIGGER audit_events_purge_only ON audit_events;
DROP TRIGGER audit_events_append_only ON audit_events;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
DROP FUNCTION audit_purge_only();
DROP TABLE audit_anchors;
DROP FUNCTION audit_anchors_append_only();
DROP FUNCTION audit_anchor_check();
