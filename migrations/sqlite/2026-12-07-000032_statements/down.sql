DROP TABLE statement_counters;
DROP TABLE statements;
DROP TABLE statement_profiles;
DROP TABLE charge_master;
