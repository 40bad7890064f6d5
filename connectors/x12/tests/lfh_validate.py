"""Parses X12 files with linuxforhealth-x12 (pydantic models of the 5010 guides).

Usage: python lfh_validate.py FILE...
Prints one JSON object per file: {"file", "models", "errors": [...]}; exit status 0 when every
file parsed into at least one model without a validation error.
"""

import json
import sys

from linuxforhealth.x12.io import X12ModelReader


def check(path):
    errors = []
    models = 0
    try:
        with X12ModelReader(path) as reader:
            for _ in reader.models():
                models += 1
    except Exception as exc:  # pydantic.ValidationError and parser errors alike
        errors.append(f"{type(exc).__name__}: {exc}")
    return {"file": path, "models": models, "errors": errors}


def main():
    ok = True
    for path in sys.argv[1:]:
        result = check(path)
        if result["errors"] or result["models"] == 0:
            ok = False
        print(json.dumps(result))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
