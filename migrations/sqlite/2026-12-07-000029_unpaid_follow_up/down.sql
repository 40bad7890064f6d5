ALTER TABLE payers DROP COLUMN follow_up_days;
