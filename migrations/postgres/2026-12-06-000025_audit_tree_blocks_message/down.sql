DROP TRIGGER audit_tree_blocks_append_only ON audit_tree_blocks;
DROP TRIGGER audit_tree_blocks_no_truncate ON audit_tree_blocks;
CREATE TRIGGER audit_tree_blocks_append_only BEFORE UPDATE OR DELETE ON audit_tree_blocks
    FOR EACH ROW EXECUTE FUNCTION audit_tree_leaves_append_only();
CREATE TRIGGER audit_tree_blocks_no_truncate BEFORE TRUNCATE ON audit_tree_blocks
    FOR EACH STATEMENT EXECUTE FUNCTION audit_tree_leaves_append_only();
DROP FUNCTION audit_tree_blocks_append_only();
