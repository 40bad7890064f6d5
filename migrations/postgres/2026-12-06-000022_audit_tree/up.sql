-- The Merkle tree (RFC 6962) over each org's chain. Each event's leaf hash is kept apart from
-- the event: a retention purge removes events but leaves their leaf hashes (which say nothing
-- about a patient), so the tree's roots at every size, and proofs for the surviving events,
-- stay computable. Leaf `sequence - 1` is the event at `sequence`.
CREATE TABLE audit_tree_leaves (
    org_id TEXT NOT NULL,
    sequence BIGINT NOT NULL,
    leaf_hash BYTEA NOT NULL,
    PRIMARY KEY (org_id, sequence)
);
-- Each org's frontier ("compact range"): the roots of the perfect subtrees covering the first
-- `size` leaves, largest first, concatenated; all an append needs. Written under the org's
-- chain-head row lock, with the events.
CREATE TABLE audit_tree_heads (
    org_id TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    frontier BYTEA NOT NULL
);

CREATE FUNCTION audit_tree_leaves_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit tree leaves are append-only';
END $$;
CREATE TRIGGER audit_tree_leaves_append_only BEFORE UPDATE OR DELETE ON audit_tree_leaves
    FOR EACH ROW EXECUTE FUNCTION audit_tree_leaves_append_only();
CREATE TRIGGER audit_tree_leaves_no_truncate BEFORE TRUNCATE ON audit_tree_leaves
    FOR EACH STATEMENT EXECUTE FUNCTION audit_tree_leaves_append_only();
