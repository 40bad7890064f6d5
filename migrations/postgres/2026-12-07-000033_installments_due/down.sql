DROP INDEX payment_plans_active;
ALTER TABLE payment_plans DROP COLUMN due_announced;
