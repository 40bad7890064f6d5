DROP TABLE audit_tree_heads;
DROP TABLE audit_tree_leaves;
