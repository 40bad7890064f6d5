#!/usr/bin/env python3
"""Builds the seed corpora (fuzz/corpus/<target>/, fuzz/core/corpus/<target>/) from the synthetic fixtures already in the
repository: fixture files as they are, and the X12/HL7 texts embedded in the connector tests.

Run from anywhere: python3 fuzz/scripts/seeds.py. Idempotent; corpus files are named by the
SHA-1 of their content, as libFuzzer names the inputs it adds.
"""
import hashlib
import json
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORPUS = ROOT / "fuzz" / "corpus"
CORPUS_CORE = ROOT / "fuzz" / "core" / "corpus"


def add(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = (CORPUS_CORE if target.startswith("core_") else CORPUS) / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def rust_literals(path):
    """Plain (non-raw) Rust string literals of a test file, unescaped."""
    text = path.read_text()
    out = []
    for m in re.finditer(r'"((?:[^"\\]|\\.)*)"', text, re.S):
        s = m.group(1)
        # Line continuation: backslash-newline and the next line's leading spaces vanish.
        s = re.sub(r"\\\n\s*", "", s)
        s = (s.replace("\\r", "\r").replace("\\n", "\n").replace("\\t", "\t")
             .replace('\\"', '"').replace("\\\\", "\\"))
        out.append(s)
    return out


def x12_texts():
    texts = []
    for f in sorted((ROOT / "connectors/x12/tests/fixtures").rglob("*")):
        if f.suffix in (".835", ".x12", ".837", ".999", ".271", ".277"):
            texts.append(f.read_text())
    for f in sorted((ROOT / "connectors/x12/tests").glob("*.rs")) + sorted(
        (ROOT / "connectors/x12-plugin/tests").glob("*.rs")
    ):
        for s in rust_literals(f):
            if s.startswith("ISA") and "IEA" in s:
                texts.append(s)
    return texts


def main():
    x12 = x12_texts()
    # Every X12 target gets every transaction: the others' envelopes are valid input too.
    for t in x12:
        for target in ("x12_reader", "x12_835", "x12_ack", "x12_271", "x12_277", "x12_837p"):
            add(target, t)

    hl7 = sorted((ROOT / "connectors/hl7v2/tests/fixtures").glob("*.hl7"))
    for f in hl7:
        data = f.read_bytes()
        add("hl7v2_parse", data)
        add("hl7v2_import", data)

    fhir = ROOT / "connectors/fhir-r4/tests/fixtures"
    for name in ("bundle.json", "export.ndjson"):
        add("fhir_import", (fhir / name).read_bytes())

    # Money and dates: the shapes the API and its tests send.
    for s in ("125.00", "0", "0.5", "-12.34", "9999999999.99", "-9999999999.99",
              "10000000000.00", "1.234", "00012.10", " 7.00 ", "-0", "1e3", ".5", "5."):
        add("core_money", s)
    # Request bodies: the first byte picks the type (see fuzz_targets/core_input.rs).
    pid, cov, enc = ("0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a0" + c for c in "123")
    line = {"procedure_code": "99213", "modifiers": ["25"], "units": "1", "charge": "125.00",
            "diagnosis_pointers": [1, 2], "service_date": "2024-02-29"}
    adj = {"group": "CO", "reason": "45", "amount": "-80.00", "quantity": "1.5"}
    bodies = [
        (0, {"mrn": "MRN-000123", "family_name": "Doe", "given_name": "Jane",
             "birth_date": "1980-02-29", "sex": "F",
             "address": {"line1": "12 Elm St", "city": "Springfield", "state": "IL",
                         "zip": "62704"},
             "phone": "2175550100", "ssn": "123-45-6789"}),
        (1, {"patient_id": pid, "payer_id": cov, "priority": "primary",
             "member_id": "XJH123456789", "group_number": "GRP-100", "relationship": "child",
             "subscriber": {"family_name": "Doe", "given_name": "John",
                            "birth_date": "1979-12-31", "sex": "M"},
             "effective_from": "2024-01-01", "effective_to": "2024-12-31"}),
        (2, {"patient_id": pid, "coverage_id": cov, "billing_provider_id": enc,
             "service_date_from": "2024-02-28", "service_date_to": "2024-03-01",
             "place_of_service": "11", "diagnoses": ["E11.9", "I10"], "lines": [line]}),
        (3, {"place_of_service": "11", "prior_authorization": "PA1",
             "diagnoses": ["E11.9"], "lines": [line]}),
        (4, {"payer_id": pid, "trace_number": "EFT-1", "payment_date": "2024-03-20",
             "payment_method": "ACH", "total_paid": "96.00",
             "claims": [{"patient_control_number": "C1", "status_code": "1",
                         "total_charge": "200.00", "paid": "96.00",
                         "patient_responsibility": "24.00", "adjustments": [adj],
                         "lines": [{"procedure_code": "99213", "charge": "200.00",
                                    "paid": "96.00", "service_date": "2024-03-01",
                                    "adjustments": [adj], "remarks": ["N130"]}]}],
             "provider_adjustments": [{"reason": "L6", "amount": "1.00"}]}),
        (5, {"encounter_id": enc, "frequency_code": "7", "original_claim_id": pid,
             "original_reference": "PCN-1"}),
    ]
    for kind, body in bodies:
        add("core_input", bytes([kind]) + json.dumps(body).encode())


if __name__ == "__main__":
    main()
