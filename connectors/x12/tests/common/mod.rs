//! Shared test helpers: the pyx12 validator venv and hand-built canonical claims.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use revcycle_connector_abi::canonical::v1::*;
use revcycle_x12::x837p::{Batch837, Receiver, Submitter};
use revcycle_x12::{GroupHeader, InterchangeHeader};

/// The pinned validator.
pub const PYX12: &str = "pyx12==4.0.0";

// Each test file uses its own subset of this module.
#[allow(unused_imports)]
pub use revcycle_pytools::{python_tool, target_dir};

pub fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs pyx12 on `files`; returns, per file, the number of errors and their JSON (for messages).
pub fn pyx12_errors(files: &[PathBuf]) -> Vec<(PathBuf, usize, String)> {
    let bin = python_tool("pyx12", &[PYX12]);
    let out = Command::new(bin.join("python"))
        .arg(manifest_dir().join("tests/pyx12_validate.py"))
        .args(files)
        .output()
        .expect("run pyx12");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.len(),
        files.len(),
        "pyx12 did not report on every file:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    files
        .iter()
        .zip(lines)
        .map(|(f, line)| {
            let v: serde_json::Value = serde_json::from_str(line).expect("pyx12 JSON line");
            let errors = v["errors"].as_array().map_or(0, Vec::len);
            let invalid = usize::from(v["valid"] != true);
            (f.clone(), errors.max(invalid), v["errors"].to_string())
        })
        .collect()
}

pub fn name(family: &str, given: &[&str]) -> PersonName {
    PersonName {
        family: family.into(),
        given: given.iter().map(|g| g.to_string()).collect(),
        ..Default::default()
    }
}

pub fn address(line: &str, city: &str, state: &str, zip: &str) -> Address {
    Address {
        lines: vec![line.into()],
        city: city.into(),
        state: state.into(),
        postal_code: zip.into(),
        country: None,
    }
}

pub fn batch(control: u32) -> Batch837 {
    let mut b = Batch837::new(
        InterchangeHeader {
            sender_qualifier: "ZZ".into(),
            sender_id: "REVCYCLE".into(),
            receiver_qualifier: "ZZ".into(),
            receiver_id: "CLEARINGHOUSE".into(),
            date: "240320".into(),
            time: "1015".into(),
            control_number: control,
            ack_requested: false,
            production: false,
        },
        GroupHeader {
            functional_id: "HC".into(),
            sender_code: "REVCYCLE".into(),
            receiver_code: "CLEARINGHOUSE".into(),
            date: "20240320".into(),
            time: "1015".into(),
            control_number: control,
            version: String::new(),
        },
        Submitter {
            name: "Family Clinic Billing".into(),
            id: "SUB12345".into(),
            contact_name: "Billing Office".into(),
            phone: "(217) 555-0100".into(),
            email: None,
        },
        Receiver {
            name: "Acme Clearinghouse".into(),
            id: "CH98765".into(),
        },
    );
    b.reference = "BATCH0001".into();
    b
}

pub fn billing_provider() -> BillingProvider {
    BillingProvider {
        name: "Family Clinic".into(),
        npi: "1234567893".into(),
        tin: "12-3456789".into(),
        taxonomy_code: Some("207Q00000X".into()),
        address: address("1 Main St", "Springfield", "IL", "627011234"),
        phone: None,
    }
}

pub fn line(
    n: u32,
    code: &str,
    mods: &[&str],
    charge: &str,
    units: &str,
    ptrs: &[u8],
    date: &str,
) -> ServiceLine {
    ServiceLine {
        line_number: Some(n),
        procedure_code: code.into(),
        modifiers: mods.iter().map(|m| m.to_string()).collect(),
        units: units.into(),
        charge: charge.into(),
        diagnosis_pointers: ptrs.to_vec(),
        service_date: Some(date.into()),
        line_control_number: Some(format!("L{n}")),
        ..Default::default()
    }
}

/// Primary claim, the patient is the subscriber.
pub fn primary_self() -> ClaimSubmission {
    ClaimSubmission {
        claim_control_number: "CLM-1001".into(),
        frequency_code: "1".into(),
        billing_provider: billing_provider(),
        rendering_provider: Some(ProviderRef {
            npi: "1245319599".into(),
            name: Some("Smith".into()),
            first_name: Some("Anna".into()),
            taxonomy_code: Some("207Q00000X".into()),
        }),
        payer: PayerRef {
            name: "Acme Health Plan".into(),
            payer_id: Some("ACME1".into()),
        },
        priority: CoveragePriority::Primary,
        subscriber: Subscriber {
            member_id: Some("MEM001".into()),
            name: name("Doe", &["Jane", "Q"]),
            birth_date: Some("1980-02-29".into()),
            sex: Sex::Female,
            address: Some(address("12 Elm St", "Springfield", "IL", "62704")),
        },
        group_number: Some("GRP-77".into()),
        relationship: SubscriberRelationship::SelfInsured,
        place_of_service: "11".into(),
        total_charge: "200.00".into(),
        diagnoses: vec!["J06.9".into(), "R05.9".into()],
        lines: vec![
            line(1, "99213", &["25"], "150.00", "1", &[1, 2], "2024-03-01"),
            line(2, "81002", &[], "50.00", "1", &[1], "2024-03-01"),
        ],
        prior_authorization: Some("AUTH123".into()),
        ..Default::default()
    }
}

/// Primary claim for a child on a parent's coverage.
pub fn dependent() -> ClaimSubmission {
    ClaimSubmission {
        claim_control_number: "CLM-1002".into(),
        frequency_code: "1".into(),
        billing_provider: billing_provider(),
        payer: PayerRef {
            name: "Acme Health Plan".into(),
            payer_id: Some("ACME1".into()),
        },
        subscriber: Subscriber {
            member_id: Some("MEM100".into()),
            name: name("Roe", &["Richard", "A"]),
            birth_date: Some("1975-06-15".into()),
            sex: Sex::Male,
            address: Some(address("40 Oak Ave", "Springfield", "IL", "62702")),
        },
        relationship: SubscriberRelationship::Child,
        patient: Some(Demographics {
            name: name("Roe", &["Timmy"]),
            birth_date: Some("2015-09-01".into()),
            sex: Sex::Male,
            address: Some(address("40 Oak Ave", "Springfield", "IL", "62702")),
        }),
        place_of_service: "11".into(),
        total_charge: "300".into(),
        diagnoses: vec!["J02.9".into()],
        lines: vec![line(1, "99214", &[], "300", "1", &[1], "2024-03-05")],
        ..Default::default()
    }
}

/// Secondary claim after the primary paid part of it.
pub fn secondary() -> ClaimSubmission {
    let mut c = primary_self();
    c.claim_control_number = "CLM-1003".into();
    c.priority = CoveragePriority::Secondary;
    c.payer = PayerRef {
        name: "Second Mutual".into(),
        payer_id: Some("SECMU".into()),
    };
    c.subscriber.member_id = Some("SM-555".into());
    c.group_number = None;
    c.prior_authorization = None;
    c.prior_payers = vec![PriorPayerAdjudication {
        payer: PayerRef {
            name: "Acme Health Plan".into(),
            payer_id: Some("ACME1".into()),
        },
        priority: CoveragePriority::Primary,
        subscriber: Subscriber {
            member_id: Some("MEM001".into()),
            name: name("Doe", &["Jane", "Q"]),
            ..Default::default()
        },
        relationship: SubscriberRelationship::SelfInsured,
        group_number: Some("GRP-77".into()),
        payer_claim_number: Some("PCN-A1".into()),
        claim_filing_indicator: Some("CI".into()),
        paid_amount: "140.00".into(),
        paid_date: Some("2024-03-15".into()),
        patient_responsibility: Some("20.00".into()),
        claim_adjustments: vec![],
        line_adjudications: vec![
            LineAdjudication {
                line_number: 1,
                procedure_code: "99213".into(),
                modifiers: vec!["25".into()],
                paid_amount: "110.00".into(),
                paid_units: "1".into(),
                adjudication_date: Some("2024-03-15".into()),
                adjustments: vec![
                    Adjustment {
                        group: "CO".into(),
                        reason: "45".into(),
                        amount: "20.00".into(),
                        quantity: None,
                    },
                    Adjustment {
                        group: "PR".into(),
                        reason: "2".into(),
                        amount: "20.00".into(),
                        quantity: None,
                    },
                ],
            },
            LineAdjudication {
                line_number: 2,
                procedure_code: "81002".into(),
                modifiers: vec![],
                paid_amount: "30.00".into(),
                paid_units: "1".into(),
                adjudication_date: Some("2024-03-15".into()),
                adjustments: vec![Adjustment {
                    group: "CO".into(),
                    reason: "45".into(),
                    amount: "20.00".into(),
                    quantity: None,
                }],
            },
        ],
    }];
    c
}

/// Replacement (frequency 7) of an earlier claim.
pub fn replacement() -> ClaimSubmission {
    let mut c = primary_self();
    c.claim_control_number = "CLM-1004".into();
    c.frequency_code = "7".into();
    c.original_claim_number = Some("PCN-A1".into());
    c
}

fn adj(group: &str, reason: &str, amount: &str) -> Adjustment {
    Adjustment {
        group: group.into(),
        reason: reason.into(),
        amount: amount.into(),
        quantity: None,
    }
}

/// Tertiary claim: the primary paid part of it (as in [`secondary`]), then the secondary paid
/// most of what the primary left, reporting the primary's impact as OA-23.
pub fn tertiary() -> ClaimSubmission {
    let mut c = secondary();
    c.claim_control_number = "CLM-1006".into();
    c.priority = CoveragePriority::Tertiary;
    c.payer = PayerRef {
        name: "Third Fund".into(),
        payer_id: Some("THRDF".into()),
    };
    c.subscriber.member_id = Some("TF-909".into());
    let mut second = c.prior_payers[0].clone();
    second.payer = PayerRef {
        name: "Second Mutual".into(),
        payer_id: Some("SECMU".into()),
    };
    second.priority = CoveragePriority::Secondary;
    second.subscriber.member_id = Some("SM-555".into());
    second.group_number = None;
    second.claim_filing_indicator = Some("MC".into());
    second.payer_claim_number = Some("SM-CLAIM-9".into());
    second.paid_amount = "16.00".into();
    second.paid_date = Some("2024-04-02".into());
    second.patient_responsibility = Some("4.00".into());
    second.line_adjudications[0].paid_amount = "16.00".into();
    second.line_adjudications[0].adjudication_date = Some("2024-04-02".into());
    second.line_adjudications[0].adjustments =
        vec![adj("OA", "23", "130.00"), adj("PR", "2", "4.00")];
    second.line_adjudications[1].paid_amount = "0.00".into();
    second.line_adjudications[1].adjudication_date = Some("2024-04-02".into());
    second.line_adjudications[1].adjustments = vec![adj("OA", "23", "50.00")];
    c.prior_payers.push(second);
    c
}

/// Void (frequency 8) of an earlier claim.
pub fn void() -> ClaimSubmission {
    let mut c = primary_self();
    c.claim_control_number = "CLM-1005".into();
    c.frequency_code = "8".into();
    c.original_claim_number = Some("PCN-A2".into());
    c
}
