ALTER TABLE orgs DROP COLUMN deactivated_at;
