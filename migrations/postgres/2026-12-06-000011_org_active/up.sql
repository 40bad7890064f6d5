-- A deactivated organization keeps its data (retention) but no token naming it is accepted.
ALTER TABLE orgs ADD COLUMN deactivated_at TIMESTAMP;
