ALTER TABLE remittances DROP COLUMN file_name;
ALTER TABLE remittances DROP COLUMN exchange_id;
DROP TABLE unidentified_remittances;
DROP TABLE payer_identifiers;
