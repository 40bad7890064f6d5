"""Validates X12 files with pyx12 against the 5010 implementation guides.

Usage: python pyx12_validate.py FILE...
Prints one JSON object per file: {"file", "valid", "errors": [every error pyx12 reported]}; exit status 0 when every file
has no error, 1 otherwise. A file pyx12 gives up on (no map for its GS01/GS08) is reported invalid with an "engine" error,
and one it fails on with an internal error is reported invalid with a "crash" error. (pyx12's own x12valid script exits 1 whether the file passes or not.)
"""

import io
import json
import logging
import sys

import pyx12.error_handler
import pyx12.errors
import pyx12.params
import pyx12.x12n_document


def validate(path):
    param = pyx12.params.params()
    fd_json = io.StringIO()
    with open(path, encoding="ascii", errors="replace") as src:
        try:
            valid = pyx12.x12n_document.x12n_document(
                param=param,
                src_file=src,
                fd_997=None,
                fd_html=None,
                fd_json=fd_json,
            )
        except pyx12.errors.EngineError as exc:
            # pyx12 gives up on the file (no map for its GS01/GS08): it does not accept it.
            return {"file": path, "valid": False, "errors": [{"err_cde": "engine", "err_str": str(exc)}]}
        except Exception as exc:  # noqa: BLE001 - a crash in pyx12 is reported, never taken as a pass
            return {
                "file": path,
                "valid": False,
                "errors": [{"err_cde": "crash", "err_str": f"pyx12 failed: {type(exc).__name__}: {exc}"}],
            }
    text = fd_json.getvalue().strip()
    errors = json.loads(text) if text else []
    found = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "errors" and isinstance(value, list):
                    found.extend(e for e in value if isinstance(e, dict))
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(errors)
    return {"file": path, "valid": bool(valid), "errors": found}


def main():
    logging.disable(logging.CRITICAL)
    ok = True
    for path in sys.argv[1:]:
        result = validate(path)
        if not result["valid"] or result["errors"]:
            ok = False
        print(json.dumps(result))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
