-- Retention. A purge removes a prefix of an org's chain whose events are all older than the
-- retention cutoff and leaves an anchor: the last purged event's sequence and hash, from which
-- verification goes on. Anchors are append-only; an event may be deleted only when an anchor
-- covers it (its sequence is at most the anchor's and it is older than the anchor's cutoff), so
-- a plain DELETE still fails, for every connection.
CREATE TABLE audit_anchors (
    org_id TEXT NOT NULL,
    -- The last purged event.
    sequence BIGINT NOT NULL,
    hash BLOB NOT NULL,
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
CREATE TRIGGER audit_anchors_check BEFORE INSERT ON audit_anchors
BEGIN
    SELECT RAISE(ABORT, 'audit anchor: the cutoff is less than six years ago')
    WHERE NEW.cutoff > strftime('%Y-%m-%d %H:%M:%S', 'now', '-72 months');
    SELECT RAISE(ABORT, 'audit anchor: it does not follow the previous anchor')
    WHERE EXISTS (SELECT 1 FROM audit_anchors
                  WHERE org_id = NEW.org_id AND sequence >= NEW.sequence);
    SELECT RAISE(ABORT, 'audit anchor: no event with that sequence and hash before the cutoff')
    WHERE NOT EXISTS (SELECT 1 FROM audit_events
                      WHERE org_id = NEW.org_id AND sequence = NEW.sequence
                        AND hash = NEW.hash AND occurred_at < NEW.cutoff);
    SELECT RAISE(ABORT, 'audit anchor: an event it covers is not older than the cutoff')
    WHERE EXISTS (SELECT 1 FROM audit_events
                  WHERE org_id = NEW.org_id AND sequence <= NEW.sequence
                    AND occurred_at >= NEW.cutoff);
END;
CREATE TRIGGER audit_anchors_no_update BEFORE UPDATE ON audit_anchors
BEGIN SELECT RAISE(ABORT, 'audit anchors are append-only'); END;
CREATE TRIGGER audit_anchors_no_delete BEFORE DELETE ON audit_anchors
BEGIN SELECT RAISE(ABORT, 'audit anchors are append-only'); END;

-- UPDATE stays refused; DELETE only of what an anchor covers.
DROP TRIGGER audit_events_no_delete;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
WHEN NOT EXISTS (SELECT 1 FROM audit_anchors a
                 WHERE a.org_id = OLD.org_id AND OLD.sequence <= a.sequence
                   AND OLD.occurred_at < a.cutoff)
BEGIN SELECT RAISE(ABORT, 'audit events are append-only: only a retention purge removes events, and only those its anchor covers'); END;
DROP TRIGGER audit_event_patients_no_delete;
CREATE TRIGGER audit_event_patients_no_delete BEFORE DELETE ON audit_event_patients
WHEN NOT EXISTS (SELECT 1 FROM audit_anchors a
                 WHERE a.org_id = OLD.org_id AND OLD.sequence <= a.sequence)
BEGIN SELECT RAISE(ABORT, 'audit events are append-only: only a retention purge removes events, and only those its anchor covers'); END;
