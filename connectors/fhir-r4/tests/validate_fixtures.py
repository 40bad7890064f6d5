#!/usr/bin/env python3
"""Validates FHIR R4 fixtures with fhir.resources 6.4.0 (R4 4.0.1 models, pydantic 1).

    validate_fixtures.py FILE...   (*.json: one resource or Bundle; *.ndjson: one per line)

Also checks every NPI (system http://hl7.org/fhir/sid/us-npi, in an identifier or in a
conditional reference `Type?identifier=<system>|<npi>`) with the Luhn check over the 80840
prefix, once per file and value. Prints one line per problem and exits 1 if there is any;
prints "N passed, 0 failed" style totals otherwise.
"""

import json
import sys

from fhir.resources import get_fhir_model_class

NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"


def npi_ok(value):
    if len(value) != 10 or not value.isdigit():
        return False
    total = 0
    for i, d in enumerate(reversed([int(c) for c in "80840" + value])):
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def npis(value):
    if isinstance(value, dict):
        if value.get("system") == NPI_SYSTEM and "value" in value:
            yield value["value"]
        ref = value.get("reference")
        if isinstance(ref, str) and f"identifier={NPI_SYSTEM}|" in ref:
            yield ref.split(f"identifier={NPI_SYSTEM}|", 1)[1].split("&", 1)[0]
        for v in value.values():
            yield from npis(v)
    elif isinstance(value, list):
        for v in value:
            yield from npis(v)


def check(label, data, problems):
    rtype = data.get("resourceType")
    try:
        get_fhir_model_class(rtype).parse_obj(data)
    except Exception as e:  # noqa: BLE001 - any failure is a fixture problem
        problems.append(f"{label}: {rtype}: {e}")
    for value in dict.fromkeys(npis(data)):
        if not npi_ok(value):
            problems.append(f"{label}: NPI {value} fails the Luhn check")


def main(paths):
    problems = []
    checked = 0
    for path in paths:
        with open(path, encoding="utf-8") as f:
            if path.endswith(".ndjson"):
                for n, line in enumerate(f, 1):
                    if line.strip():
                        check(f"{path}:{n}", json.loads(line), problems)
                        checked += 1
            else:
                check(path, json.load(f), problems)
                checked += 1
    for p in problems:
        print(p)
    print(f"{checked - min(checked, len(problems))} passed, {len(problems)} failed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
