-- Foundation schema (PostgreSQL). Money is NUMERIC(12,2). Ids are UUIDv7 text (the shared
-- diesel backend has no uuid type); times are UTC without zone.
-- Columns ending in _ct hold AES-256-GCM envelopes; _bidx hold blind indexes.

CREATE TABLE orgs (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE org_keys (
    org_id TEXT NOT NULL REFERENCES orgs(id),
    kind TEXT NOT NULL CHECK (kind IN ('data', 'index')),
    version INTEGER NOT NULL,
    wrapped BYTEA NOT NULL,
    wrapper_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, kind, version)
);

CREATE TABLE payers (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    name TEXT NOT NULL,
    payer_code TEXT NOT NULL,
    claim_filing_indicator TEXT NOT NULL,
    timely_filing_days INTEGER NOT NULL,
    active BOOLEAN NOT NULL,
    version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (org_id, payer_code)
);

CREATE TABLE providers (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    role TEXT NOT NULL,
    npi TEXT NOT NULL,
    tin TEXT,
    organization_name TEXT,
    last_name TEXT,
    first_name TEXT,
    taxonomy TEXT,
    address_line1 TEXT NOT NULL,
    address_line2 TEXT,
    city TEXT NOT NULL,
    state TEXT NOT NULL,
    zip TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (org_id, npi)
);

CREATE TABLE patients (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    mrn_ct BYTEA NOT NULL,
    family_name_ct BYTEA NOT NULL,
    given_name_ct BYTEA NOT NULL,
    middle_name_ct BYTEA,
    birth_date_ct BYTEA NOT NULL,
    sex TEXT NOT NULL,
    address_ct BYTEA,
    phone_ct BYTEA,
    email_ct BYTEA,
    ssn_ct BYTEA,
    external_ids_ct BYTEA,
    mrn_bidx TEXT NOT NULL,
    name_dob_bidx TEXT NOT NULL,
    ssn4_bidx TEXT,
    key_version INTEGER NOT NULL,
    active BOOLEAN NOT NULL,
    version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (org_id, mrn_bidx)
);
CREATE INDEX patients_name_dob ON patients (org_id, name_dob_bidx);
CREATE INDEX patients_ssn4 ON patients (org_id, ssn4_bidx);

CREATE TABLE coverages (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    patient_id TEXT NOT NULL REFERENCES patients(id),
    payer_id TEXT NOT NULL REFERENCES payers(id),
    priority TEXT NOT NULL,
    member_id_ct BYTEA NOT NULL,
    group_number_ct BYTEA,
    plan_name TEXT,
    relationship TEXT NOT NULL,
    subscriber_ct BYTEA,
    effective_from DATE NOT NULL,
    effective_to DATE,
    member_id_bidx TEXT NOT NULL,
    key_version INTEGER NOT NULL,
    active BOOLEAN NOT NULL,
    version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX coverages_patient ON coverages (org_id, patient_id);
CREATE INDEX coverages_member ON coverages (org_id, member_id_bidx);

CREATE TABLE encounters (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    patient_id TEXT NOT NULL REFERENCES patients(id),
    coverage_id TEXT REFERENCES coverages(id),
    billing_provider_id TEXT NOT NULL REFERENCES providers(id),
    rendering_provider_id TEXT REFERENCES providers(id),
    service_date_from DATE NOT NULL,
    service_date_to DATE NOT NULL,
    place_of_service TEXT NOT NULL,
    prior_authorization TEXT,
    diagnoses TEXT NOT NULL,
    lines TEXT NOT NULL,
    status TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX encounters_patient ON encounters (org_id, patient_id);

CREATE TABLE claims (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    encounter_id TEXT NOT NULL REFERENCES encounters(id),
    patient_id TEXT NOT NULL REFERENCES patients(id),
    coverage_id TEXT REFERENCES coverages(id),
    payer_id TEXT REFERENCES payers(id),
    billing_provider_id TEXT NOT NULL REFERENCES providers(id),
    rendering_provider_id TEXT REFERENCES providers(id),
    patient_control_number TEXT NOT NULL,
    frequency_code TEXT NOT NULL,
    original_claim_id TEXT REFERENCES claims(id),
    original_reference TEXT,
    status TEXT NOT NULL,
    place_of_service TEXT NOT NULL,
    service_date_from DATE NOT NULL,
    service_date_to DATE NOT NULL,
    prior_authorization TEXT,
    diagnoses TEXT NOT NULL,
    total_charge NUMERIC(12,2) NOT NULL,
    version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (org_id, patient_control_number)
);
CREATE INDEX claims_patient ON claims (org_id, patient_id);
CREATE INDEX claims_encounter ON claims (org_id, encounter_id);

CREATE TABLE claim_lines (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    claim_id TEXT NOT NULL REFERENCES claims(id),
    line_number INTEGER NOT NULL,
    procedure_code TEXT NOT NULL,
    modifiers TEXT NOT NULL,
    units NUMERIC(10,3) NOT NULL,
    charge NUMERIC(12,2) NOT NULL,
    diagnosis_pointers TEXT NOT NULL,
    service_date DATE NOT NULL,
    UNIQUE (claim_id, line_number)
);

CREATE TABLE remittances (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    payer_id TEXT NOT NULL REFERENCES payers(id),
    trace_number TEXT NOT NULL,
    payment_date DATE NOT NULL,
    payment_method TEXT NOT NULL,
    total_paid NUMERIC(12,2) NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (org_id, payer_id, trace_number)
);

CREATE TABLE idempotency_keys (
    org_id TEXT NOT NULL REFERENCES orgs(id),
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status_code INTEGER NOT NULL,
    response_body BYTEA NOT NULL,
    resource_location TEXT,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, idem_key)
);
