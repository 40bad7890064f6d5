-- Retention. A purge removes a prefix of an org's chain whose events are all older than the
-- retention cutoff and leaves an anchor: the last purged event's sequence and hash, from which
-- verification goes on. Anchors are append-only; an event may be deleted only when an anchor
-- covers it (its sequence is at most the anchor's and it is older than the anchor's cutoff), so
-- a plain DELETE still fails, for every role, the application's included.
CREATE TABLE audit_anchors (
    org_id TEXT NOT NULL,
    -- The last purged event.
    sequence BIGINT NOT NULL,
    hash BYTEA NOT NULL,
    -- Every purged event is older than this.
    cutoff TIMESTAMP NOT NULL,
    purged_at TIMESTAMP NOT NULL,
    -- Events this purge removed (those before the previous anchor went earlier).
    purged_count BIGINT NOT NULL,
    PRIMARY KEY (org_id, sequence)
);

-- An anchor must tell the truth about the chain it cuts: six years at least (45 CFR
-- 164.316(b)(2)(i)), after any earlier anchor, at an existing event with that hash, and with
-- nothing it covers newer than its cutoff.
CREATE FUNCTION audit_anchor_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.cutoff > (now() AT TIME ZONE 'UTC') - interval '72 months' THEN
        RAISE EXCEPTION 'audit anchor: the cutoff is less than six years ago';
    END IF;
    IF EXISTS (SELECT 1 FROM audit_anchors
               WHERE org_id = NEW.org_id AND sequence >= NEW.sequence) THEN
        RAISE EXCEPTION 'audit anchor: it does not follow the previous anchor';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM audit_events
                   WHERE org_id = NEW.org_id AND sequence = NEW.sequence
                     AND hash = NEW.hash AND occurred_at < NEW.cutoff) THEN
        RAISE EXCEPTION 'audit anchor: no event with that sequence and hash before the cutoff';
    END IF;
    IF EXISTS (SELECT 1 FROM audit_events
               WHERE org_id = NEW.org_id AND sequence <= NEW.sequence
                 AND occurred_at >= NEW.cutoff) THEN
        RAISE EXCEPTION 'audit anchor: an event it covers is not older than the cutoff';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER audit_anchors_check BEFORE INSERT ON audit_anchors
    FOR EACH ROW EXECUTE FUNCTION audit_anchor_check();

CREATE FUNCTION audit_anchors_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit anchors are append-only';
END $$;
CREATE TRIGGER audit_anchors_append_only BEFORE UPDATE OR DELETE ON audit_anchors
    FOR EACH ROW EXECUTE FUNCTION audit_anchors_append_only();
CREATE TRIGGER audit_anchors_no_truncate BEFORE TRUNCATE ON audit_anchors
    FOR EACH STATEMENT EXECUTE FUNCTION audit_anchors_append_only();

-- UPDATE (and TRUNCATE) stay refused; DELETE only of what an anchor covers.
CREATE FUNCTION audit_purge_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'audit_events' THEN
        IF EXISTS (SELECT 1 FROM audit_anchors a
                   WHERE a.org_id = OLD.org_id AND OLD.sequence <= a.sequence
                     AND OLD.occurred_at < a.cutoff) THEN
            RETURN OLD;
        END IF;
    ELSIF EXISTS (SELECT 1 FROM audit_anchors a
                  WHERE a.org_id = OLD.org_id AND OLD.sequence <= a.sequence) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit events are append-only: only a retention purge removes events, and only those its anchor covers';
END $$;
DROP TRIGGER audit_events_append_only ON audit_events;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_events_purge_only BEFORE DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_purge_only();
DROP TRIGGER audit_event_patients_append_only ON audit_event_patients;
CREATE TRIGGER audit_event_patients_append_only BEFORE UPDATE ON audit_event_patients
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_event_patients_purge_only BEFORE DELETE ON audit_event_patients
    FOR EACH ROW EXECUTE FUNCTION audit_purge_only();
