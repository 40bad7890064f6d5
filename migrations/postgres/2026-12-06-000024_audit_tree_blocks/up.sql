-- The hashes of the tree's perfect subtrees of 1024 leaves ("blocks"), each written once the
-- first time a proof needs it (from the stored leaves, which are append-only). A proof then
-- reads one hash per block and the leaves of at most two blocks, instead of every leaf.
CREATE TABLE audit_tree_blocks (
    org_id TEXT NOT NULL,
    block BIGINT NOT NULL,
    hash BYTEA NOT NULL,
    PRIMARY KEY (org_id, block)
);
CREATE TRIGGER audit_tree_blocks_append_only BEFORE UPDATE OR DELETE ON audit_tree_blocks
    FOR EACH ROW EXECUTE FUNCTION audit_tree_leaves_append_only();
CREATE TRIGGER audit_tree_blocks_no_truncate BEFORE TRUNCATE ON audit_tree_blocks
    FOR EACH STATEMENT EXECUTE FUNCTION audit_tree_leaves_append_only();
