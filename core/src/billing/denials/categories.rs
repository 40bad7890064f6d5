//! The root-cause table: CARC (835 CAS02/05/...) -> category and whether the denial was
//! avoidable (a front-end check, a correct code or an authorization would have prevented it).
//! The README's table is generated from [`category_table_markdown`], so the two agree.
//!
//! Which adjustments are denials:
//! - Every adjustment of a line (or claim) the payer denied outright (nothing paid, nothing to
//!   the patient: what posting reports as denied) is a denial, whatever its CARC.
//! - On a line or claim that was paid or adjusted, an adjustment is a (partial) denial when its
//!   CARC is in the table as a denial ([`Kind::Denial`]) and its group is not PR: a PR amount
//!   moved to the patient and there is nothing to work with the payer. CO-45 (fee schedule),
//!   CO-253 (sequestration), CO-59 (multiple-procedure rules), CO-24 (capitation), CO-94 and
//!   the patient's share (1, 2, 3) are the contract working as agreed, not denials.
//! - A CARC not in the table is no denial on a paid line; on a line denied outright it is
//!   categorized `contractual`, not avoidable, until the table names it.

use serde::{Deserialize, Serialize};

use crate::model::remittance::AdjustmentGroup;

/// Why a claim or line was denied, as billers group root causes.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DenialCategory {
    EligibilityRegistration,
    Authorization,
    Coding,
    MedicalNecessity,
    TimelyFiling,
    Duplicate,
    Bundling,
    CoordinationOfBenefits,
    MissingInformation,
    Contractual,
}

impl DenialCategory {
    pub const ALL: [DenialCategory; 10] = [
        DenialCategory::EligibilityRegistration,
        DenialCategory::Authorization,
        DenialCategory::Coding,
        DenialCategory::MedicalNecessity,
        DenialCategory::TimelyFiling,
        DenialCategory::Duplicate,
        DenialCategory::Bundling,
        DenialCategory::CoordinationOfBenefits,
        DenialCategory::MissingInformation,
        DenialCategory::Contractual,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            DenialCategory::EligibilityRegistration => "eligibility_registration",
            DenialCategory::Authorization => "authorization",
            DenialCategory::Coding => "coding",
            DenialCategory::MedicalNecessity => "medical_necessity",
            DenialCategory::TimelyFiling => "timely_filing",
            DenialCategory::Duplicate => "duplicate",
            DenialCategory::Bundling => "bundling",
            DenialCategory::CoordinationOfBenefits => "coordination_of_benefits",
            DenialCategory::MissingInformation => "missing_information",
            DenialCategory::Contractual => "contractual",
        }
    }

    pub fn parse(s: &str) -> Option<DenialCategory> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// Whether a CARC, on a line that was otherwise paid, is a denial or the contract at work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Denial,
    Adjustment,
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CarcRule {
    pub carc: &'static str,
    pub category: DenialCategory,
    pub avoidable: bool,
    pub kind: Kind,
}

const fn d(carc: &'static str, category: DenialCategory, avoidable: bool) -> CarcRule {
    CarcRule {
        carc,
        category,
        avoidable,
        kind: Kind::Denial,
    }
}

const fn a(carc: &'static str) -> CarcRule {
    CarcRule {
        carc,
        category: DenialCategory::Contractual,
        avoidable: false,
        kind: Kind::Adjustment,
    }
}

use DenialCategory::*;

/// The table, by category. Sources: the CARC list's own descriptions (see `codes::carc`) and
/// common denial-management practice (HFMA's avoidable/unavoidable split).
pub const TABLE: &[CarcRule] = &[
    // Eligibility and registration: coverage, identity and dependents checked at the desk.
    d("26", EligibilityRegistration, true),
    d("27", EligibilityRegistration, true),
    d("31", EligibilityRegistration, true),
    d("32", EligibilityRegistration, true),
    d("33", EligibilityRegistration, true),
    d("140", EligibilityRegistration, true),
    d("177", EligibilityRegistration, true),
    d("200", EligibilityRegistration, true),
    // Authorization and referral.
    d("15", Authorization, true),
    d("39", Authorization, true),
    d("197", Authorization, true),
    d("198", Authorization, true),
    d("243", Authorization, true),
    d("288", Authorization, true),
    // Coding: the procedure, modifier or diagnosis does not fit.
    d("4", Coding, true),
    d("5", Coding, true),
    d("6", Coding, true),
    d("7", Coding, true),
    d("8", Coding, true),
    d("9", Coding, true),
    d("10", Coding, true),
    d("11", Coding, true),
    d("12", Coding, true),
    d("58", Coding, true),
    d("146", Coding, true),
    d("181", Coding, true),
    d("182", Coding, true),
    d("189", Coding, true),
    d("199", Coding, true),
    // Medical necessity and level of service: documentation may overturn it.
    d("50", MedicalNecessity, true),
    d("55", MedicalNecessity, false),
    d("56", MedicalNecessity, false),
    d("150", MedicalNecessity, true),
    d("151", MedicalNecessity, true),
    d("152", MedicalNecessity, true),
    d("167", MedicalNecessity, true),
    // Timely filing.
    d("29", TimelyFiling, true),
    // Duplicate claim or service.
    d("18", Duplicate, true),
    // Bundling (NCCI edits, services paid within another).
    d("97", Bundling, true),
    d("231", Bundling, true),
    d("234", Bundling, true),
    d("236", Bundling, true),
    d("B15", Bundling, true),
    // Coordination of benefits: another payer (or carrier) pays first.
    d("19", CoordinationOfBenefits, true),
    d("20", CoordinationOfBenefits, true),
    d("21", CoordinationOfBenefits, true),
    d("22", CoordinationOfBenefits, true),
    d("109", CoordinationOfBenefits, true),
    // Missing or invalid information on the claim, or documentation not sent.
    d("16", MissingInformation, true),
    d("125", MissingInformation, true),
    d("206", MissingInformation, true),
    d("207", MissingInformation, true),
    d("208", MissingInformation, true),
    d("226", MissingInformation, true),
    d("252", MissingInformation, true),
    // Contractual: the plan does not cover it or a benefit limit is reached.
    d("49", Contractual, false),
    d("96", Contractual, false),
    d("119", Contractual, false),
    d("204", Contractual, false),
    // The contract at work: adjustments, not denials.
    a("1"),
    a("2"),
    a("3"),
    a("23"),
    a("24"),
    a("45"),
    a("59"),
    a("94"),
    a("253"),
];

/// The table's row for a CARC (as the 835 gives it, surrounding spaces ignored).
pub fn rule(carc: &str) -> Option<&'static CarcRule> {
    let carc = carc.trim();
    TABLE.iter().find(|r| r.carc.eq_ignore_ascii_case(carc))
}

/// A denial's category and whether it was avoidable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classification {
    pub category: DenialCategory,
    pub avoidable: bool,
}

/// The category of a denial with this CARC (a CARC not in the table: contractual, not
/// avoidable).
pub fn classify(carc: &str) -> Classification {
    match rule(carc) {
        Some(r) => Classification {
            category: r.category,
            avoidable: r.avoidable,
        },
        None => Classification {
            category: Contractual,
            avoidable: false,
        },
    }
}

/// Whether an adjustment on a line or claim that was otherwise paid is a (partial) denial.
pub fn is_partial_denial(group: AdjustmentGroup, carc: &str) -> bool {
    group != AdjustmentGroup::PR && rule(carc).is_some_and(|r| r.kind == Kind::Denial)
}

/// The table as Markdown (README).
pub fn category_table_markdown() -> String {
    let mut out = String::from("| category | avoidable | CARCs |\n|---|---|---|\n");
    for c in DenialCategory::ALL {
        for avoidable in [true, false] {
            let codes: Vec<&str> = TABLE
                .iter()
                .filter(|r| r.kind == Kind::Denial && r.category == c && r.avoidable == avoidable)
                .map(|r| r.carc)
                .collect();
            if !codes.is_empty() {
                let yes = if avoidable { "yes" } else { "no" };
                out.push_str(&format!(
                    "| {} | {yes} | {} |\n",
                    c.as_str(),
                    codes.join(", ")
                ));
            }
        }
    }
    let adjustments: Vec<&str> = TABLE
        .iter()
        .filter(|r| r.kind == Kind::Adjustment)
        .map(|r| r.carc)
        .collect();
    out.push_str(&format!(
        "| not a denial on a paid line (contractual when the line is denied outright) | no | {} |\n",
        adjustments.join(", ")
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::carc_description;

    #[test]
    fn common_denials_fall_in_their_category() {
        let cases = [
            ("16", MissingInformation, true),
            ("50", MedicalNecessity, true),
            ("97", Bundling, true),
            ("29", TimelyFiling, true),
            ("18", Duplicate, true),
            ("27", EligibilityRegistration, true),
            ("197", Authorization, true),
            ("22", CoordinationOfBenefits, true),
            ("96", Contractual, false),
        ];
        for (carc, category, avoidable) in cases {
            assert_eq!(
                classify(carc),
                Classification {
                    category,
                    avoidable
                },
                "CARC {carc}"
            );
        }
        assert_eq!(classify(" 197 ").category, Authorization);
    }

    #[test]
    fn the_contract_at_work_is_no_denial() {
        assert!(!is_partial_denial(AdjustmentGroup::CO, "45"));
        assert!(!is_partial_denial(AdjustmentGroup::CO, "253"));
        assert!(!is_partial_denial(AdjustmentGroup::PR, "2"));
        assert!(is_partial_denial(AdjustmentGroup::CO, "97"));
        assert!(is_partial_denial(AdjustmentGroup::OA, "18"));
        // Moved to the patient: nothing to work with the payer.
        assert!(!is_partial_denial(AdjustmentGroup::PR, "204"));
        // Not in the table: no denial on a paid line; contractual when denied outright.
        assert!(!is_partial_denial(AdjustmentGroup::CO, "A1"));
        assert_eq!(
            classify("A1"),
            Classification {
                category: Contractual,
                avoidable: false
            }
        );
    }

    #[test]
    fn every_code_in_the_table_is_a_known_carc_once() {
        let mut seen = std::collections::BTreeSet::new();
        for r in TABLE {
            assert!(
                carc_description(r.carc).is_some(),
                "CARC {} unknown",
                r.carc
            );
            assert!(seen.insert(r.carc), "CARC {} twice", r.carc);
        }
    }

    #[test]
    fn the_readme_table_is_generated_from_the_table() {
        let readme =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
        assert!(
            readme.contains(&category_table_markdown()),
            "README's denial category table is stale; paste the output of category_table_markdown():\n{}",
            category_table_markdown()
        );
    }

    #[test]
    fn categories_round_trip_and_the_markdown_names_each() {
        let md = category_table_markdown();
        for c in DenialCategory::ALL {
            assert_eq!(DenialCategory::parse(c.as_str()), Some(c));
            assert!(md.contains(&format!("| {} |", c.as_str())), "{c:?}");
            assert_eq!(
                serde_json::to_value(c).unwrap(),
                serde_json::json!(c.as_str())
            );
        }
    }
}
