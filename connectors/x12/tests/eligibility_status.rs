//! 270/271 and 276/277.

mod common;

use common::*;
use revcycle_connector_abi::canonical::v1::*;
use revcycle_x12::eligibility::{parse_271, write_270};
use revcycle_x12::status::{InformationReceiver, parse_277, write_276};
use revcycle_x12::writer::Envelope;
use revcycle_x12::{GroupHeader, InterchangeHeader, read_all};

pub fn envelope(control: u32) -> Envelope {
    Envelope {
        interchange: InterchangeHeader {
            sender_qualifier: "ZZ".into(),
            sender_id: "REVCYCLE".into(),
            receiver_qualifier: "ZZ".into(),
            receiver_id: "ACMEPAYER".into(),
            date: "240320".into(),
            time: "1015".into(),
            control_number: control,
            ack_requested: false,
            production: false,
        },
        group: GroupHeader {
            functional_id: String::new(),
            sender_code: "REVCYCLE".into(),
            receiver_code: "ACMEPAYER".into(),
            date: "20240320".into(),
            time: "1015".into(),
            control_number: control,
            version: String::new(),
        },
        transaction_control_number: "0001".into(),
    }
}

pub fn provider() -> ProviderRef {
    ProviderRef {
        npi: "1234567893".into(),
        name: Some("Family Clinic".into()),
        first_name: None,
        taxonomy_code: None,
    }
}

pub fn eligibility_requests() -> Vec<EligibilityRequest> {
    let c = primary_self();
    let d = dependent();
    vec![
        EligibilityRequest {
            schema_version: SCHEMA_VERSION,
            trace_number: Some("ELIG-1".into()),
            payer: c.payer.clone(),
            provider: provider(),
            subscriber: c.subscriber.clone(),
            dependent: None,
            service_type_codes: vec!["30".into(), "98".into()],
            date_of_service: Some("2024-03-20".into()),
        },
        EligibilityRequest {
            schema_version: SCHEMA_VERSION,
            trace_number: Some("ELIG-2".into()),
            payer: d.payer.clone(),
            provider: provider(),
            subscriber: d.subscriber.clone(),
            dependent: d.patient.clone(),
            service_type_codes: vec![],
            date_of_service: None,
        },
    ]
}

#[test]
fn a_270_is_written_with_the_hierarchy_and_trailers() {
    let bytes = write_270(
        Vec::new(),
        &envelope(21),
        "9REVCYCLE1",
        &eligibility_requests(),
    )
    .unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    let segs = read_all(bytes.as_slice()).unwrap();
    let ids: Vec<String> = segs.iter().map(|s| s.id.clone()).collect();
    assert_eq!(
        ids.join(" "),
        "ISA GS ST BHT HL NM1 HL NM1 HL TRN NM1 DMG DTP EQ \
         HL NM1 HL NM1 HL NM1 DMG HL TRN NM1 DMG EQ SE GE IEA"
    );
    assert!(
        text.contains("ST*270*0001*005010X279A1~BHT*0022*13*0001*20240320*1015~"),
        "{text}"
    );
    assert!(text.contains("HL*3*2*22*0~TRN*1*ELIG-1*9REVCYCLE1~NM1*IL*1*Doe*Jane*Q***MI*MEM001~"));
    assert!(text.contains("DTP*291*D8*20240320~EQ*30^98~"));
    assert!(text.contains("HL*6*5*22*1~NM1*IL*1*Roe*Richard*A***MI*MEM100~DMG*D8*19750615*M~HL*7*6*23*0~TRN*1*ELIG-2*9REVCYCLE1~NM1*03*1*Roe*Timmy~"));
}

/// One payer/receiver chain per subscriber: linuxforhealth-x12 insists that a subscriber HL
/// point at the HL right before it, so siblings under one receiver fail there.
const RESPONSE_271: &str = "ISA*00*          *00*          *ZZ*ACMEPAYER      *ZZ*REVCYCLE       *240320*1016*^*00501*000000031*0*P*:~
GS*HB*ACMEPAYER*REVCYCLE*20240320*1016*31*X*005010X279A1~
ST*271*0001*005010X279A1~
BHT*0022*11*0001*20240320*1016~
HL*1**20*1~
NM1*PR*2*ACME HEALTH PLAN*****PI*ACME1~
HL*2*1*21*1~
NM1*1P*2*FAMILY CLINIC*****XX*1234567893~
HL*3*2*22*0~
TRN*2*ELIG-1*9REVCYCLE1~
NM1*IL*1*DOE*JANE*Q***MI*MEM001~
REF*6P*GRP-77*ACME GOLD PPO~
N3*12 ELM ST~
N4*SPRINGFIELD*IL*62704~
DMG*D8*19800229*F~
DTP*346*D8*20240101~
DTP*291*RD8*20240101-20241231~
EB*1*IND*30^1^33^35^47^86^88^98^AL^MH^UC**ACME GOLD PPO~
EB*B*IND*98***27*25*****Y~
MSG*COPAY PER OFFICE VISIT~
EB*A*IND*98***27**.2****N~
EB*C*IND*30***23*1500*****Y~
EB*C*IND*30***29*1100.5*****Y~
EB*C*FAM*30***23*3000*****Y~
EB*G*IND*30***23*5000*****Y~
EB*G*IND*30***29*4200*****Y~
HL*4**20*1~
NM1*PR*2*ACME HEALTH PLAN*****PI*ACME1~
HL*5*4*21*1~
NM1*1P*2*FAMILY CLINIC*****XX*1234567893~
HL*6*5*22*0~
TRN*2*ELIG-2*9REVCYCLE1~
NM1*IL*1*ROE*RICHARD****MI*MEM100~
AAA*Y**15*C~
HL*7**20*1~
NM1*PR*2*ACME HEALTH PLAN*****PI*ACME1~
HL*8*7*21*1~
NM1*1P*2*FAMILY CLINIC*****XX*1234567893~
HL*9*8*22*0~
TRN*2*ELIG-3*9REVCYCLE1~
NM1*IL*1*POE*EDGAR****MI*MEM300~
DTP*347*D8*20231231~
EB*6*IND*30~
SE*42*0001~
GE*1*31~
IEA*1*000000031~
";

#[test]
fn a_271_is_parsed_into_benefits() {
    let responses = parse_271(RESPONSE_271.as_bytes()).unwrap();
    assert_eq!(responses.len(), 3);
    let r = &responses[0];
    assert_eq!(r.trace_number.as_deref(), Some("ELIG-1"));
    assert_eq!(r.status, EligibilityStatus::Active);
    assert_eq!(r.payer.payer_id.as_deref(), Some("ACME1"));
    assert_eq!(r.group_number.as_deref(), Some("GRP-77"));
    assert_eq!(r.plan_name.as_deref(), Some("ACME GOLD PPO"));
    assert_eq!(
        r.period,
        Period {
            start: Some("2024-01-01".into()),
            end: Some("2024-12-31".into())
        }
    );
    let sub = r.subscriber.as_ref().unwrap();
    assert_eq!(sub.member_id.as_deref(), Some("MEM001"));
    assert_eq!(sub.birth_date.as_deref(), Some("1980-02-29"));
    assert_eq!(r.benefits.len(), 8);
    assert_eq!(r.benefits[0].service_type_codes.len(), 11);
    let copay = &r.benefits[1];
    assert_eq!(
        (
            copay.information_code.as_str(),
            copay.amount.as_deref(),
            copay.in_network
        ),
        ("B", Some("25.00"), Some(true))
    );
    assert_eq!(copay.messages, ["COPAY PER OFFICE VISIT"]);
    let coins = &r.benefits[2];
    assert_eq!(
        (coins.percent.as_deref(), coins.in_network),
        (Some("0.2"), Some(false))
    );
    let remaining = &r.benefits[4];
    assert_eq!(
        (
            remaining.information_code.as_str(),
            remaining.time_period.as_deref(),
            remaining.amount.as_deref()
        ),
        ("C", Some("29"), Some("1100.50"))
    );
    assert_eq!(r.benefits[5].coverage_level.as_deref(), Some("FAM"));
    assert_eq!(r.benefits[7].information_code, "G");

    let rejected = &responses[1];
    assert_eq!(rejected.status, EligibilityStatus::Unknown);
    assert_eq!(rejected.rejections[0].reason_code, "15");
    assert_eq!(
        rejected.rejections[0].follow_up_action.as_deref(),
        Some("C")
    );

    let inactive = &responses[2];
    assert_eq!(inactive.status, EligibilityStatus::Inactive);
    assert_eq!(inactive.period.end.as_deref(), Some("2023-12-31"));
}

pub fn status_requests() -> Vec<ClaimStatusRequest> {
    let c = primary_self();
    let d = dependent();
    vec![
        ClaimStatusRequest {
            schema_version: SCHEMA_VERSION,
            trace_number: Some("STAT-1".into()),
            payer: c.payer.clone(),
            provider: provider(),
            subscriber: c.subscriber.clone(),
            patient: None,
            claim_control_number: c.claim_control_number.clone(),
            payer_claim_number: Some("PCN-A1".into()),
            total_charge: Some("200.00".into()),
            service_period: Period {
                start: Some("2024-03-01".into()),
                end: Some("2024-03-01".into()),
            },
        },
        ClaimStatusRequest {
            schema_version: SCHEMA_VERSION,
            trace_number: Some("STAT-2".into()),
            payer: d.payer.clone(),
            provider: provider(),
            subscriber: d.subscriber.clone(),
            patient: d.patient.clone(),
            claim_control_number: d.claim_control_number.clone(),
            payer_claim_number: None,
            total_charge: Some("300".into()),
            service_period: Period {
                start: Some("2024-03-05".into()),
                end: Some("2024-03-06".into()),
            },
        },
    ]
}

#[test]
fn a_276_is_written() {
    let receiver = InformationReceiver {
        name: "Family Clinic Billing".into(),
        id: "SUB12345".into(),
    };
    let bytes = write_276(Vec::new(), &envelope(22), &receiver, &status_requests()).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    read_all(bytes.as_slice()).unwrap();
    assert!(text.contains("ST*276*0001*005010X212~BHT*0010*13*0001*20240320*1015~HL*1**20*1~NM1*PR*2*Acme Health Plan*****PI*ACME1~HL*2*1*21*1~NM1*41*2*Family Clinic Billing*****46*SUB12345~HL*3*2*19*1~NM1*1P*2*Family Clinic*****XX*1234567893~HL*4*3*22*0~DMG*D8*19800229*F~NM1*IL*1*Doe*Jane*Q***MI*MEM001~TRN*1*STAT-1~REF*1K*PCN-A1~REF*EJ*CLM-1001~AMT*T3*200~DTP*472*D8*20240301~"), "{text}");
    assert!(text.contains("HL*8*7*22*1~NM1*IL*1*Roe*Richard*A***MI*MEM100~HL*9*8*23~DMG*D8*20150901*M~NM1*QC*1*Roe*Timmy~TRN*1*STAT-2~REF*EJ*CLM-1002~AMT*T3*300~DTP*472*RD8*20240305-20240306~"), "{text}");
}

const RESPONSE_277: &str = "ISA*00*          *00*          *ZZ*ACMEPAYER      *ZZ*REVCYCLE       *240321*0900*^*00501*000000041*0*P*:~
GS*HN*ACMEPAYER*REVCYCLE*20240321*0900*41*X*005010X212~
ST*277*0001*005010X212~
BHT*0010*08*0001*20240321*0900*DG~
HL*1**20*1~
NM1*PR*2*ACME HEALTH PLAN*****PI*ACME1~
HL*2*1*21*1~
NM1*41*2*FAMILY CLINIC BILLING*****46*SUB12345~
HL*3*2*19*1~
NM1*1P*2*FAMILY CLINIC*****XX*1234567893~
HL*4*3*22*0~
NM1*IL*1*DOE*JANE****MI*MEM001~
TRN*2*STAT-1~
STC*F1:65*20240315**200*140*20240315*ACH*20240315*EFT0001~
REF*1K*PCN-A1~
REF*EJ*CLM-1001~
DTP*472*D8*20240301~
HL*5*3*22*0~
NM1*IL*1*ROE*RICHARD****MI*MEM100~
TRN*2*STAT-2~
STC*A7:562:85*20240321**300*0~
STC*F2:88*20240321~
REF*EJ*CLM-1002~
DTP*472*RD8*20240305-20240306~
SE*23*0001~
GE*1*41~
IEA*1*000000041~
";

#[test]
fn a_277_is_parsed_into_statuses() {
    let r = parse_277(RESPONSE_277.as_bytes()).unwrap();
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].claim_control_number, "CLM-1001");
    assert_eq!(r[0].payer_claim_number.as_deref(), Some("PCN-A1"));
    assert_eq!(r[0].trace_number.as_deref(), Some("STAT-1"));
    assert_eq!(
        r[0].statuses,
        [ClaimStatus {
            category_code: "F1".into(),
            status_code: "65".into(),
            entity_code: None,
            effective_date: Some("2024-03-15".into()),
            total_charge: Some("200.00".into()),
            paid_amount: Some("140.00".into()),
            paid_date: Some("2024-03-15".into()),
            check_number: Some("EFT0001".into()),
            message: None,
        }]
    );
    assert_eq!(r[1].claim_control_number, "CLM-1002");
    assert_eq!(r[1].statuses.len(), 2);
    assert_eq!(r[1].statuses[0].entity_code.as_deref(), Some("85"));
    assert_eq!(r[1].statuses[1].category_code, "F2");
}

/// Parses files with linuxforhealth-x12 (its own venv: it needs pydantic 1).
fn lfh_errors(files: &[std::path::PathBuf]) -> Vec<(std::path::PathBuf, usize, String)> {
    let bin = python_tool(
        "lfh-x12",
        &["linuxforhealth-x12==0.57.0", "pydantic==1.10.27"],
    );
    let out = std::process::Command::new(bin.join("python"))
        .arg(manifest_dir().join("tests/lfh_validate.py"))
        .args(files)
        .output()
        .expect("run linuxforhealth-x12");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.len(),
        files.len(),
        "linuxforhealth-x12 did not report on every file:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    files
        .iter()
        .zip(lines)
        .map(|(f, line)| {
            let v: serde_json::Value = serde_json::from_str(line).expect("JSON line");
            let errors = v["errors"].as_array().map_or(0, Vec::len);
            let none = usize::from(v["models"] == 0);
            (f.clone(), errors + none, v["errors"].to_string())
        })
        .collect()
}

#[test]
fn generated_270_and_276_parse_with_linuxforhealth_x12() {
    let dir = target_dir().join("x12-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let p270 = dir.join("inquiry.270");
    let bytes = write_270(
        Vec::new(),
        &envelope(51),
        "9REVCYCLE1",
        &eligibility_requests(),
    )
    .unwrap();
    std::fs::write(&p270, bytes).unwrap();
    let p276 = dir.join("inquiry.276");
    let receiver = InformationReceiver {
        name: "Family Clinic Billing".into(),
        id: "SUB12345".into(),
    };
    let bytes = write_276(Vec::new(), &envelope(52), &receiver, &status_requests()).unwrap();
    std::fs::write(&p276, bytes).unwrap();
    let p271 = dir.join("response.271");
    std::fs::write(&p271, RESPONSE_271).unwrap();
    let p277 = dir.join("response.277");
    std::fs::write(&p277, RESPONSE_277).unwrap();
    for (file, errors, detail) in lfh_errors(&[p270, p276, p271, p277]) {
        assert_eq!(errors, 0, "{}: {detail}", file.display());
    }
}
