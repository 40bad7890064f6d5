use super::{CodeError, string_value_type};

/// Which code system a procedure code belongs to, by format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcedureCodeKind {
    /// Five digits.
    CptCategoryI,
    /// Four digits and F (performance measurement).
    CptCategoryII,
    /// Four digits and T (emerging technology).
    CptCategoryIII,
    /// Four digits and U (proprietary laboratory analyses).
    CptPla,
    /// A letter and four digits.
    HcpcsLevelII,
}

/// A CPT or HCPCS Level II procedure code (837P SV101-2), upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProcedureCode(String, ProcedureCodeKind);

/// First letters used by HCPCS Level II (D is the dental CDT range, also billed in this slot).
const HCPCS_LETTERS: &[u8] = b"ABCDEGHJKLMPQRSTUV";

impl ProcedureCode {
    pub fn parse(s: &str) -> Result<ProcedureCode, CodeError> {
        let s = s.trim().to_ascii_uppercase();
        let b = s.as_bytes();
        let kind = if b.len() != 5 {
            None
        } else if b.iter().all(u8::is_ascii_digit) {
            Some(ProcedureCodeKind::CptCategoryI)
        } else if b[..4].iter().all(u8::is_ascii_digit) {
            match b[4] {
                b'F' => Some(ProcedureCodeKind::CptCategoryII),
                b'T' => Some(ProcedureCodeKind::CptCategoryIII),
                b'U' => Some(ProcedureCodeKind::CptPla),
                _ => None,
            }
        } else if HCPCS_LETTERS.contains(&b[0]) && b[1..].iter().all(u8::is_ascii_digit) {
            Some(ProcedureCodeKind::HcpcsLevelII)
        } else {
            None
        };
        match kind {
            Some(k) => Ok(ProcedureCode(s, k)),
            None => Err(CodeError(
                "procedure code must be CPT (five digits, or four digits and F, T or U) or HCPCS Level II (a letter and four digits)",
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn kind(&self) -> ProcedureCodeKind {
        self.1
    }

    /// HCPCS Level II category by first letter; None for CPT codes.
    pub fn hcpcs_category(&self) -> Option<&'static str> {
        if self.1 != ProcedureCodeKind::HcpcsLevelII {
            return None;
        }
        Some(match self.0.as_bytes()[0] {
            b'A' => "transportation, medical and surgical supplies",
            b'B' => "enteral and parenteral therapy",
            b'C' => "outpatient prospective payment system",
            b'D' => "dental procedures",
            b'E' => "durable medical equipment",
            b'G' => "procedures and professional services",
            b'H' => "behavioral health and substance abuse treatment",
            b'J' => "drugs administered other than oral method",
            b'K' => "durable medical equipment (temporary)",
            b'L' => "orthotic and prosthetic procedures",
            b'M' => "medical services and quality measures",
            b'P' => "pathology and laboratory services",
            b'Q' => "temporary codes",
            b'R' => "diagnostic radiology services",
            b'S' => "private payer temporary codes",
            b'T' => "state Medicaid agency codes",
            b'U' => "coronavirus laboratory tests",
            _ => "vision and hearing services",
        })
    }
}

string_value_type!(ProcedureCode, "99213", "^([0-9]{4}[0-9FTU]|[A-EG-HJ-MP-Va-eg-hj-mp-v][0-9]{4})$", "CPT or HCPCS Level II procedure code");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(ProcedureCode::parse("99213").unwrap().kind(), ProcedureCodeKind::CptCategoryI);
        assert_eq!(ProcedureCode::parse("3044f").unwrap().kind(), ProcedureCodeKind::CptCategoryII);
        assert_eq!(ProcedureCode::parse("0042T").unwrap().kind(), ProcedureCodeKind::CptCategoryIII);
        assert_eq!(ProcedureCode::parse("0001U").unwrap().kind(), ProcedureCodeKind::CptPla);
        let j = ProcedureCode::parse("j3420").unwrap();
        assert_eq!((j.as_str(), j.kind()), ("J3420", ProcedureCodeKind::HcpcsLevelII));
        assert_eq!(j.hcpcs_category(), Some("drugs administered other than oral method"));
        for bad in ["9921", "992134", "I1234", "O1234", "W1234", "1234X", "A123", ""] {
            assert!(ProcedureCode::parse(bad).is_err(), "{bad}");
        }
    }
}
