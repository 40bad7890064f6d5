-- X12 files exchanged with payers and clearinghouses (837P out; 835, 999, TA1, 277CA in).
-- The raw file holds PHI (names, member ids, birth dates): it is kept only as an AES-256-GCM
-- envelope (raw_ct) bound to the org, table, column and row. Control numbers, kinds and our
-- claim ids stay clear so files can be traced.
CREATE TABLE x12_exchanges (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    direction TEXT NOT NULL,
    kind TEXT NOT NULL,
    file_name TEXT,
    interchange_control_number TEXT,
    group_control_number TEXT,
    transaction_control_number TEXT,
    claim_ids TEXT NOT NULL,
    status TEXT NOT NULL,
    raw_ct BYTEA NOT NULL,
    key_version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX x12_exchanges_org ON x12_exchanges (org_id, direction, kind);
