//! 835 parsing: the hand-written fixtures to exact canonical output, and malformed input.

mod common;

use std::path::PathBuf;

use revcycle_x12::x835::{Event835, Reader835, parse_835, parse_835_bytes};

fn fixture(name: &str) -> PathBuf {
    common::manifest_dir().join("tests/fixtures/835").join(name)
}

const FIXTURES: [&str; 2] = ["claims_paid_partial_denied", "reversal_correction_plb"];

#[test]
fn fixtures_parse_to_the_expected_canonical_remittances() {
    for name in FIXTURES {
        let bytes = std::fs::read(fixture(&format!("{name}.835"))).unwrap();
        let remits = parse_835_bytes(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let got = serde_json::to_value(&remits).unwrap();
        let expected_path = fixture(&format!("{name}.expected.json"));
        if std::env::var_os("X12_BLESS").is_some() {
            std::fs::write(
                &expected_path,
                serde_json::to_string_pretty(&got).unwrap() + "\n",
            )
            .unwrap();
        }
        let expected: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&expected_path).unwrap()).unwrap();
        assert_eq!(got, expected, "{name}");
    }
}

#[test]
fn fixtures_are_valid_for_pyx12() {
    let files: Vec<PathBuf> = FIXTURES
        .iter()
        .map(|n| fixture(&format!("{n}.835")))
        .collect();
    for (file, errors, detail) in common::pyx12_errors(&files) {
        assert_eq!(errors, 0, "{}: {detail}", file.display());
    }
}

#[test]
fn streaming_yields_header_claims_adjustments_and_summary() {
    let bytes = std::fs::read(fixture("reversal_correction_plb.835")).unwrap();
    let mut rd = Reader835::new(bytes.as_slice());
    let mut kinds = Vec::new();
    while let Some(ev) = rd.next().unwrap() {
        kinds.push(match ev {
            Event835::Header(h) => {
                assert_eq!(h.trace_number, "CHK000777");
                assert!(h.claims.is_empty());
                "header"
            }
            Event835::Claim(_) => "claim",
            Event835::ProviderAdjustment(_) => "plb",
            Event835::End(s) => {
                assert_eq!((s.claims, s.service_lines), (2, 4));
                assert_eq!(s.payment_amount, "7.50");
                "end"
            }
        });
    }
    assert_eq!(kinds, ["header", "claim", "claim", "plb", "plb", "end"]);
}

fn base() -> String {
    String::from_utf8(std::fs::read(fixture("claims_paid_partial_denied.835")).unwrap()).unwrap()
}

/// Parses `text`, expecting an error at segment `n` whose reason contains `reason`.
fn rejects(text: &str, n: usize, id: &str, reason: &str) {
    let err = parse_835(text.as_bytes()).expect_err("malformed input must be rejected");
    assert_eq!(
        (err.segment_number, err.segment_id.as_str()),
        (n, id),
        "{err}"
    );
    assert!(err.reason.contains(reason), "{err}");
    // Never element values (PHI): names, member ids, amounts of the file.
    let shown = err.to_string();
    for value in ["DOE", "JANE", "MEM001", "ROE", "CLM-A1", "320", "150"] {
        assert!(!shown.contains(value), "{shown}");
    }
}

#[test]
fn a_short_or_long_isa_is_refused() {
    let text = base().replacen("*ZZ*ACMEPAYER      *", "*ZZ*ACMEPAYER *", 1);
    rejects(&text, 1, "ISA", "106");
    let text = base().replacen("*ZZ*ACMEPAYER      *", "*ZZ*ACMEPAYER        *", 1);
    rejects(&text, 1, "ISA", "106");
    let text = base()[..60].to_string();
    rejects(&text, 1, "ISA", "truncated");
}

#[test]
fn wrong_trailer_counts_and_control_numbers_are_refused() {
    rejects(
        &base().replace("SE*50*0001~", "SE*49*0001~"),
        52,
        "SE",
        "SE01 declares 49",
    );
    rejects(
        &base().replace("SE*50*0001~", "SE*50*0002~"),
        52,
        "SE",
        "SE02",
    );
    rejects(
        &base().replace("GE*1*101~", "GE*2*101~"),
        53,
        "GE",
        "GE01 declares 2",
    );
    rejects(&base().replace("GE*1*101~", "GE*1*100~"), 53, "GE", "GE02");
    rejects(
        &base().replace("IEA*1*000000101~", "IEA*3*000000101~"),
        54,
        "IEA",
        "IEA01",
    );
    rejects(
        &base().replace("IEA*1*000000101~", "IEA*1*000000102~"),
        54,
        "IEA",
        "IEA02",
    );
}

#[test]
fn truncated_input_is_refused() {
    let text = base();
    let cut = text.find("CLP*CLM-B2").unwrap() + 12;
    rejects(&text[..cut], 31, "CLP", "no terminator");
    let cut = text.find("GE*1").unwrap();
    rejects(&text[..cut], 52, "IEA", "no IEA");
}

#[test]
fn segments_out_of_place_are_refused() {
    // An 837 segment inside a 2100 claim loop.
    rejects(
        &base().replace("MOA***MA01~", "HI*ABK:J069~"),
        34,
        "HI",
        "not allowed in loop 2100",
    );
    // A service line before any claim.
    rejects(
        &base().replace("LX*1~", "SVC*HC:99213*1*1~"),
        16,
        "SVC",
        "not allowed in loop 1000B",
    );
    rejects(
        &base().replace("MOA***MA01~", "ZZZ*1~"),
        34,
        "ZZZ",
        "not allowed",
    );
}

#[test]
fn non_numeric_amounts_and_bad_codes_are_refused() {
    rejects(
        &base().replace("CLP*CLM-C3*4*80*0**", "CLP*CLM-C3*4*80*X0**"),
        44,
        "CLP",
        "CLP04 is not a valid amount",
    );
    rejects(
        &base().replace("CAS*CO*50*80*2~", "CAS*CO*50*8O*2~"),
        48,
        "CAS",
        "CAS03",
    );
    rejects(
        &base().replace("CLP*CLM-C3*4*", "CLP*CLM-C3*9*"),
        44,
        "CLP",
        "CLP02",
    );
    rejects(
        &base().replace("DTM*472*20240306~", "DTM*472*2024036~"),
        47,
        "DTM",
        "DTM02",
    );
}

#[test]
fn an_unbalanced_remittance_is_refused() {
    rejects(
        &base().replace("BPR*I*320*", "BPR*I*320.01*"),
        52,
        "SE",
        "BPR02 does not equal",
    );
}

#[test]
fn every_claim_status_code_is_accepted() {
    for code in revcycle_x12::x835::CLAIM_STATUS_CODES {
        let text = base().replace("CLP*CLM-C3*4*", &format!("CLP*CLM-C3*{code}*"));
        let remits = parse_835(text.as_bytes()).unwrap();
        assert_eq!(remits[0].claims[2].status_code, code);
    }
}

#[test]
fn newlines_between_segments_are_tolerated() {
    let text = base().replace('~', "~\r\n");
    let a = parse_835(text.as_bytes()).unwrap();
    let b = parse_835(base().replace('\n', "").as_bytes()).unwrap();
    assert!(a == b);
}

#[test]
fn every_payer_id_the_guide_allows_is_reported_in_file_order() {
    // 1000A with the CMS plan id in N103/N104 and every REF the guide allows there; TRN03 is
    // an id other than "1" + EIN.
    let text = base()
        .replacen(
            "TRN*1*EFT20240315A*1512345678~",
            "TRN*1*EFT20240315A*87726~",
            1,
        )
        .replacen(
            "N1*PR*ACME HEALTH PLAN~",
            "N1*PR*ACME HEALTH PLAN*XV*PLAN0012345~",
            1,
        )
        .replacen(
            "REF*2U*ACME1~",
            "REF*2U*ACME1~\nREF*EO*SUBMIT77~\nREF*HI*HIN555~\nREF*NF*60054~",
            1,
        )
        // Three more segments in the transaction set.
        .replacen("SE*50*0001~", "SE*53*0001~", 1);
    let remits = parse_835(text.as_bytes()).unwrap();
    let got: Vec<(&str, &str, &str)> = remits[0]
        .payer_identifiers
        .iter()
        .map(|p| (p.qualifier.as_str(), p.value.as_str(), p.source.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("payer_id", "87726", "TRN03"),
            ("cms_plan_id", "PLAN0012345", "N1*PR N104 (XV)"),
            ("payer_id", "ACME1", "REF*2U"),
            ("submitter_id", "SUBMIT77", "REF*EO"),
            ("hin", "HIN555", "REF*HI"),
            ("naic", "60054", "REF*NF"),
        ]
    );
    // N104 stays the canonical payer id unless a REF*2U follows.
    assert_eq!(remits[0].payer.payer_id.as_deref(), Some("ACME1"));
}
