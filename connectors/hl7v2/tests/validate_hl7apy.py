"""Validates HL7 v2.5.1 fixture files with hl7apy (strict parsing and message validation).

Usage: python validate_hl7apy.py [--own-version] FILE...
Each file holds one message or a batch (FHS/BHS/BTS/FTS lines are skipped and every MSH starts
a message). Segments may end with CR, LF or CRLF. Exits 1 and names the file, message and
problem for anything hl7apy refuses; prints "N passed, 0 failed" otherwise. With
--own-version each message is validated against the version its MSH-12 names (for public
samples of other 2.x versions) instead of requiring 2.5.1.
"""

import sys

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message


def messages(text):
    lines = [l for l in text.replace("\r\n", "\n").replace("\r", "\n").split("\n") if l.strip()]
    current = []
    for line in lines:
        seg = line[:3]
        if seg in ("FHS", "BHS", "BTS", "FTS"):
            continue
        if seg == "MSH" and current:
            yield "\r".join(current)
            current = []
        current.append(line)
    if current:
        yield "\r".join(current)


def main(paths):
    own_version = False
    if paths and paths[0] == "--own-version":
        own_version, paths = True, paths[1:]
    passed = failed = 0
    for path in paths:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for i, msg in enumerate(messages(text), start=1):
            try:
                parsed = parse_message(
                    msg, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True
                )
                if not own_version and parsed.version != "2.5.1":
                    raise ValueError("version is %s, not 2.5.1" % parsed.version)
                parsed.validate()
                passed += 1
            except Exception as exc:  # report every refusal, keep going
                failed += 1
                print("%s message %d: %s: %s" % (path, i, type(exc).__name__, exc))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
