ALTER TABLE idempotency_keys DROP COLUMN key_version;
DROP TABLE key_rotations;
