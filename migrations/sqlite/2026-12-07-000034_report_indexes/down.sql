DROP INDEX ledger_entries_kind;
DROP INDEX claim_transitions_at;
DROP INDEX denials_created;
