use super::{CodeError, string_value_type};

/// Which code system a procedure code belongs to, told from its format.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
pub enum ProcedureCodeKind {
    /// CPT Category I: five digits.
    #[serde(rename = "cpt_category_i")]
    CptCategoryI,
    /// CPT Category II (performance measurement): four digits and F.
    #[serde(rename = "cpt_category_ii")]
    CptCategoryII,
    /// CPT Category III (emerging technology): four digits and T.
    #[serde(rename = "cpt_category_iii")]
    CptCategoryIII,
    /// CPT Proprietary Laboratory Analyses: four digits and U.
    #[serde(rename = "cpt_pla")]
    CptPla,
    /// HCPCS Level II (and CDT dental, D): a letter and four digits.
    #[serde(rename = "hcpcs_level_ii")]
    HcpcsLevelII,
}

impl ProcedureCodeKind {
    /// The JSON value ("cpt_category_i", ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            ProcedureCodeKind::CptCategoryI => "cpt_category_i",
            ProcedureCodeKind::CptCategoryII => "cpt_category_ii",
            ProcedureCodeKind::CptCategoryIII => "cpt_category_iii",
            ProcedureCodeKind::CptPla => "cpt_pla",
            ProcedureCodeKind::HcpcsLevelII => "hcpcs_level_ii",
        }
    }

    /// Whether this is a CPT code (any category), as opposed to HCPCS Level II.
    pub fn is_cpt(&self) -> bool {
        !matches!(self, ProcedureCodeKind::HcpcsLevelII)
    }
}

/// A CPT or HCPCS Level II procedure code (837P SV101-2), upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProcedureCode {
    code: String,
    kind: ProcedureCodeKind,
}

/// First letters in use for HCPCS Level II: A, B, C, E, G, H, J, K, L, M, P, Q, R, S, T, U, V;
/// plus D, the CDT dental range billed in the same slot. F, I, N, O and W-Z are not used.
const HCPCS_LETTERS: &[u8] = b"ABCDEGHJKLMPQRSTUV";

const RULE: &str = "procedure code must be CPT (five digits, or four digits then F, T or U) or HCPCS Level II (a letter A-V other than F, I, N or O, then four digits)";

impl ProcedureCode {
    pub fn parse(s: &str) -> Result<ProcedureCode, CodeError> {
        let s = s.trim();
        let b = s.as_bytes();
        if b.len() != 5 || !b.iter().all(u8::is_ascii_alphanumeric) {
            return Err(CodeError(RULE));
        }
        let code = s.to_ascii_uppercase();
        let b = code.as_bytes();
        let kind = if b[..4].iter().all(u8::is_ascii_digit) {
            match b[4] {
                b'0'..=b'9' => ProcedureCodeKind::CptCategoryI,
                b'F' => ProcedureCodeKind::CptCategoryII,
                b'T' => ProcedureCodeKind::CptCategoryIII,
                b'U' => ProcedureCodeKind::CptPla,
                _ => return Err(CodeError(RULE)),
            }
        } else if HCPCS_LETTERS.contains(&b[0]) && b[1..].iter().all(u8::is_ascii_digit) {
            ProcedureCodeKind::HcpcsLevelII
        } else {
            return Err(CodeError(RULE));
        };
        Ok(ProcedureCode { code, kind })
    }

    pub fn as_str(&self) -> &str {
        &self.code
    }

    pub fn kind(&self) -> ProcedureCodeKind {
        self.kind
    }

    /// The HCPCS Level II section, by first letter; `None` for CPT codes.
    pub fn hcpcs_category(&self) -> Option<&'static str> {
        if self.kind != ProcedureCodeKind::HcpcsLevelII {
            return None;
        }
        hcpcs_category(self.code.as_bytes()[0] as char)
    }
}

/// The HCPCS Level II section a code's first letter puts it in (CMS's alpha-numeric sections;
/// D is the CDT dental range). `None` for a letter no HCPCS Level II code starts with.
pub fn hcpcs_category(first_letter: char) -> Option<&'static str> {
    Some(match first_letter.to_ascii_uppercase() {
        'A' => "transportation services, medical and surgical supplies",
        'B' => "enteral and parenteral therapy",
        'C' => "outpatient prospective payment system",
        'D' => "dental procedures (CDT)",
        'E' => "durable medical equipment",
        'G' => "procedures and professional services (temporary)",
        'H' => "behavioral health and substance abuse treatment",
        'J' => "drugs administered other than oral method",
        'K' => "durable medical equipment MAC (temporary)",
        'L' => "orthotic and prosthetic procedures and devices",
        'M' => "medical services and quality measures",
        'P' => "pathology and laboratory services",
        'Q' => "temporary codes",
        'R' => "diagnostic radiology services",
        'S' => "private payer temporary codes",
        'T' => "state Medicaid agency codes",
        'U' => "coronavirus diagnostic laboratory tests",
        'V' => "vision, hearing and speech-language pathology services",
        _ => return None,
    })
}

string_value_type!(
    ProcedureCode,
    example = "99213",
    pattern = "^([0-9]{4}[0-9FTUftu]|[A-EG-HJ-MP-Va-eg-hj-mp-v][0-9]{4})$",
    description =
        "CPT (Category I, II, III or PLA) or HCPCS Level II procedure code; returned upper case",
    expected = "CPT or HCPCS Level II procedure code",
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::test_support::*;

    #[test]
    fn kinds() {
        use ProcedureCodeKind::*;
        for (input, stored, kind) in [
            ("99213", "99213", CptCategoryI),
            ("00100", "00100", CptCategoryI),
            ("3044f", "3044F", CptCategoryII),
            ("0042T", "0042T", CptCategoryIII),
            ("0001U", "0001U", CptPla),
            ("j3420", "J3420", HcpcsLevelII),
            ("G0008", "G0008", HcpcsLevelII),
            ("U0001", "U0001", HcpcsLevelII),
            ("D0120", "D0120", HcpcsLevelII),
            (" A0428 ", "A0428", HcpcsLevelII),
        ] {
            let c = ProcedureCode::parse(input).unwrap();
            assert_eq!((c.as_str(), c.kind()), (stored, kind), "{input}");
            assert_eq!(c.kind().is_cpt(), kind != HcpcsLevelII);
        }
    }

    #[test]
    fn invalid() {
        for bad in [
            "",
            "9921",
            "992134",
            "I1234",
            "O1234",
            "F1234",
            "N1234",
            "W1234",
            "X1234",
            "Z1234",
            "1234X",
            "1234A",
            "A123",
            "A12345",
            "AB123",
            "J34 0",
            "9921.",
            "J342O",
            "９９２１３",
        ] {
            assert_eq!(ProcedureCode::parse(bad), Err(CodeError(RULE)), "{bad}");
        }
    }

    #[test]
    fn hcpcs_categories() {
        let cat = |s: &str| ProcedureCode::parse(s).unwrap().hcpcs_category();
        assert_eq!(
            cat("J3420"),
            Some("drugs administered other than oral method")
        );
        assert_eq!(cat("E0114"), Some("durable medical equipment"));
        assert_eq!(
            cat("U0003"),
            Some("coronavirus diagnostic laboratory tests")
        );
        assert_eq!(cat("99213"), None);
        assert_eq!(cat("0001U"), None);
        for &l in HCPCS_LETTERS {
            let code = format!("{}1234", l as char);
            assert!(cat(&code).is_some(), "{code}");
            assert_eq!(hcpcs_category(l as char), cat(&code));
            assert_eq!(hcpcs_category(l.to_ascii_lowercase() as char), cat(&code));
        }
        for l in ['F', 'I', 'N', 'O', 'W', 'X', 'Y', 'Z', '9', ' '] {
            assert_eq!(hcpcs_category(l), None, "{l}");
        }
        assert_eq!(
            hcpcs_category('L'),
            Some("orthotic and prosthetic procedures and devices")
        );
    }

    #[test]
    fn serde() {
        round_trip(&ProcedureCode::parse("3044f").unwrap(), "\"3044F\"");
        round_trip(&ProcedureCode::parse("j3420").unwrap(), "\"J3420\"");
        rejects_without_echo::<ProcedureCode>("\"I9921\"", "procedure code", "I9921");
        rejects_non_string::<ProcedureCode>("99213", "procedure code", "99213");
        assert_eq!(
            serde_json::to_string(&ProcedureCodeKind::CptCategoryIII).unwrap(),
            "\"cpt_category_iii\""
        );
        for k in [
            ProcedureCodeKind::CptCategoryI,
            ProcedureCodeKind::CptCategoryII,
            ProcedureCodeKind::CptCategoryIII,
            ProcedureCodeKind::CptPla,
            ProcedureCodeKind::HcpcsLevelII,
        ] {
            assert_eq!(
                serde_json::to_string(&k).unwrap(),
                format!("\"{}\"", k.as_str())
            );
            assert_eq!(
                serde_json::from_str::<ProcedureCodeKind>(&format!("\"{}\"", k.as_str())).unwrap(),
                k
            );
        }
        string_schema_of::<ProcedureCode>();
    }
}
