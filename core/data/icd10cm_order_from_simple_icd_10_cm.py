#!/usr/bin/env python3
"""Write an ICD-10-CM order file (the CMS "icd10cm_order_YYYY.txt" fixed-width layout) from the
code set carried by the PyPI package simple-icd-10-cm, which ships the CMS tabular XML.

    python3 -m venv /tmp/icdvenv && /tmp/icdvenv/bin/pip install simple-icd-10-cm
    /tmp/icdvenv/bin/python core/data/icd10cm_order_from_simple_icd_10_cm.py > /tmp/icd10cm_order.txt

Layout written (1-based columns, as in the CMS file):
    1-5   order number, zero-padded
    7-13  code without its dot, left-justified
    15    0 = header (not valid on a claim), 1 = billable
    17-76 short description (60 characters, space-padded)
    78-   long description

The tabular XML has no abbreviated short titles, so the short column holds the full title when it
fits in 60 characters and otherwise the title cut at the last word boundary before column 77.
The long column is the official full title. Chapters and blocks (ranges such as "A00-A09") are
not codes and are left out, as in the CMS file; a block of one category (such as "R99" or "QA0")
is named like its category, so the package lists that name twice: it is written once, as the
category.
"""

import sys

import simple_icd_10_cm as cm

SHORT_WIDTH = 60


def shorten(title: str) -> str:
    if len(title) <= SHORT_WIDTH:
        return title
    cut = title[: SHORT_WIDTH + 1].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:-(")


def main() -> None:
    out = sys.stdout
    order = 0
    seen = set()
    for code in cm.get_all_codes(with_dots=False):
        if cm.is_chapter(code) or code in seen:
            continue
        if cm.is_block(code) and not cm.is_category(code):
            continue
        seen.add(code)
        order += 1
        title = " ".join(cm.get_description(code, prioritize_blocks=False).split())
        flag = "1" if cm.is_leaf(code, prioritize_blocks=False) else "0"
        out.write(f"{order:05d} {code:<7} {flag} {shorten(title):<{SHORT_WIDTH}} {title}\n")
    print(f"{order} codes", file=sys.stderr)


if __name__ == "__main__":
    main()
