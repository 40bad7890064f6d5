//! The ids an 835's payer gives itself (005010X221A1), named in the canonical vocabulary so a
//! host can find the payer by whichever it knows:
//!
//! | where | X12 | canonical qualifier |
//! |---|---|---|
//! | TRN03 | `1` followed by the nine-digit EIN | `ein` (the nine digits) |
//! | TRN03 | any other payer identifier | `payer_id` |
//! | 1000A N1*PR N103/N104 | `XV` CMS national plan id | `cms_plan_id` |
//! | 1000A N1*PR N103/N104 | `PI` payer id (earlier guides, clearinghouses) | `payer_id` |
//! | 1000A N1*PR N103/N104 | `FI` federal taxpayer id | `ein` |
//! | 1000A N1*PR N103/N104 | `NI` NAIC code | `naic` |
//! | 1000A REF | `2U` payer identification number | `payer_id` |
//! | 1000A REF | `EO` submitter identification number | `submitter_id` |
//! | 1000A REF | `HI` health industry number | `hin` |
//! | 1000A REF | `NF` NAIC code | `naic` |

use revcycle_connector_abi::canonical::v1::PayerIdentifier;

fn id(qualifier: &str, value: &str, source: String) -> Option<PayerIdentifier> {
    let value = value.trim();
    (!value.is_empty()).then(|| PayerIdentifier {
        qualifier: qualifier.to_string(),
        value: value.to_string(),
        source,
    })
}

/// TRN03: `1` followed by the payer's EIN, or another id the payer is known by.
pub fn from_trn03(value: &str) -> Option<PayerIdentifier> {
    let value = value.trim();
    let digits = value
        .strip_prefix('1')
        .filter(|d| d.len() == 9 && d.bytes().all(|b| b.is_ascii_digit()));
    match digits {
        Some(ein) => id("ein", ein, "TRN03".into()),
        None => id("payer_id", value, "TRN03".into()),
    }
}

/// N1*PR N103 (qualifier) and N104 (id). An id under a qualifier the guide does not list is
/// still reported, as a `payer_id`: payers put their clearinghouse id there.
pub fn from_n1(qualifier: &str, value: &str) -> Option<PayerIdentifier> {
    let kind = match qualifier.trim() {
        "XV" => "cms_plan_id",
        "FI" => "ein",
        "NI" => "naic",
        _ => "payer_id",
    };
    let source = match qualifier.trim() {
        "" => "N1*PR N104".to_string(),
        q => format!("N1*PR N104 ({q})"),
    };
    id(kind, value, source)
}

/// A 1000A REF: REF01 qualifier and REF02 id; `None` for a qualifier that names no payer id.
pub fn from_ref(qualifier: &str, value: &str) -> Option<PayerIdentifier> {
    let kind = match qualifier.trim() {
        "2U" => "payer_id",
        "EO" => "submitter_id",
        "HI" => "hin",
        "NF" => "naic",
        _ => return None,
    };
    id(kind, value, format!("REF*{}", qualifier.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(p: Option<PayerIdentifier>) -> Option<(String, String, String)> {
        p.map(|p| (p.qualifier, p.value, p.source))
    }

    #[test]
    fn trn03_is_an_ein_after_a_1_else_a_payer_id() {
        assert_eq!(
            pair(from_trn03("1512345678")),
            Some(("ein".into(), "512345678".into(), "TRN03".into()))
        );
        assert_eq!(
            pair(from_trn03("87726")),
            Some(("payer_id".into(), "87726".into(), "TRN03".into()))
        );
        // Ten digits after the 1 is not an EIN.
        assert_eq!(
            pair(from_trn03("15123456789")),
            Some(("payer_id".into(), "15123456789".into(), "TRN03".into()))
        );
        assert_eq!(pair(from_trn03(" ")), None);
    }

    #[test]
    fn n1_and_ref_qualifiers_map_to_kinds() {
        assert_eq!(
            pair(from_n1("XV", "PLAN12345")),
            Some((
                "cms_plan_id".into(),
                "PLAN12345".into(),
                "N1*PR N104 (XV)".into()
            ))
        );
        assert_eq!(pair(from_n1("PI", "60054")).unwrap().0, "payer_id");
        assert_eq!(pair(from_n1("", "60054")).unwrap().2, "N1*PR N104");
        assert_eq!(pair(from_ref("NF", "12345")).unwrap().0, "naic");
        assert_eq!(pair(from_ref("2U", "60054")).unwrap().2, "REF*2U");
        assert_eq!(pair(from_ref("EO", "SUB1")).unwrap().0, "submitter_id");
        assert_eq!(pair(from_ref("HI", "H1")).unwrap().0, "hin");
        assert_eq!(pair(from_ref("F2", "X")), None);
    }
}
