-- The highest installment number whose falling due was considered: the announcement of
-- `payment_plan.installment_due` happens once per installment, whichever server does it.
ALTER TABLE payment_plans ADD COLUMN due_announced INTEGER NOT NULL DEFAULT 0;
-- Active plans, found by the background check without reading every plan.
CREATE INDEX payment_plans_active ON payment_plans (status, first_due);
