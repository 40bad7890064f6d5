//! 271 Eligibility, Coverage or Benefit Information, 005010X279A1: loops, the segments of
//! each with their usage and repeats, the qualifiers that tell loops and segments apart, and
//! the elements the guide requires. Written from the guide (pyx12 has no map of it).

use super::spec::{El, Item, Loop, Seg};

const fn r(
    seq: u8,
    name: &'static str,
    ty: &'static str,
    min: u16,
    max: u16,
    codes: &'static [&'static str],
) -> El {
    El {
        seq,
        name,
        usage: b'R',
        ty,
        min,
        max,
        repeat: 1,
        codes,
        parts: &[],
    }
}

const fn s(
    seq: u8,
    name: &'static str,
    ty: &'static str,
    min: u16,
    max: u16,
    codes: &'static [&'static str],
) -> El {
    El {
        seq,
        name,
        usage: b'S',
        ty,
        min,
        max,
        repeat: 1,
        codes,
        parts: &[],
    }
}

const fn n(seq: u8, name: &'static str) -> El {
    El {
        seq,
        name,
        usage: b'N',
        ty: "AN",
        min: 0,
        max: 0,
        repeat: 1,
        codes: &[],
        parts: &[],
    }
}

const fn seg(
    id: &'static str,
    name: &'static str,
    usage: u8,
    max: u32,
    key: Option<(u8, u8)>,
    els: &'static [El],
) -> Seg {
    Seg {
        id,
        name,
        usage,
        max,
        key,
        syntax: &[],
        els,
    }
}

const NM1_ID_QUALIFIERS: &[&str] = &[
    "24", "34", "46", "FI", "II", "MI", "NI", "PI", "PP", "SV", "XV", "XX",
];

const fn hl(els: &'static [El]) -> Seg {
    seg("HL", "Hierarchical Level", b'R', 1, Some((3, 0)), els)
}

const HL_20: [El; 4] = [
    r(1, "Hierarchical ID Number", "AN", 1, 12, &[]),
    n(2, "Hierarchical Parent ID Number"),
    r(3, "Hierarchical Level Code", "ID", 1, 2, &["20"]),
    r(4, "Hierarchical Child Code", "ID", 1, 1, &["1"]),
];
const HL_21: [El; 4] = [
    r(1, "Hierarchical ID Number", "AN", 1, 12, &[]),
    r(2, "Hierarchical Parent ID Number", "AN", 1, 12, &[]),
    r(3, "Hierarchical Level Code", "ID", 1, 2, &["21"]),
    r(4, "Hierarchical Child Code", "ID", 1, 1, &["0", "1"]),
];
const HL_22: [El; 4] = [
    r(1, "Hierarchical ID Number", "AN", 1, 12, &[]),
    r(2, "Hierarchical Parent ID Number", "AN", 1, 12, &[]),
    r(3, "Hierarchical Level Code", "ID", 1, 2, &["22"]),
    r(4, "Hierarchical Child Code", "ID", 1, 1, &["0", "1"]),
];
const HL_23: [El; 4] = [
    r(1, "Hierarchical ID Number", "AN", 1, 12, &[]),
    r(2, "Hierarchical Parent ID Number", "AN", 1, 12, &[]),
    r(3, "Hierarchical Level Code", "ID", 1, 2, &["23"]),
    s(4, "Hierarchical Child Code", "ID", 1, 1, &["0"]),
];

const fn nm1(els: &'static [El]) -> Seg {
    seg(
        "NM1",
        "Individual or Organizational Name",
        b'R',
        1,
        Some((1, 0)),
        els,
    )
}

const NM1_SOURCE_CODES: &[&str] = &["2B", "36", "GP", "P5", "PR"];
const NM1_RECEIVER_CODES: &[&str] = &["1P", "2B", "36", "80", "FA", "GP", "P5", "PR"];
const NM1_BENEFIT_CODES: &[&str] = &[
    "13", "1I", "1P", "2B", "36", "71", "72", "73", "74", "75", "76", "77", "7C", "80", "82", "84",
    "85", "87", "GP", "GW", "I3", "IL", "LR", "P3", "P4", "P5", "PR", "PRP", "S1", "SEP", "TTP",
    "VER", "VN", "VY", "X3", "Y2",
];

const NM1_PR: [El; 9] = [
    r(1, "Entity Identifier Code", "ID", 2, 3, NM1_SOURCE_CODES),
    r(2, "Entity Type Qualifier", "ID", 1, 1, &["1", "2"]),
    s(3, "Name Last or Organization Name", "AN", 1, 60, &[]),
    s(4, "Name First", "AN", 1, 35, &[]),
    s(5, "Name Middle", "AN", 1, 25, &[]),
    n(6, "Name Prefix"),
    s(7, "Name Suffix", "AN", 1, 10, &[]),
    r(
        8,
        "Identification Code Qualifier",
        "ID",
        1,
        2,
        &["24", "46", "FI", "NI", "PI", "XV", "XX"],
    ),
    r(9, "Identification Code", "AN", 2, 80, &[]),
];
const NM1_ANY: [El; 9] = [
    r(1, "Entity Identifier Code", "ID", 2, 3, NM1_RECEIVER_CODES),
    r(2, "Entity Type Qualifier", "ID", 1, 1, &["1", "2"]),
    s(3, "Name Last or Organization Name", "AN", 1, 60, &[]),
    s(4, "Name First", "AN", 1, 35, &[]),
    s(5, "Name Middle", "AN", 1, 25, &[]),
    n(6, "Name Prefix"),
    s(7, "Name Suffix", "AN", 1, 10, &[]),
    s(
        8,
        "Identification Code Qualifier",
        "ID",
        1,
        2,
        NM1_ID_QUALIFIERS,
    ),
    s(9, "Identification Code", "AN", 2, 80, &[]),
];
const NM1_IL: [El; 9] = [
    r(1, "Entity Identifier Code", "ID", 2, 3, &["IL"]),
    r(2, "Entity Type Qualifier", "ID", 1, 1, &["1", "2"]),
    s(3, "Name Last or Organization Name", "AN", 1, 60, &[]),
    s(4, "Name First", "AN", 1, 35, &[]),
    s(5, "Name Middle", "AN", 1, 25, &[]),
    n(6, "Name Prefix"),
    s(7, "Name Suffix", "AN", 1, 10, &[]),
    s(
        8,
        "Identification Code Qualifier",
        "ID",
        1,
        2,
        &["II", "MI"],
    ),
    s(9, "Identification Code", "AN", 2, 80, &[]),
];
const NM1_03: [El; 9] = [
    r(1, "Entity Identifier Code", "ID", 2, 3, &["03"]),
    r(2, "Entity Type Qualifier", "ID", 1, 1, &["1"]),
    s(3, "Name Last or Organization Name", "AN", 1, 60, &[]),
    s(4, "Name First", "AN", 1, 35, &[]),
    s(5, "Name Middle", "AN", 1, 25, &[]),
    n(6, "Name Prefix"),
    s(7, "Name Suffix", "AN", 1, 10, &[]),
    n(8, "Identification Code Qualifier"),
    n(9, "Identification Code"),
];

const AAA: Seg = seg(
    "AAA",
    "Request Validation",
    b'S',
    9,
    None,
    &[
        r(1, "Valid Request Indicator", "ID", 1, 1, &["N", "Y"]),
        n(2, "Agency Qualifier Code"),
        r(3, "Reject Reason Code", "ID", 2, 2, &[]),
        r(
            4,
            "Follow-up Action Code",
            "ID",
            1,
            1,
            &["C", "N", "P", "R", "S", "W", "X", "Y"],
        ),
    ],
);
const PER: Seg = seg(
    "PER",
    "Contact Information",
    b'S',
    3,
    Some((1, 0)),
    &[
        r(1, "Contact Function Code", "ID", 2, 2, &["IC"]),
        s(2, "Name", "AN", 1, 60, &[]),
        s(
            3,
            "Communication Number Qualifier",
            "ID",
            2,
            2,
            &["ED", "EM", "FX", "TE", "UR"],
        ),
        s(4, "Communication Number", "AN", 1, 256, &[]),
        s(
            5,
            "Communication Number Qualifier",
            "ID",
            2,
            2,
            &["ED", "EM", "EX", "FX", "TE", "UR"],
        ),
        s(6, "Communication Number", "AN", 1, 256, &[]),
        s(
            7,
            "Communication Number Qualifier",
            "ID",
            2,
            2,
            &["ED", "EM", "EX", "FX", "TE", "UR"],
        ),
        s(8, "Communication Number", "AN", 1, 256, &[]),
        n(9, "Contact Inquiry Reference"),
    ],
);
const REF: Seg = seg(
    "REF",
    "Additional Identification",
    b'S',
    9,
    None,
    &[
        r(1, "Reference Identification Qualifier", "ID", 2, 3, &[]),
        r(2, "Reference Identification", "AN", 1, 50, &[]),
        s(3, "Description", "AN", 1, 80, &[]),
        n(4, "Reference Identifier"),
    ],
);
const N3: Seg = seg(
    "N3",
    "Address",
    b'S',
    1,
    None,
    &[
        r(1, "Address Information", "AN", 1, 55, &[]),
        s(2, "Address Information", "AN", 1, 55, &[]),
    ],
);
const N4: Seg = seg(
    "N4",
    "City, State, ZIP Code",
    b'S',
    1,
    None,
    &[
        r(1, "City Name", "AN", 2, 30, &[]),
        s(2, "State or Province Code", "ID", 2, 2, &[]),
        s(3, "Postal Code", "ID", 3, 15, &[]),
        s(4, "Country Code", "ID", 2, 3, &[]),
        n(5, "Location Qualifier"),
        n(6, "Location Identifier"),
        s(7, "Country Subdivision Code", "ID", 1, 3, &[]),
    ],
);
const PRV: Seg = seg(
    "PRV",
    "Provider Information",
    b'S',
    1,
    None,
    &[
        r(1, "Provider Code", "ID", 1, 3, &[]),
        s(2, "Reference Identification Qualifier", "ID", 2, 3, &[]),
        s(3, "Reference Identification", "AN", 1, 50, &[]),
    ],
);
const DMG: Seg = seg(
    "DMG",
    "Demographic Information",
    b'S',
    1,
    None,
    &[
        r(1, "Date Time Period Format Qualifier", "ID", 2, 3, &["D8"]),
        r(2, "Date of Birth", "AN", 1, 35, &[]),
        s(3, "Gender Code", "ID", 1, 1, &["F", "M", "U"]),
    ],
);
const INS: Seg = seg("INS", "Relationship", b'S', 1, None, &[]);
const HI: Seg = seg("HI", "Health Care Diagnosis Code", b'S', 1, None, &[]);
const DTP: Seg = seg(
    "DTP",
    "Date",
    b'S',
    9,
    None,
    &[
        r(1, "Date/Time Qualifier", "ID", 3, 3, &[]),
        r(
            2,
            "Date Time Period Format Qualifier",
            "ID",
            2,
            3,
            &["D8", "RD8"],
        ),
        r(3, "Date Time Period", "AN", 1, 35, &[]),
    ],
);
const MPI: Seg = seg("MPI", "Military Personnel Information", b'S', 1, None, &[]);
const TRN: Seg = seg(
    "TRN",
    "Trace Number",
    b'S',
    3,
    Some((1, 0)),
    &[
        r(1, "Trace Type Code", "ID", 1, 2, &["1", "2"]),
        r(2, "Reference Identification", "AN", 1, 50, &[]),
        r(3, "Originating Company Identifier", "AN", 10, 10, &[]),
        s(4, "Reference Identification", "AN", 1, 50, &[]),
    ],
);

const EB_CODES: &[&str] = &[
    "1", "2", "3", "4", "5", "6", "7", "8", "A", "B", "C", "CB", "D", "E", "F", "G", "H", "I", "J",
    "K", "L", "M", "MC", "N", "O", "P", "Q", "R", "S", "T", "U", "V", "W", "X", "Y",
];

const EB: Seg = seg(
    "EB",
    "Eligibility or Benefit Information",
    b'S',
    0,
    Some((1, 0)),
    &[
        r(
            1,
            "Eligibility or Benefit Information Code",
            "ID",
            1,
            2,
            EB_CODES,
        ),
        s(
            2,
            "Coverage Level Code",
            "ID",
            3,
            3,
            &[
                "CHD", "DEP", "ECH", "EMP", "ESP", "FAM", "IND", "SPC", "SPO", "TWO",
            ],
        ),
        El {
            seq: 3,
            name: "Service Type Code",
            usage: b'S',
            ty: "ID",
            min: 1,
            max: 2,
            repeat: 99,
            codes: &[],
            parts: &[],
        },
        s(4, "Insurance Type Code", "ID", 1, 3, &[]),
        s(5, "Plan Coverage Description", "AN", 1, 50, &[]),
        s(6, "Time Period Qualifier", "ID", 1, 2, &[]),
        s(7, "Monetary Amount", "R", 1, 18, &[]),
        s(8, "Percentage as Decimal", "R", 1, 10, &[]),
        s(9, "Quantity Qualifier", "ID", 2, 2, &[]),
        s(10, "Quantity", "R", 1, 15, &[]),
        s(
            11,
            "Yes/No Condition or Response Code",
            "ID",
            1,
            1,
            &["N", "U", "Y"],
        ),
        s(
            12,
            "Yes/No Condition or Response Code",
            "ID",
            1,
            1,
            &["N", "U", "W", "Y"],
        ),
        El {
            seq: 13,
            name: "Composite Medical Procedure Identifier",
            usage: b'S',
            ty: "",
            min: 0,
            max: 0,
            repeat: 1,
            codes: &[],
            parts: &[],
        },
        El {
            seq: 14,
            name: "Composite Diagnosis Code Pointer",
            usage: b'S',
            ty: "",
            min: 0,
            max: 0,
            repeat: 1,
            codes: &[],
            parts: &[],
        },
    ],
);

const LOOP_2120: Loop = Loop {
    id: "2120",
    name: "Benefit Related Entity Name",
    usage: b'S',
    max: 23,
    items: &[
        Item::Seg(seg(
            "NM1",
            "Benefit Related Entity Name",
            b'R',
            1,
            Some((1, 0)),
            &[
                r(1, "Entity Identifier Code", "ID", 2, 3, NM1_BENEFIT_CODES),
                r(2, "Entity Type Qualifier", "ID", 1, 1, &["1", "2"]),
                s(3, "Name Last or Organization Name", "AN", 1, 60, &[]),
                s(4, "Name First", "AN", 1, 35, &[]),
                s(5, "Name Middle", "AN", 1, 25, &[]),
                n(6, "Name Prefix"),
                s(7, "Name Suffix", "AN", 1, 10, &[]),
                s(8, "Identification Code Qualifier", "ID", 1, 2, &[]),
                s(9, "Identification Code", "AN", 2, 80, &[]),
                s(10, "Entity Relationship Code", "ID", 2, 2, &[]),
                n(11, "Entity Identifier Code"),
                n(12, "Name Last or Organization Name"),
            ],
        )),
        Item::Seg(N3),
        Item::Seg(N4),
        Item::Seg(PER),
        Item::Seg(PRV),
    ],
};

const LOOP_2110: Loop = Loop {
    id: "2110",
    name: "Eligibility or Benefit Information",
    usage: b'S',
    max: 0,
    items: &[
        Item::Seg(EB),
        Item::Seg(seg(
            "HSD",
            "Health Care Services Delivery",
            b'S',
            9,
            None,
            &[],
        )),
        Item::Seg(REF),
        Item::Seg(seg(
            "DTP",
            "Eligibility/Benefit Date",
            b'S',
            20,
            None,
            DTP.els,
        )),
        Item::Seg(AAA),
        Item::Seg(seg(
            "MSG",
            "Message Text",
            b'S',
            10,
            None,
            &[r(1, "Free-form Message Text", "AN", 1, 264, &[])],
        )),
        Item::Loop(Loop {
            id: "2115",
            name: "Eligibility or Benefit Additional Information",
            usage: b'S',
            max: 10,
            items: &[Item::Seg(seg(
                "III",
                "Eligibility or Benefit Additional Information",
                b'R',
                1,
                None,
                &[],
            ))],
        }),
        Item::Seg(seg(
            "LS",
            "Loop Header",
            b'S',
            1,
            None,
            &[r(1, "Loop Identifier Code", "AN", 1, 4, &["2120"])],
        )),
        Item::Loop(LOOP_2120),
        Item::Seg(seg(
            "LE",
            "Loop Trailer",
            b'S',
            1,
            None,
            &[r(1, "Loop Identifier Code", "AN", 1, 4, &["2120"])],
        )),
    ],
};

const SUBSCRIBER_NAME: Loop = Loop {
    id: "2100C",
    name: "Subscriber Name",
    usage: b'R',
    max: 1,
    items: &[
        Item::Seg(nm1(&NM1_IL)),
        Item::Seg(REF),
        Item::Seg(N3),
        Item::Seg(N4),
        Item::Seg(AAA),
        Item::Seg(PRV),
        Item::Seg(DMG),
        Item::Seg(INS),
        Item::Seg(HI),
        Item::Seg(DTP),
        Item::Seg(MPI),
        Item::Loop(LOOP_2110),
    ],
};

const DEPENDENT_NAME: Loop = Loop {
    id: "2100D",
    name: "Dependent Name",
    usage: b'R',
    max: 1,
    items: &[
        Item::Seg(nm1(&NM1_03)),
        Item::Seg(REF),
        Item::Seg(N3),
        Item::Seg(N4),
        Item::Seg(AAA),
        Item::Seg(PRV),
        Item::Seg(DMG),
        Item::Seg(INS),
        Item::Seg(HI),
        Item::Seg(DTP),
        Item::Seg(MPI),
        Item::Loop(LOOP_2110),
    ],
};

/// 271 005010X279A1.
pub(crate) static X279A1: Loop = Loop {
    id: "ST_LOOP",
    name: "Transaction Set Header",
    usage: b'R',
    max: 1,
    items: &[
        Item::Seg(seg(
            "ST",
            "Transaction Set Header",
            b'R',
            1,
            Some((1, 0)),
            &[
                r(1, "Transaction Set Identifier Code", "ID", 3, 3, &["271"]),
                r(2, "Transaction Set Control Number", "AN", 4, 9, &[]),
                s(3, "Implementation Convention Reference", "AN", 1, 35, &[]),
            ],
        )),
        Item::Seg(seg(
            "BHT",
            "Beginning of Hierarchical Transaction",
            b'R',
            1,
            Some((1, 0)),
            &[
                r(1, "Hierarchical Structure Code", "ID", 4, 4, &["0022"]),
                r(2, "Transaction Set Purpose Code", "ID", 2, 2, &["06", "11"]),
                s(3, "Submitter Transactional Identifier", "AN", 1, 50, &[]),
                r(4, "Transaction Set Creation Date", "DT", 8, 8, &[]),
                r(5, "Transaction Set Creation Time", "TM", 4, 8, &[]),
                n(6, "Transaction Type Code"),
            ],
        )),
        Item::Loop(Loop {
            id: "2000A",
            name: "Information Source Level",
            usage: b'R',
            max: 0,
            items: &[
                Item::Seg(hl(&HL_20)),
                Item::Seg(AAA),
                Item::Loop(Loop {
                    id: "2100A",
                    name: "Information Source Name",
                    usage: b'R',
                    max: 1,
                    items: &[Item::Seg(nm1(&NM1_PR)), Item::Seg(PER), Item::Seg(AAA)],
                }),
                Item::Loop(Loop {
                    id: "2000B",
                    name: "Information Receiver Level",
                    usage: b'S',
                    max: 0,
                    items: &[
                        Item::Seg(hl(&HL_21)),
                        Item::Loop(Loop {
                            id: "2100B",
                            name: "Information Receiver Name",
                            usage: b'R',
                            max: 1,
                            items: &[
                                Item::Seg(nm1(&NM1_ANY)),
                                Item::Seg(REF),
                                Item::Seg(N3),
                                Item::Seg(N4),
                                Item::Seg(AAA),
                                Item::Seg(PRV),
                            ],
                        }),
                        Item::Loop(Loop {
                            id: "2000C",
                            name: "Subscriber Level",
                            usage: b'S',
                            max: 0,
                            items: &[
                                Item::Seg(hl(&HL_22)),
                                Item::Seg(TRN),
                                Item::Loop(SUBSCRIBER_NAME),
                                Item::Loop(Loop {
                                    id: "2000D",
                                    name: "Dependent Level",
                                    usage: b'S',
                                    max: 0,
                                    items: &[
                                        Item::Seg(hl(&HL_23)),
                                        Item::Seg(TRN),
                                        Item::Loop(DEPENDENT_NAME),
                                    ],
                                }),
                            ],
                        }),
                    ],
                }),
            ],
        }),
        Item::Seg(seg(
            "SE",
            "Transaction Set Trailer",
            b'R',
            1,
            None,
            &[
                r(1, "Number of Included Segments", "N0", 1, 10, &[]),
                r(2, "Transaction Set Control Number", "AN", 4, 9, &[]),
            ],
        )),
    ],
};
