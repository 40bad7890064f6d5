-- What a claim's exchange history needs beyond the file itself: the payer a submission went
-- to and how (outbox, http), the exchanges an acknowledgment answers (JSON list of ids), and
-- why a file failed or was a duplicate (rules and control numbers only, never file content).
ALTER TABLE x12_exchanges ADD COLUMN payer_id TEXT;
ALTER TABLE x12_exchanges ADD COLUMN transport TEXT;
ALTER TABLE x12_exchanges ADD COLUMN answers TEXT NOT NULL DEFAULT '[]';
ALTER TABLE x12_exchanges ADD COLUMN detail TEXT;
