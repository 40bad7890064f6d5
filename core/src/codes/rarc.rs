//! Remittance advice remark codes (RARC: 835 LQ*HE, MIA and MOA segments) with short
//! descriptions in our own words.
//!
//! The table holds the remark codes commonly seen on remittances (M, MA and N codes); the full
//! list has well over a thousand. A code not here is not an error when posting: the 835 is stored
//! as received; [`rarc_description`] just has nothing to say about it. Codes that begin "Alert"
//! in the official list are informational and do not explain a denial by themselves.

/// Our short description of a remittance advice remark code; `None` for a code not in the
/// table. Surrounding spaces and case are ignored.
pub fn rarc_description(code: &str) -> Option<&'static str> {
    let code = code.trim();
    RARCS
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(code))
        .map(|&(_, d)| d)
}

/// Whether the code is in the table.
pub fn is_known_rarc(code: &str) -> bool {
    rarc_description(code).is_some()
}

/// Whether the code has a remark code's form: M, MA or N and a number without leading zeros
/// (`N130`, `MA130`, `M15`), except the two-digit MA codes, published as `MA01` to `MA09`.
pub fn is_rarc_format(code: &str) -> bool {
    let code = code.trim();
    let (digits, zero_ok) = if let Some(d) = code.strip_prefix("MA") {
        (d, d.len() == 2)
    } else if let Some(d) = code.strip_prefix('M').or_else(|| code.strip_prefix('N')) {
        (d, false)
    } else {
        return false;
    };
    (1..=4).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (zero_ok || !digits.starts_with('0'))
}

/// Every code in the table with its description: M codes, then MA, then N, each in number order.
pub fn rarc_codes() -> &'static [(&'static str, &'static str)] {
    RARCS
}

#[rustfmt::skip]
static RARCS: &[(&str, &str)] = &[
    ("M1", "X-ray not taken within the required period before the treatment"),
    ("M2", "Not paid separately while the patient is an inpatient"),
    ("M3", "Equipment same as or similar to equipment the patient already has"),
    ("M15", "Separately billed services bundled as parts of one procedure"),
    ("M20", "HCPCS code missing, incomplete or invalid"),
    ("M25", "Documentation does not support this level of service"),
    ("M47", "Internal or document control number missing, incomplete or invalid"),
    ("M49", "Value code or amount missing, incomplete or invalid"),
    ("M50", "Revenue code missing, incomplete or invalid"),
    ("M51", "Procedure code missing, incomplete or invalid"),
    ("M52", "From date of service missing, incomplete or invalid"),
    ("M53", "Days or units of service missing, incomplete or invalid"),
    ("M54", "Total charges missing, incomplete or invalid"),
    ("M56", "Payer identifier missing, incomplete or invalid"),
    ("M59", "To date of service missing, incomplete or invalid"),
    ("M60", "Certificate of medical necessity missing"),
    ("M62", "Treatment authorization code missing, incomplete or invalid"),
    ("M64", "Other diagnosis missing, incomplete or invalid"),
    ("M67", "Other procedure code missing, incomplete or invalid"),
    ("M69", "Paid at the regular rate: no documentation for the modified procedure code"),
    ("M76", "Diagnosis or condition missing, incomplete or invalid"),
    ("M77", "Place of service missing, incomplete, invalid or inappropriate"),
    ("M79", "Charge missing, incomplete or invalid"),
    ("M80", "Not covered on the same date or session as a service already processed"),
    ("M81", "Diagnosis must be coded to the highest level of specificity"),
    ("M84", "Code sets must be those in effect on the date of service"),
    ("M86", "Same or similar service already paid within the allowed period"),
    ("M97", "Not paid to a practitioner in this place of service"),
    ("M114", "Processed under a competitive bidding program"),
    ("M115", "Denied when supplied by a non-contract supplier"),
    ("M117", "Not covered unless submitted electronically"),
    ("M119", "NDC missing, incomplete, invalid, inactive or withdrawn"),
    ("M123", "Drug name, strength or dosage missing, incomplete or invalid"),
    ("M127", "Medical record for this service missing"),
    ("M144", "Pre- and post-operative care are included in the surgery's allowance"),
    ("MA01", "Alert: how to appeal if you disagree with this decision"),
    ("MA04", "Secondary payment needs the primary payer's identity or payment information"),
    ("MA07", "Alert: claim also forwarded to Medicaid"),
    ("MA13", "Alert: amounts not reported as patient responsibility may not be billed to the patient"),
    ("MA18", "Alert: claim also forwarded to the patient's supplemental insurer"),
    ("MA27", "Entitlement number or name missing, incomplete or invalid"),
    ("MA28", "Alert: for information only to a provider who did not accept assignment"),
    ("MA30", "Type of bill missing, incomplete or invalid"),
    ("MA36", "Patient name missing, incomplete or invalid"),
    ("MA39", "Patient sex missing, incomplete or invalid"),
    ("MA43", "Patient status missing, incomplete or invalid"),
    ("MA61", "Social security or health insurance claim number missing, incomplete or invalid"),
    ("MA63", "Principal diagnosis missing, incomplete or invalid"),
    ("MA66", "Principal procedure code missing, incomplete or invalid"),
    ("MA92", "Primary insurance information missing"),
    ("MA114", "Where the services were furnished missing, incomplete or invalid"),
    ("MA120", "CLIA certification number missing, incomplete or invalid"),
    ("MA130", "Claim unprocessable: incomplete or invalid information, no appeal rights"),
    ("N1", "Alert: you may appeal this decision in writing within the time limit"),
    ("N4", "Prior insurer's explanation of benefits missing, incomplete or invalid"),
    ("N10", "Adjusted on review (review organization, consultant or manual adjudication)"),
    ("N19", "Procedure code is incidental to the primary procedure"),
    ("N20", "Not paid with another service on the same date"),
    ("N30", "Patient not eligible for this service"),
    ("N31", "Prescribing provider identifier missing, incomplete or invalid"),
    ("N56", "Procedure code not valid for the services or date billed"),
    ("N95", "This provider type or specialty may not bill this service"),
    ("N115", "Decision based on a Local Coverage Determination"),
    ("N122", "Add-on code may not be billed without its primary code"),
    ("N130", "Alert: see the plan's benefit documents for limits on this service"),
    ("N179", "Additional information requested from the member"),
    ("N180", "Does not meet the criteria for the category it was billed under"),
    ("N211", "Alert: this decision may not be appealed"),
    ("N257", "Billing provider primary identifier missing, incomplete or invalid"),
    ("N264", "Ordering provider name missing, incomplete or invalid"),
    ("N265", "Ordering provider primary identifier missing, incomplete or invalid"),
    ("N286", "Referring provider primary identifier missing, incomplete or invalid"),
    ("N290", "Rendering provider primary identifier missing, incomplete or invalid"),
    ("N362", "Days or units of service exceed the acceptable maximum"),
    ("N381", "Alert: see the contract for limits, billing or payment rules on these charges"),
    ("N386", "Decision based on a National Coverage Determination"),
    ("N390", "Service or report cannot be billed separately"),
    ("N425", "Service excluded by statute"),
    ("N432", "Adjusted after a recovery audit"),
    ("N479", "Primary payer's explanation of benefits missing"),
    ("N517", "Submit a new claim with the requested information"),
    ("N522", "Duplicate of a crossover claim processed or to be processed"),
    ("N525", "Not covered within the global period of another service"),
    ("N657", "Bill with the appropriate code for these services"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_codes() {
        for code in [
            "N130", "M15", "MA130", "N362", "MA01", "M80", "N290", "M25", "N180", "MA04",
        ] {
            assert!(is_known_rarc(code), "{code}");
        }
        assert!(rarc_description("ma130").unwrap().contains("unprocessable"));
        assert!(rarc_description(" N362 ").unwrap().contains("exceed"));
        for unknown in ["", "N0", "N9999", "X1", "130", "MA 130"] {
            assert_eq!(rarc_description(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn format() {
        for ok in ["M1", "M144", "MA01", "MA130", "N1", "N9999"] {
            assert!(is_rarc_format(ok), "{ok}");
        }
        for bad in [
            "", "M", "MA", "N01", "M0", "MA0", "MA001", "A1", "N12345", "N1A", "m15",
        ] {
            assert!(!is_rarc_format(bad), "{bad}");
        }
    }

    #[test]
    fn table_is_well_formed() {
        let mut seen = std::collections::HashSet::new();
        let key = |c: &str| -> (u8, u32) {
            let (rank, n) = if let Some(n) = c.strip_prefix("MA") {
                (1, n)
            } else if let Some(n) = c.strip_prefix('M') {
                (0, n)
            } else {
                (2, &c[1..])
            };
            (rank, n.parse().unwrap())
        };
        for &(c, d) in rarc_codes() {
            assert!(seen.insert(c), "{c} twice");
            assert!(is_rarc_format(c), "{c}");
            assert!(!d.is_empty() && d.len() <= 90, "{c}: {d}");
        }
        assert!(rarc_codes().windows(2).all(|w| key(w[0].0) < key(w[1].0)));
    }
}
