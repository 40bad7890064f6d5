ALTER TABLE x12_exchanges DROP COLUMN detail;
ALTER TABLE x12_exchanges DROP COLUMN answers;
ALTER TABLE x12_exchanges DROP COLUMN transport;
ALTER TABLE x12_exchanges DROP COLUMN payer_id;
