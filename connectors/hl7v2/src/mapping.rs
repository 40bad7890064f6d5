//! The HL7 v2 field mapping as data: which HL7 field fills which canonical field, and the
//! rule applied. The README's mapping table is generated from [`MAPPING`] (a test checks it
//! is current), and the locations the plugin reports for refused values come from it.

/// One HL7 field and what it becomes.
#[derive(Clone, Copy, Debug)]
pub struct FieldMap {
    pub segment: &'static str,
    pub field: usize,
    /// `patient`, `coverage` or `encounter`.
    pub record: &'static str,
    /// Canonical JSON pointers (in the record) filled from this field; `*` stands for an
    /// index. Empty when the field is checked but fills no canonical field by itself.
    pub pointers: &'static [&'static str],
    /// What is done with it (no values).
    pub rule: &'static str,
}

const fn row(
    segment: &'static str,
    field: usize,
    record: &'static str,
    pointers: &'static [&'static str],
    rule: &'static str,
) -> FieldMap {
    FieldMap {
        segment,
        field,
        record,
        pointers,
        rule,
    }
}

/// Every field the plugin reads, in segment order.
pub const MAPPING: &[FieldMap] = &[
    row(
        "PID",
        3,
        "patient",
        &["/external_id", "/mrn"],
        "Required: the first identifier of type (CX-5) `MR`. Identifier type `SS` gives the SSN when PID-19 is empty.",
    ),
    row(
        "PID",
        5,
        "patient",
        &["/name", "/other_names"],
        "The legal name (XPN-7 `L`) first, the others as other names; family or given name required.",
    ),
    row(
        "PID",
        7,
        "patient",
        &["/birth_date"],
        "HL7 DT/TS; an impossible date rejects the patient.",
    ),
    row(
        "PID",
        8,
        "patient",
        &["/sex"],
        "Table 0001: `F`, `M`, `O`/`A` (other), `U`/`N`/empty (unknown); any other value rejects the patient.",
    ),
    row(
        "PID",
        11,
        "patient",
        &["/address"],
        "The home (XAD-7 `H`) address first.",
    ),
    row(
        "PID",
        13,
        "patient",
        &["/phone", "/email"],
        "Home phone first, digits only; XTN-2 `NET` gives the e-mail.",
    ),
    row(
        "PID",
        19,
        "patient",
        &["/ssn"],
        "Nine digits, else dropped with a warning.",
    ),
    row("IN1", 2, "coverage", &["/plan_name"], "CE-2, else CE-1."),
    row(
        "IN1",
        3,
        "coverage",
        &["/payer/payer_id"],
        "Must be a payer id set up in Revcycle; required with IN1-4 when both are missing.",
    ),
    row("IN1", 4, "coverage", &["/payer/name"], ""),
    row("IN1", 8, "coverage", &["/group_number"], ""),
    row("IN1", 9, "coverage", &["/group_name"], ""),
    row("IN1", 12, "coverage", &["/period/start"], "HL7 DT."),
    row("IN1", 13, "coverage", &["/period/end"], "HL7 DT."),
    row(
        "IN1",
        16,
        "coverage",
        &["/subscriber/name"],
        "When the patient is not the insured; else GT1-3.",
    ),
    row(
        "IN1",
        17,
        "coverage",
        &["/relationship"],
        "Table 0063 (`SEL`, `SPO`, `CHD`...); empty means self.",
    ),
    row(
        "IN1",
        18,
        "coverage",
        &["/subscriber/birth_date"],
        "Else GT1-8.",
    ),
    row(
        "IN1",
        19,
        "coverage",
        &["/subscriber/address"],
        "Else GT1-5.",
    ),
    row(
        "IN1",
        22,
        "coverage",
        &["/priority"],
        "`1`, `2`, `3`; else the IN1 order.",
    ),
    row(
        "IN1",
        36,
        "coverage",
        &["/member_id"],
        "Required: IN1-36, else IN1-49, IN2-6 (Medicare), IN2-8 (Medicaid).",
    ),
    row(
        "IN1",
        43,
        "coverage",
        &["/subscriber/sex"],
        "Table 0001, as PID-8 (else GT1-9); another value rejects the coverage.",
    ),
    row(
        "PV1",
        7,
        "encounter",
        &["/billing_provider_npi", "/rendering_provider_npi"],
        "The connector's `default_billing_provider_npi` (a group's NPI) is the billing provider when set, else the attending's NPI (XCN-9 or XCN-13 `NPI`); the attending is also the rendering provider when the charges name none.",
    ),
    row(
        "PV1",
        8,
        "encounter",
        &["/referring_provider_npi"],
        "The referring doctor's NPI.",
    ),
    row(
        "PV1",
        19,
        "encounter",
        &["/external_id"],
        "Required: the visit number.",
    ),
    row(
        "PV1",
        44,
        "encounter",
        &["/date_of_service", "/end_date"],
        "Used when no charge has a date.",
    ),
    row(
        "DG1",
        3,
        "encounter",
        &["/diagnoses/*"],
        "ICD-10-CM (dotted or not); ordered by DG1-15 priority. ICD-9 rejects the encounter.",
    ),
    row(
        "FT1",
        2,
        "encounter",
        &["/service_lines/*/line_control_number", "/credits/*"],
        "The transaction id; a credit (CD) reverses the charge with the same FT1-2 in the same message, else the charge of an earlier message of the visit (PV1-19) that Revcycle stored with that FT1-2. A credit matching no charge is refused (ERR-3 204 at FT1-2); a resent credit changes nothing; a charge already on a claim is never changed (the credit is refused).",
    ),
    row(
        "FT1",
        4,
        "encounter",
        &[
            "/service_lines/*/service_date",
            "/date_of_service",
            "/end_date",
        ],
        "Required for a charge; the encounter spans the charges' dates.",
    ),
    row(
        "FT1",
        6,
        "encounter",
        &[],
        "Table 0017: `CG` is a service line; `CD` reverses a charge of the same message or of an earlier message of the visit (see FT1-2); `PY` and `AJ` are not posted (the charge is refused with an error); any other value is refused.",
    ),
    row(
        "FT1",
        7,
        "encounter",
        &["/service_lines/*/procedure_code"],
        "The procedure when FT1-25 is empty and FT1-7 is coded in CPT/HCPCS (CE-3 `C4`, `CPT`, `HCPCS`...).",
    ),
    row(
        "FT1",
        10,
        "encounter",
        &["/service_lines/*/units"],
        "A number; 1 when empty.",
    ),
    row(
        "FT1",
        11,
        "encounter",
        &["/service_lines/*/charge"],
        "Required CP: the amount (currency `USD` when given); price type (CP-2) from table 0205.",
    ),
    row(
        "FT1",
        19,
        "encounter",
        &["/service_lines/*/diagnosis_pointers", "/diagnoses/*"],
        "ICD-10-CM; codes not in DG1 are added to the diagnoses.",
    ),
    row(
        "FT1",
        20,
        "encounter",
        &[
            "/service_lines/*/rendering_provider_npi",
            "/rendering_provider_npi",
        ],
        "The performing provider's NPI: the encounter's rendering provider when every charge names the same one.",
    ),
    row(
        "FT1",
        21,
        "encounter",
        &["/referring_provider_npi"],
        "The ordering provider's NPI: the referring provider when PV1-8 has none and it is not the rendering one.",
    ),
    row(
        "FT1",
        23,
        "encounter",
        &["/service_lines/*/filler_order_number", "/credits/*"],
        "Filler order number: matches a credit (CD) to its charge when FT1-2 does not, in the same message or an earlier one of the visit.",
    ),
    row(
        "FT1",
        25,
        "encounter",
        &["/service_lines/*/procedure_code"],
        "Required for a charge (or FT1-7): CPT or HCPCS.",
    ),
    row(
        "FT1",
        26,
        "encounter",
        &["/service_lines/*/modifiers"],
        "Up to four two-character modifiers.",
    ),
    row(
        "PR1",
        3,
        "encounter",
        &[],
        "Checked (CPT/HCPCS); a procedure without a charge is not billed (warning).",
    ),
];

/// The README's mapping table (Markdown).
pub fn markdown_table() -> String {
    let mut out = String::from("| HL7 v2 field | Revcycle record field | Rule |\n|---|---|---|\n");
    for m in MAPPING {
        let fields = if m.pointers.is_empty() {
            "(checked, not stored)".to_owned()
        } else {
            m.pointers
                .iter()
                .map(|p| format!("`{}{}`", m.record, p.replace('/', ".")))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push_str(&format!(
            "| {}-{} | {} | {} |\n",
            m.segment, m.field, fields, m.rule
        ));
    }
    out
}

/// Whether `pointer` (with indexes) is one of the row's patterns.
pub fn matches(row: &FieldMap, pointer: &str) -> bool {
    let normal: String = pointer
        .split('/')
        .map(|part| {
            if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
                "*"
            } else {
                part
            }
        })
        .collect::<Vec<_>>()
        .join("/");
    row.pointers.contains(&normal.as_str())
}
