-- Days a submitted claim may go without the payer's answer before it joins the unpaid claims
-- queue; 30 by default (most payers pay a clean electronic claim within 30 days).
ALTER TABLE payers ADD COLUMN follow_up_days INTEGER NOT NULL DEFAULT 30;
