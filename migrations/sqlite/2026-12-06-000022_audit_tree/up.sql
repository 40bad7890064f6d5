-- The Merkle tree (RFC 6962) over each org's chain. Each event's leaf hash is kept apart from
-- the event: a retention purge removes events but leaves their leaf hashes (which say nothing
-- about a patient), so the tree's roots at every size, and proofs for the surviving events,
-- stay computable. Leaf `sequence - 1` is the event at `sequence`.
CREATE TABLE audit_tree_leaves (
    org_id TEXT NOT NULL,
    sequence BIGINT NOT NULL,
    leaf_hash BLOB NOT NULL,
    PRIMARY KEY (org_id, sequence)
);
-- Each org's frontier ("compact range"): the roots of the perfect subtrees covering the first
-- `size` leaves, largest first, concatenated; all an append needs.
CREATE TABLE audit_tree_heads (
    org_id TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    frontier BLOB NOT NULL
);

CREATE TRIGGER audit_tree_leaves_no_update BEFORE UPDATE ON audit_tree_leaves
BEGIN SELECT RAISE(ABORT, 'audit tree leaves are append-only'); END;
CREATE TRIGGER audit_tree_leaves_no_delete BEFORE DELETE ON audit_tree_leaves
BEGIN SELECT RAISE(ABORT, 'audit tree leaves are append-only'); END;
