//! 837P generation: exact output, round trip, grouping, and validation with pyx12.

mod common;

use common::*;
use revcycle_connector_abi::canonical::v1::*;
use revcycle_x12::x837p::{read_837p, to_837p_string};

#[test]
fn one_claim_gives_exactly_these_segments() {
    let text = to_837p_string(&batch(1), &[primary_self()]).unwrap();
    let expected = "\
ISA*00*          *00*          *ZZ*REVCYCLE       *ZZ*CLEARINGHOUSE  *240320*1015*^*00501*000000001*0*T*:~
GS*HC*REVCYCLE*CLEARINGHOUSE*20240320*1015*1*X*005010X222A1~
ST*837*0001*005010X222A1~
BHT*0019*00*BATCH0001*20240320*1015*CH~
NM1*41*2*Family Clinic Billing*****46*SUB12345~
PER*IC*Billing Office*TE*2175550100~
NM1*40*2*Acme Clearinghouse*****46*CH98765~
HL*1**20*1~
PRV*BI*PXC*207Q00000X~
NM1*85*2*Family Clinic*****XX*1234567893~
N3*1 Main St~
N4*Springfield*IL*627011234~
REF*EI*123456789~
HL*2*1*22*0~
SBR*P*18*GRP-77******CI~
NM1*IL*1*Doe*Jane*Q***MI*MEM001~
N3*12 Elm St~
N4*Springfield*IL*62704~
DMG*D8*19800229*F~
NM1*PR*2*Acme Health Plan*****PI*ACME1~
CLM*CLM-1001*200***11:B:1*Y*A*Y*Y~
REF*G1*AUTH123~
HI*ABK:J069*ABF:R059~
NM1*82*1*Smith*Anna****XX*1245319599~
PRV*PE*PXC*207Q00000X~
LX*1~
SV1*HC:99213:25*150*UN*1***1:2~
DTP*472*D8*20240301~
REF*6R*L1~
LX*2~
SV1*HC:81002*50*UN*1***1~
DTP*472*D8*20240301~
REF*6R*L2~
SE*32*0001~
GE*1*1~
IEA*1*000000001~
";
    assert_eq!(text, expected);
}

/// An amount as integer cents, so `"300"` and `"300.00"` compare equal.
fn cents(s: &str) -> i64 {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let frac = format!("{frac:0<2}");
    int.parse::<i64>().unwrap() * 100 + frac[..2].parse::<i64>().unwrap()
}

fn key_fields(c: &ClaimSubmission) -> serde_json::Value {
    serde_json::json!({
        "ccn": c.claim_control_number,
        "freq": c.frequency_code,
        "original": c.original_claim_number,
        "total": cents(&c.total_charge),
        "pos": c.place_of_service,
        "bp": [c.billing_provider.npi, c.billing_provider.name],
        "payer": c.payer.payer_id,
        "priority": format!("{:?}", c.priority),
        "member": c.subscriber.member_id,
        "subscriber": [c.subscriber.name.family, c.subscriber.name.given.join(" ")],
        "patient": c.patient.as_ref().map(|p| (p.name.family.clone(), p.birth_date.clone())),
        "relationship": format!("{:?}", c.relationship),
        "diagnoses": c.diagnoses.iter().map(|d| d.replace('.', "")).collect::<Vec<_>>(),
        "auth": c.prior_authorization,
        "rendering": c.rendering_provider.as_ref().map(|r| r.npi.clone()),
        "lines": c.lines.iter().map(|l| serde_json::json!([
            l.procedure_code, l.modifiers, cents(&l.charge),
            l.units, l.diagnosis_pointers, l.service_date, l.line_control_number
        ])).collect::<Vec<_>>(),
        "prior": c.prior_payers.iter().map(|p| serde_json::json!([
            p.payer.payer_id, format!("{:?}", p.priority), cents(&p.paid_amount),
            p.payer_claim_number, p.claim_filing_indicator.as_deref().unwrap_or("CI"),
            p.line_adjudications.iter().map(|l| (l.line_number, l.procedure_code.clone(),
                l.adjustments.len())).collect::<Vec<_>>()
        ])).collect::<Vec<_>>(),
    })
}

#[test]
fn claims_round_trip_through_837p() {
    let claims = vec![
        primary_self(),
        dependent(),
        secondary(),
        tertiary(),
        replacement(),
        void(),
    ];
    let text = to_837p_string(&batch(7), &claims).unwrap();
    let back = read_837p(text.as_bytes()).unwrap();
    assert_eq!(back.len(), claims.len());
    // The writer groups by billing provider and subscriber: compare by control number.
    for c in &claims {
        let b = back
            .iter()
            .find(|b| b.claim_control_number == c.claim_control_number)
            .unwrap();
        assert_eq!(key_fields(b), key_fields(c), "{}", c.claim_control_number);
    }
}

#[test]
fn hierarchy_groups_claims_and_points_at_parents() {
    let mut other_bp = dependent();
    other_bp.claim_control_number = "CLM-2001".into();
    other_bp.billing_provider.npi = "1003000126".into();
    other_bp.billing_provider.name = "Second Practice".into();
    let mut sibling = dependent();
    sibling.claim_control_number = "CLM-1005".into();
    sibling.patient.as_mut().unwrap().name.given = vec!["Tina".into()];
    let claims = vec![
        primary_self(),
        dependent(),
        other_bp,
        replacement(),
        sibling,
    ];
    let text = to_837p_string(&batch(8), &claims).unwrap();
    let hls: Vec<&str> = text.lines().filter(|l| l.starts_with("HL*")).collect();
    assert_eq!(
        hls,
        [
            "HL*1**20*1~",
            "HL*2*1*22*0~", // Jane Doe, self: CLM-1001 and CLM-1004
            "HL*3*1*22*1~", // Richard Roe with dependents
            "HL*4*3*23*0~", // Timmy
            "HL*5*3*23*0~", // Tina
            "HL*6**20*1~",
            "HL*7*6*22*1~",
            "HL*8*7*23*0~",
        ]
    );
    let clms: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("CLM*"))
        .map(|l| l.split('*').nth(1).unwrap())
        .collect();
    assert_eq!(
        clms,
        ["CLM-1001", "CLM-1004", "CLM-1002", "CLM-1005", "CLM-2001"]
    );
    // SE01 counts ST through SE.
    let st = text.lines().position(|l| l.starts_with("ST*")).unwrap();
    let se = text.lines().position(|l| l.starts_with("SE*")).unwrap();
    let se_line = text.lines().nth(se).unwrap();
    assert_eq!(se_line, format!("SE*{}*0001~", se - st + 1));
    assert_eq!(read_837p(text.as_bytes()).unwrap().len(), 5);
}

/// SBR09 is the claim's own payer's filing indicator when the claim gives one (the file's
/// otherwise), and claims filed differently never share a subscriber loop.
#[test]
fn each_claim_is_filed_under_its_payers_claim_filing_indicator() {
    let mut medicare = primary_self();
    medicare.claim_filing_indicator = Some("MB".into());
    let text = to_837p_string(&batch(9), std::slice::from_ref(&medicare)).unwrap();
    let sbrs: Vec<&str> = text.lines().filter(|l| l.starts_with("SBR*")).collect();
    assert_eq!(sbrs, ["SBR*P*18*GRP-77******MB~"]);
    let mut commercial = primary_self();
    commercial.claim_control_number = "CLM-1009".into();
    let text = to_837p_string(&batch(10), &[medicare, commercial]).unwrap();
    let sbrs: Vec<&str> = text.lines().filter(|l| l.starts_with("SBR*")).collect();
    assert_eq!(
        sbrs,
        ["SBR*P*18*GRP-77******MB~", "SBR*P*18*GRP-77******CI~"]
    );
}

#[test]
fn bad_claims_are_refused_without_quoting_values() {
    let mut c = primary_self();
    c.total_charge = "210.00".into();
    let e = to_837p_string(&batch(1), &[c]).unwrap_err();
    assert_eq!(e.segment_id, "CLM");
    assert!(e.reason.contains("sum of the line charges"), "{e}");
    let mut c = replacement();
    c.original_claim_number = None;
    let e = to_837p_string(&batch(1), &[c]).unwrap_err();
    assert!(e.reason.contains("REF*F8"), "{e}");
    let mut c = primary_self();
    c.lines[0].diagnosis_pointers = vec![3];
    let e = to_837p_string(&batch(1), &[c]).unwrap_err();
    assert!(e.reason.contains("pointer"), "{e}");
    let mut c = primary_self();
    c.subscriber.birth_date = Some("02/29/1980".into());
    let e = to_837p_string(&batch(1), &[c]).unwrap_err();
    assert_eq!(e.segment_id, "DMG");
    assert!(!e.to_string().contains("1980"), "{e}");
}

#[test]
fn generated_837p_files_are_valid_for_pyx12() {
    let dir = target_dir().join("x12-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let cases: Vec<(&str, Vec<ClaimSubmission>)> = vec![
        ("primary_self", vec![primary_self()]),
        ("dependent", vec![dependent()]),
        ("secondary", vec![secondary()]),
        ("replacement", vec![replacement()]),
        ("tertiary", vec![tertiary()]),
        ("void", vec![void()]),
        (
            "all",
            vec![
                primary_self(),
                dependent(),
                secondary(),
                tertiary(),
                replacement(),
                void(),
            ],
        ),
    ];
    let mut files = Vec::new();
    for (i, (name, claims)) in cases.iter().enumerate() {
        let text = to_837p_string(&batch(100 + i as u32), claims).unwrap();
        let path = dir.join(format!("{name}.837"));
        std::fs::write(&path, text).unwrap();
        files.push(path);
    }
    for (file, errors, detail) in pyx12_errors(&files) {
        assert_eq!(errors, 0, "{}: {detail}", file.display());
    }
}
