DROP TABLE audit_tree_blocks;
