-- The hashes of the tree's perfect subtrees of 1024 leaves ("blocks"), each written once the
-- first time a proof needs it (from the stored leaves, which are append-only). A proof then
-- reads one hash per block and the leaves of at most two blocks, instead of every leaf.
CREATE TABLE audit_tree_blocks (
    org_id TEXT NOT NULL,
    block BIGINT NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (org_id, block)
);
CREATE TRIGGER audit_tree_blocks_no_update BEFORE UPDATE ON audit_tree_blocks
BEGIN SELECT RAISE(ABORT, 'audit tree blocks are append-only'); END;
CREATE TRIGGER audit_tree_blocks_no_delete BEFORE DELETE ON audit_tree_blocks
BEGIN SELECT RAISE(ABORT, 'audit tree blocks are append-only'); END;
