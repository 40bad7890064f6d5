use super::*;
use revcycle_connector_abi::canonical::v1::{Encounter, FieldError, LineCredit, Patient, Sex};

const TS: &str = "20240301120000+0000";

fn run(hl7: &str) -> ImportOutput {
    run_with(&Config::default(), hl7)
}

fn run_with(config: &Config, hl7: &str) -> ImportOutput {
    import(
        config,
        &ImportInput {
            hl7: hl7.to_owned(),
            ack_timestamp: Some(TS.to_owned()),
        },
    )
    .unwrap()
}

fn patient(out: &ImportOutput) -> &Patient {
    match &out.result.records[0] {
        ImportRecord::Patient(p) => p,
        _ => panic!("first record is not a patient"),
    }
}

fn encounter(out: &ImportOutput) -> &Encounter {
    out.result
        .records
        .iter()
        .find_map(|r| match r {
            ImportRecord::Encounter(e) => Some(e),
            _ => None,
        })
        .expect("an encounter")
}

fn ack_lines(out: &ImportOutput, i: usize) -> Vec<&str> {
    out.acks[i].ack.split('\r').collect()
}

const ADT: &str = "MSH|^~\\&|ADT|HOSP|RC|BILL|20240301||ADT^A04|C1|P|2.5.1\r\
                   PID|1||M1^^^H^MR||Doe^Jane||19800101|F";

#[test]
fn accepts_a_minimal_adt() {
    let out = run(ADT);
    assert_eq!(out.result.schema_version, SCHEMA_VERSION);
    assert_eq!(out.result.records.len(), 1);
    let p = patient(&out);
    assert_eq!(p.source_system, "HOSP");
    // PID-3.4 is part of the patient's identity in the feed.
    assert_eq!(p.external_id, "M1^^^H");
    assert_eq!(
        (p.mrn.as_deref(), p.mrn_system.as_deref()),
        (Some("M1"), Some("H"))
    );
    assert_eq!(p.sex, Sex::Female);
    assert_eq!(
        ack_lines(&out, 0),
        [
            "MSH|^~\\&|RC|BILL|ADT|HOSP|20240301120000+0000||ACK^A04^ACK|ACKC1|P|2.5.1",
            "MSA|AA|C1"
        ]
    );
}

#[test]
fn assigning_authority_of_the_mrn() {
    let with = |cx: &str| {
        let hl7 = format!(
            "MSH|^~\\&|ADT|HOSP|RC|BILL|20240301||ADT^A04|C1|P|2.5.1\rPID|1||{cx}||Doe^Jane||19800101|F"
        );
        let p = patient(&run(&hl7)).clone();
        (p.mrn, p.mrn_system, p.external_id)
    };
    // An ISO universal id reads as FHIR writes the same authority.
    assert_eq!(
        with("12345^^^HOSP&2.16.840.1.113883.19.5&ISO^MR"),
        (
            Some("12345".into()),
            Some("urn:oid:2.16.840.1.113883.19.5".into()),
            "12345^^^urn:oid:2.16.840.1.113883.19.5".into()
        )
    );
    // Another universal id type: kept as given; only a namespace id: that.
    assert_eq!(
        with("12345^^^&http://hosp.example&URI^MR").1.as_deref(),
        Some("http://hosp.example")
    );
    assert_eq!(with("12345^^^CLINIC^MR").1.as_deref(), Some("CLINIC"));
    // No PID-3.4: no authority, and the MRN alone identifies the patient in this feed.
    assert_eq!(
        with("12345^^^^MR"),
        (Some("12345".into()), None, "12345".into())
    );
}

#[test]
fn custom_encoding_characters_and_line_endings() {
    // '~' separates components and '^' repeats; CRLF and LF mixed; the ACK is written with
    // the standard delimiters.
    let hl7 = "MSH|~^\\&|ADT|HOSP~1.2~ISO|RC|BILL|20240301||ADT~A08|C\\S\\2|T|2.5.1\r\n\
               PID|1||X9~~~H~PI^M2~~~H~MR||Doe\\T\\Roe~Ann\\.br\\Marie^Alias~Al||19800101|\"\"\n";
    let out = run(hl7);
    assert_eq!(out.acks[0].acknowledgment_code, "AA");
    let p = patient(&out);
    assert_eq!(p.external_id, "M2^^^H");
    assert_eq!(p.name.family, "Doe&Roe");
    assert_eq!(p.name.given, ["Ann\nMarie"]);
    assert_eq!(p.other_names.len(), 1);
    assert_eq!(p.other_names[0].family, "Alias");
    // Null ("") sex is unknown, like an empty one.
    assert_eq!(p.sex, Sex::Unknown);
    assert_eq!(out.acks[0].control_id.as_deref(), Some("C~2"));
    assert_eq!(
        ack_lines(&out, 0),
        [
            "MSH|^~\\&|RC|BILL|ADT|HOSP^1.2^ISO|20240301120000+0000||ACK^A08^ACK|ACKC\\R\\2|T|2.5.1",
            "MSA|AA|C\\R\\2"
        ]
    );
}

#[test]
fn configured_ack_sender_and_source() {
    let config = Config {
        source_system: Some("ehr-1".into()),
        ack_sending_application: Some("REV|CYCLE".into()),
        ack_sending_facility: Some("MAIN".into()),
        default_billing_provider_npi: None,
    };
    let out = run_with(&config, ADT);
    assert_eq!(patient(&out).source_system, "ehr-1");
    assert!(
        out.acks[0]
            .ack
            .starts_with("MSH|^~\\&|REV\\F\\CYCLE|MAIN|ADT|HOSP|"),
        "{}",
        out.acks[0].ack
    );
}

#[test]
fn dropped_values_are_warnings_on_an_accept() {
    let hl7 = ADT.to_owned() + "|||||||||||12345";
    let out = run(&hl7);
    assert_eq!(out.acks[0].acknowledgment_code, "AA");
    assert_eq!(patient(&out).ssn, None);
    assert_eq!(
        ack_lines(&out, 0)[2],
        "ERR||PID^1^19|102^Data type error^HL70357|W||||social security number is not 9 digits; dropped"
    );
    assert_eq!(out.result.issues.len(), 1);
    assert!(!out.result.issues[0].message.contains("12345"));
}

#[test]
fn bad_dates_are_application_errors() {
    let hl7 = ADT.replace("19800101", "19800230");
    let out = run(&hl7);
    assert_eq!(out.acks[0].acknowledgment_code, "AE");
    assert!(out.result.records.is_empty());
    assert_eq!(
        ack_lines(&out, 0)[2],
        "ERR||PID^1^7|102^Data type error^HL70357|E||||not a valid date"
    );
    assert!(!out.result.issues[0].message.contains("1980"));
}

#[test]
fn header_rejections() {
    let cases = [
        (
            ADT.replace("ADT^A04", "ADT^A01"),
            "ERR||MSH^1^9|201^Unsupported event code^HL70357|E",
        ),
        (
            ADT.replace("|C1|", "||"),
            "ERR||MSH^1^10|101^Required field missing^HL70357|E",
        ),
        (
            ADT.replace("|2.5.1", "|3.0"),
            "ERR||MSH^1^12|203^Unsupported version id^HL70357|E",
        ),
        (
            ADT.replace("ADT^A04", ""),
            "ERR||MSH^1^9|101^Required field missing^HL70357|E",
        ),
    ];
    for (hl7, err) in cases {
        let out = run(&hl7);
        assert_eq!(out.acks[0].acknowledgment_code, "AR");
        assert!(out.result.records.is_empty());
        assert!(
            ack_lines(&out, 0)[2].starts_with(err),
            "{}",
            out.acks[0].ack
        );
        assert!(out.acks[0].records.is_empty());
    }
}

#[test]
fn event_from_evn_when_msh9_has_none() {
    let hl7 = ADT
        .replace("ADT^A04", "ADT")
        .replace("\rPID", "\rEVN|A28|20240301\rPID");
    let out = run(&hl7);
    assert_eq!(out.acks[0].acknowledgment_code, "AA");
    assert_eq!(out.acks[0].message_type.as_deref(), Some("ADT^A28"));
}

#[test]
fn concatenated_messages_and_orphans() {
    let hl7 = format!(
        "PID|stray\n{ADT}\n{}\n\n",
        ADT.replace("C1", "C2").replace("M1", "M2")
    );
    let out = run(&hl7);
    assert_eq!(out.acks.len(), 2);
    assert_eq!(out.acks[1].position, 2);
    assert_eq!(out.acks[1].control_id.as_deref(), Some("C2"));
    assert_eq!(out.result.records.len(), 2);
    assert_eq!(out.result.issues.len(), 1);
    assert_eq!(out.result.issues[0].position, None);
    assert_eq!(out.result.issues[0].code, "segment_sequence_error");
}

#[test]
fn mllp_framed_input_is_accepted() {
    let framed = mllp::frame(ADT.as_bytes());
    let out = run(&String::from_utf8(framed).unwrap());
    assert_eq!(out.acks[0].acknowledgment_code, "AA");
}

const DFT: &str = "MSH|^~\\&|PB|HOSP|RC|BILL|20240301||DFT^P03|D1|P|2.5.1\r\
                   PID|1||M1^^^H^MR||Doe^Jane\r\
                   PV1|1|O|||||1234567893^Doc^A^^^^^^NPI||||||||||||V1";

#[test]
fn dft_lines_units_money_and_pointers() {
    let hl7 = format!(
        "{DFT}\rFT1|1|||20240301||CG||||2|80||||||||J069~R05.9||||||99213|25~59\r\
         FT1|2|||20240301||PY||||1|-20\r\
         DG1|1||R05.9^^I10|||F"
    );
    let out = run(&hl7);
    // The payment is not posted: AE naming FT1-6 of the second FT1; the charge is billed.
    assert_eq!(out.acks[0].acknowledgment_code, "AE");
    assert_eq!(ack_lines(&out, 0).len(), 3);
    assert!(ack_lines(&out, 0)[2].starts_with("ERR||FT1^2^6|207^"));
    let e = encounter(&out);
    assert_eq!(e.diagnoses, ["R05.9", "J06.9"]);
    assert_eq!(e.rendering_provider_npi.as_deref(), Some("1234567893"));
    assert_eq!(e.service_lines.len(), 1);
    let line = &e.service_lines[0];
    assert_eq!(line.units, "2");
    assert_eq!(line.charge, "80.00");
    assert_eq!(line.modifiers, ["25", "59"]);
    assert_eq!(line.diagnosis_pointers, [2, 1]);
    assert_eq!(e.date_of_service, "2024-03-01");
    assert_eq!(e.end_date, None);
}

#[test]
fn dft_errors_name_segment_occurrence_and_field() {
    let hl7 = format!(
        "{DFT}\rFT1|1|||20240301||CG||||1|80||||||||||||||99213\r\
         FT1|2|||20240301||CG||||1|abc||||||||||||||9921\r\
         DG1|1||250.00^^I9|||F"
    );
    let out = run(&hl7);
    assert_eq!(out.acks[0].acknowledgment_code, "AE");
    // The ICD-9 diagnosis withholds the encounter; the patient stands alone.
    assert_eq!(out.result.records.len(), 1);
    assert!(matches!(out.result.records[0], ImportRecord::Patient(_)));
    let errs: Vec<&str> = ack_lines(&out, 0)[2..].to_vec();
    assert_eq!(
        errs,
        [
            "ERR||DG1^1^3|102^Data type error^HL70357|E||||diagnosis code is not an ICD-10-CM code",
            "ERR||FT1^2^11|102^Data type error^HL70357|E||||extended transaction amount is not a number",
            "ERR||FT1^2^25|102^Data type error^HL70357|E||||procedure code is not a CPT or HCPCS code",
        ]
    );
    let statuses: Vec<(&str, OutcomeStatus)> = out.acks[0]
        .records
        .iter()
        .map(|r| (r.record_type.as_str(), r.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("patient", OutcomeStatus::Created),
            ("encounter", OutcomeStatus::Rejected)
        ]
    );
}

#[test]
fn dft_missing_segments_and_uncharged_procedures() {
    let out =
        run("MSH|^~\\&|PB|HOSP|RC|BILL|20240301||DFT^P03|D1|P|2.5.1\rPID|1||M1^^^H^MR||Doe^Jane");
    assert_eq!(
        ack_lines(&out, 0)[2],
        "ERR||PV1^1|100^Segment sequence error^HL70357|E||||required segment PV1 is missing"
    );
    // The patient is applied on its own.
    assert_eq!(out.result.records.len(), 1);
    let hl7 = format!(
        "{DFT}\rFT1|1|||20240301||CG||||1|80||||||||||||||99213\r\
         PR1|1||20610^^C4||20240301"
    );
    let out = run(&hl7);
    assert_eq!(out.acks[0].acknowledgment_code, "AA");
    assert_eq!(
        ack_lines(&out, 0)[2],
        "ERR||PR1^1^3|100^Segment sequence error^HL70357|W||||procedure has no charge (FT1) and is not billed"
    );
    // Payments only: not posted, said so; the patient is applied.
    let out = run(&format!("{DFT}\rFT1|1|||20240301||PY||||1|-20"));
    assert_eq!(out.acks[0].acknowledgment_code, "AE");
    assert_eq!(out.result.records.len(), 1);
    assert_eq!(ack_lines(&out, 0).len(), 3);
    assert!(
        ack_lines(&out, 0)[2]
            .starts_with("ERR||FT1^1^6|207^Application internal error^HL70357|E||||payment (PY)"),
        "{}",
        out.acks[0].ack
    );
    assert_eq!(
        out.acks[0].records[1].reason.as_deref(),
        Some("none of its charges (FT1) can be billed")
    );
}

#[test]
fn refusals() {
    let err = import(
        &Config::default(),
        &ImportInput {
            hl7: "\r\n".into(),
            ack_timestamp: None,
        },
    )
    .unwrap_err();
    assert_eq!(err.code, "invalid_input");
    let err = import(
        &Config::default(),
        &ImportInput {
            hl7: ADT.into(),
            ack_timestamp: Some("now".into()),
        },
    )
    .unwrap_err();
    assert_eq!(err.code, "invalid_input");
    let err = Hl7v2::create(revcycle_connector_abi::serde_json::json!({"sorce": "x"}))
        .err()
        .unwrap();
    assert_eq!(err.code, "invalid_config");
    assert!(!err.message.contains("sorce"));
    // Without a timestamp, the ACK carries the current time.
    let out = import(
        &Config::default(),
        &ImportInput {
            hl7: ADT.into(),
            ack_timestamp: None,
        },
    )
    .unwrap();
    assert!(out.acks[0].ack.contains("+0000||ACK^A04^ACK"));
}

const NPI_A: &str = "1234567893";
const NPI_B: &str = "1245319599";
const NPI_C: &str = "1679576722";

/// A segment with the given fields set.
fn seg(id: &str, fields: &[(usize, &str)]) -> String {
    let last = fields.iter().map(|(n, _)| *n).max().unwrap_or(0);
    let mut parts = vec![String::new(); last + 1];
    parts[0] = id.to_owned();
    for (n, v) in fields {
        parts[*n] = (*v).to_owned();
    }
    parts.join("|")
}

fn charge(seq: usize, kind: &str, id: &str, amount: &str, code: &str) -> String {
    format!("FT1|{seq}|{id}||20240301||{kind}||||1|{amount}||||||||J06.9||||||{code}")
}

#[test]
fn one_good_and_one_bad_charge() {
    let hl7 = format!(
        "{DFT}\r{}\r{}",
        charge(1, "CG", "T1", "80", "99213"),
        charge(2, "XX", "T2", "40", "87880"),
    );
    let out = run(&hl7);
    assert_eq!(out.acks[0].acknowledgment_code, "AE");
    assert_eq!(
        ack_lines(&out, 0)[2..],
        [
            "ERR||FT1^2^6|103^Table value not found^HL70357|E||||transaction type is not a value of HL7 table 0017 (CG, CD, PY, AJ)"
        ]
    );
    let e = encounter(&out);
    assert_eq!(e.service_lines.len(), 1);
    assert_eq!(e.service_lines[0].procedure_code, "99213");
    assert_eq!(e.service_lines[0].charge, "80.00");
    // The host applied both records: the ACK stays AE (the bad charge is not billed).
    let context: AckContext =
        revcycle_connector_abi::serde_json::from_value(out.result.ack_context.clone().unwrap())
            .unwrap();
    let acks = acknowledge(
        &context,
        &[
            RecordOutcome {
                index: 0,
                status: OutcomeStatus::Unchanged,
                ..Default::default()
            },
            RecordOutcome {
                index: 1,
                status: OutcomeStatus::Unchanged,
                ..Default::default()
            },
        ],
    );
    assert_eq!(acks[0].acknowledgment_code, "AE");
    assert_eq!(acks[0].ack.split('\r').count(), 3);
    assert_eq!(acks[0].records[1].status, OutcomeStatus::Unchanged);
}

#[test]
fn host_outcomes_decide_the_ack() {
    let hl7 = format!(
        "{}\r{}\r{}",
        DFT.replace(&format!("{NPI_A}^Doc^A^^^^^^NPI"), ""),
        seg(
            "IN1",
            &[
                (1, "1"),
                (3, "PAYER1"),
                (4, "Acme Health"),
                (8, "G1"),
                (22, "1"),
                (36, "M123")
            ]
        ),
        charge(1, "CG", "T1", "80", "99213"),
    );
    let config = Config {
        default_billing_provider_npi: Some(NPI_C.into()),
        ..Default::default()
    };
    let out = run_with(&config, &hl7);
    assert_eq!(out.acks[0].acknowledgment_code, "AA", "{}", out.acks[0].ack);
    let e = encounter(&out);
    // No attending: the default billing provider; no performer: no rendering provider.
    assert_eq!(e.billing_provider_npi.as_deref(), Some(NPI_C));
    assert_eq!(e.rendering_provider_npi, None);
    let context: AckContext =
        revcycle_connector_abi::serde_json::from_value(out.result.ack_context.clone().unwrap())
            .unwrap();
    let all_applied: Vec<RecordOutcome> = (0..3)
        .map(|index| RecordOutcome {
            index,
            status: OutcomeStatus::Created,
            ..Default::default()
        })
        .collect();
    let acks = acknowledge(&context, &all_applied);
    assert_eq!(
        acks[0].ack.split('\r').collect::<Vec<_>>()[1..],
        ["MSA|AA|D1"]
    );

    // The host refuses the coverage (unknown payer) and the encounter (two values).
    let outcomes = [
        RecordOutcome {
            index: 0,
            status: OutcomeStatus::Updated,
            ..Default::default()
        },
        RecordOutcome {
            index: 1,
            status: OutcomeStatus::Rejected,
            errors: vec![FieldError {
                pointer: "/payer/payer_id".into(),
                kind: FieldErrorKind::UnknownReference,
                message: "no payer with this payer id is set up (POST /v1/payers)".into(),
            }],
            ..Default::default()
        },
        RecordOutcome {
            index: 2,
            status: OutcomeStatus::Rejected,
            errors: vec![
                FieldError {
                    pointer: "/billing_provider_npi".into(),
                    kind: FieldErrorKind::UnknownReference,
                    message: "no provider with this NPI is set up (POST /v1/providers)".into(),
                },
                FieldError {
                    pointer: "/service_lines/0/charge".into(),
                    kind: FieldErrorKind::Invalid,
                    message: "must be greater than zero".into(),
                },
            ],
            ..Default::default()
        },
    ];
    let acks = acknowledge(&context, &outcomes);
    assert_eq!(
        acks[0].ack.split('\r').collect::<Vec<_>>()[1..],
        [
            "MSA|AE|D1",
            "ERR||IN1^1^3|204^Unknown key identifier^HL70357|E||||no payer with this payer id is set up (POST /v1/payers)",
            "ERR||PV1^1^7|204^Unknown key identifier^HL70357|E||||no provider with this NPI is set up (POST /v1/providers)",
            "ERR||FT1^1^11|102^Data type error^HL70357|E||||must be greater than zero",
        ]
    );
    assert_eq!(acks[0].records[0].status, OutcomeStatus::Updated);
    assert_eq!(
        acks[0].records[1].reason.as_deref(),
        Some("IN1^1^3: no payer with this payer id is set up (POST /v1/payers)")
    );
    // Through the plugin's operation, as the host calls it.
    let plugin = Hl7v2::create(revcycle_connector_abi::serde_json::json!({})).unwrap();
    let input = revcycle_connector_abi::serde_json::json!({
        "context": out.result.ack_context,
        "outcomes": outcomes,
    });
    let output = plugin
        .invoke("acknowledge", input.to_string().as_bytes())
        .unwrap();
    let output: AcknowledgeOutput =
        revcycle_connector_abi::serde_json::from_slice(&output).unwrap();
    assert_eq!(output.acks, acks);
    let err = plugin
        .invoke("acknowledge", br#"{"context": {"x": 1}, "outcomes": []}"#)
        .unwrap_err();
    assert_eq!(err.code, "invalid_input");
}

#[test]
fn providers_from_the_message() {
    // Attending (PV1-7) bills; the performer (FT1-20) renders; the orderer (FT1-21)
    // refers when PV1-8 is empty.
    let hl7 = format!(
        "{DFT}\rFT1|1|T1||20240301||CG||||1|80||||||||J06.9|{NPI_B}^Roe^R^^^^^^NPI|{NPI_C}^Ord^O^^^^^^NPI||||99213"
    );
    let e = encounter(&run(&hl7)).clone();
    assert_eq!(e.billing_provider_npi.as_deref(), Some(NPI_A));
    assert_eq!(e.rendering_provider_npi.as_deref(), Some(NPI_B));
    assert_eq!(e.referring_provider_npi.as_deref(), Some(NPI_C));
    assert_eq!(e.service_lines[0].rendering_provider_npi, None);
    // With the configured default, the attending still wins; without the attending and
    // the default, no billing provider (the host refuses the encounter, naming PV1-7).
    let bare = hl7.replace(&format!("{NPI_A}^Doc^A^^^^^^NPI"), "");
    let e = encounter(&run(&bare)).clone();
    assert_eq!(e.billing_provider_npi, None);
    let out = run(&bare);
    let context: AckContext =
        revcycle_connector_abi::serde_json::from_value(out.result.ack_context.clone().unwrap())
            .unwrap();
    assert_eq!(
        locate(&context.messages[0].records[1], "/billing_provider_npi"),
        "PV1^1^7"
    );
    assert_eq!(
        locate(&context.messages[0].records[1], "/rendering_provider_npi"),
        "FT1^1^20"
    );
    assert_eq!(
        locate(&context.messages[0].records[1], "/diagnoses/0"),
        "FT1^1^19"
    );
    assert_eq!(
        locate(&context.messages[0].records[0], "/name/family"),
        "PID^1^5"
    );
    assert_eq!(locate(&context.messages[0].records[0], ""), "PID^1");
    // A malformed configured NPI is refused at start.
    let err = Hl7v2::create(
        revcycle_connector_abi::serde_json::json!({"default_billing_provider_npi": "12"}),
    )
    .err()
    .unwrap();
    assert_eq!(err.code, "invalid_config");
}

#[test]
fn credits_reverse_charges_of_the_message() {
    let hl7 = format!(
        "{DFT}\r{}\r{}\r{}\r{}",
        charge(1, "CG", "T1", "80", "99213"),
        charge(2, "CG", "T2", "40", "87880"),
        charge(3, "CD", "T1", "-80", "99213"),
        charge(4, "CD", "T9", "-10", "99213"),
    );
    let out = run(&hl7);
    let e = encounter(&out);
    assert_eq!(e.service_lines.len(), 1);
    assert_eq!(e.service_lines[0].procedure_code, "87880");
    assert_eq!(e.service_lines[0].line_number, Some(1));
    assert_eq!(
        e.service_lines[0].line_control_number.as_deref(),
        Some("T2")
    );
    // The credit naming no charge of this message is the host's to match against the
    // visit's earlier charges; refused there, its ERR points at its FT1-2.
    assert_eq!(
        e.credits,
        [LineCredit {
            transaction_id: Some("T9".into()),
            filler_order_number: None,
        }]
    );
    assert_eq!(out.acks[0].acknowledgment_code, "AA", "{}", out.acks[0].ack);
    let context: AckContext =
        revcycle_connector_abi::serde_json::from_value(out.result.ack_context.clone().unwrap())
            .unwrap();
    assert_eq!(
        locate(&context.messages[0].records[1], "/credits/0"),
        "FT1^4^2"
    );
    // A message of credits alone is a record for the host, with no lines.
    let hl7 = format!("{DFT}\r{}", charge(1, "CD", "T1", "-80", "99213"));
    let out = run(&hl7);
    let e = encounter(&out);
    assert!(e.service_lines.is_empty());
    assert_eq!(e.credits.len(), 1);
    assert_eq!(e.credits[0].transaction_id.as_deref(), Some("T1"));
    // A credit naming no charge at all (no FT1-2, no FT1-23) is refused here.
    let hl7 = format!(
        "{DFT}\r{}\rFT1|2|||20240301||CD||||1|-80||||||||||||||99213",
        charge(1, "CG", "T1", "80", "99213"),
    );
    let out = run(&hl7);
    assert_eq!(out.acks[0].acknowledgment_code, "AE");
    assert!(
        ack_lines(&out, 0)[2].starts_with(
            "ERR||FT1^2^2|101^Required field missing^HL70357|E||||credit (CD) names no charge"
        ),
        "{:?}",
        ack_lines(&out, 0)
    );
    assert_eq!(encounter(&out).service_lines.len(), 1);
    // By filler order number (FT1-23) when the transaction ids differ.
    let hl7 = format!(
        "{DFT}\rFT1|1|A1||20240301||CG||||1|80||||||||||||ORD7||99213\r\
         FT1|2|A2||20240301||CG||||1|40||||||||||||||87880\r\
         FT1|3|B1||20240301||CD||||1|-80||||||||||||ORD7||99213"
    );
    let out = run(&hl7);
    assert_eq!(out.acks[0].acknowledgment_code, "AA", "{}", out.acks[0].ack);
    assert_eq!(encounter(&out).service_lines.len(), 1);
    assert_eq!(encounter(&out).service_lines[0].procedure_code, "87880");
    // Everything credited: nothing left to bill is an error, not a silent no-op.
    let hl7 = format!(
        "{DFT}\r{}\r{}",
        charge(1, "CG", "T1", "80", "99213"),
        charge(2, "CD", "T1", "-80", "99213"),
    );
    let out = run(&hl7);
    assert_eq!(out.acks[0].acknowledgment_code, "AE");
    assert!(ack_lines(&out, 0)[2].starts_with("ERR||FT1^1|100^"));
}

#[test]
fn table_values_are_checked() {
    // Price type (FT1-11.2, table 0205) and currency.
    let hl7 = format!(
        "{DFT}\rFT1|1|T1||20240301||CG||||1|80^ZZ||||||||J06.9||||||99213\r\
         FT1|2|T2||20240301||CG||||1|40&USD^UP||||||||J06.9||||||87880\r\
         FT1|3|T3||20240301||CG||||1|40&EUR||||||||J06.9||||||87880"
    );
    let out = run(&hl7);
    assert_eq!(
        ack_lines(&out, 0)[2..],
        [
            "ERR||FT1^1^11|103^Table value not found^HL70357|E||||price type is not a value of HL7 table 0205 (AP, DC, IC, PF, TF, TP, UP)",
            "ERR||FT1^3^11|102^Data type error^HL70357|E||||extended transaction amount is not in US dollars (USD)",
        ]
    );
    assert_eq!(encounter(&out).service_lines.len(), 1);
    assert_eq!(encounter(&out).service_lines[0].charge, "40.00");
    // The procedure from FT1-7 when coded in CPT and FT1-25 is empty.
    let hl7 = format!("{DFT}\rFT1|1|T1||20240301||CG|99214^Visit^C4|||1|90");
    let out = run(&hl7);
    assert_eq!(out.acks[0].acknowledgment_code, "AA", "{}", out.acks[0].ack);
    assert_eq!(encounter(&out).service_lines[0].procedure_code, "99214");
    let out = run(&format!(
        "{DFT}\rFT1|1|T1||20240301||CG|9921^Visit^C4|||1|90"
    ));
    assert!(ack_lines(&out, 0)[2].starts_with("ERR||FT1^1^7|102^"));
}

#[test]
fn invalid_sex_rejects_the_patient_and_what_depends_on_it() {
    let hl7 = format!(
        "{}\r{}\r{}",
        DFT.replace("Doe^Jane", "Doe^Jane||19800101|boy"),
        seg("IN1", &[(1, "1"), (3, "PAYER1"), (4, "Acme"), (36, "M123")]),
        charge(1, "CG", "T1", "80", "99213"),
    );
    let out = run(&hl7);
    assert_eq!(out.acks[0].acknowledgment_code, "AE");
    assert!(out.result.records.is_empty());
    assert_eq!(
        ack_lines(&out, 0)[2..],
        [
            "ERR||PID^1^8|103^Table value not found^HL70357|E||||administrative sex is not a value of HL7 table 0001 (F, M, O, U, A, N)"
        ]
    );
    let records: Vec<(&str, OutcomeStatus, Option<&str>)> = out.acks[0]
        .records
        .iter()
        .map(|r| (r.record_type.as_str(), r.status, r.reason.as_deref()))
        .collect();
    assert_eq!(
        records,
        [
            (
                "patient",
                OutcomeStatus::Rejected,
                Some(
                    "PID^1^8: administrative sex is not a value of HL7 table 0001 (F, M, O, U, A, N)"
                )
            ),
            (
                "coverage",
                OutcomeStatus::Rejected,
                Some("its patient (PID) was rejected")
            ),
            (
                "encounter",
                OutcomeStatus::Rejected,
                Some("its patient (PID) was rejected")
            ),
        ]
    );
    assert!(!out.acks[0].ack.contains("boy"));
    // Table 0001 values other than F and M.
    for (value, sex) in [("A", Sex::Other), ("N", Sex::Unknown), ("U", Sex::Unknown)] {
        let out = run(&ADT.replace("|F", &format!("|{value}")));
        assert_eq!(out.acks[0].acknowledgment_code, "AA");
        assert_eq!(patient(&out).sex, sex);
    }
}

#[test]
fn every_source_location_is_in_the_mapping_table() {
    let hl7 = format!(
        "MSH|^~\\&|PB|HOSP|RC|BILL|20240301||DFT^P03|D1|P|2.5.1\r\
         PID|1||M1^^^H^MR||Doe^Jane||19800101|F|||1 Main St^^Town^MA^01234||^PRN^PH^^^617^5551234|||||123456789\r\
         PV1|1|O||||||{NPI_C}^Ref^R^^^^^^NPI|||||||||||V1\r\
         {}\r\
         DG1|1||R05.9^^I10|||F\r\
         FT1|1|T1||20240301||CG||||1|80||||||||J06.9|{NPI_B}^Roe^R^^^^^^NPI|||||99213|25\r\
         FT1|2|T2||20240302||CG||||2|40||||||||R05.9|{NPI_A}^Doc^A^^^^^^NPI|||||87880",
        seg(
            "IN1",
            &[
                (1, "1"),
                (2, "P1^Plan"),
                (3, "PAYER1"),
                (4, "Acme"),
                (8, "G1"),
                (9, "Group"),
                (12, "20240101"),
                (13, "20241231"),
                (16, "Roe^John"),
                (17, "SPO"),
                (18, "19790101"),
                (19, "2 Main St^^Town^MA^01234"),
                (22, "1"),
                (36, "M123"),
                (43, "F"),
            ]
        )
    );
    let out = run(&hl7);
    assert_eq!(out.acks[0].acknowledgment_code, "AA", "{}", out.acks[0].ack);
    let context: AckContext =
        revcycle_connector_abi::serde_json::from_value(out.result.ack_context.clone().unwrap())
            .unwrap();
    let mut checked = 0;
    for record in &context.messages[0].records {
        for (pointer, at) in &record.sources {
            let parts: Vec<&str> = at.split('^').collect();
            if parts.len() < 3 {
                continue; // a whole segment
            }
            let field: usize = parts[2].parse().unwrap();
            let segment = if parts[0] == "PID" && pointer == "/patient_external_id" {
                continue;
            } else {
                parts[0]
            };
            assert!(
                mapping::MAPPING.iter().any(|m| m.segment == segment
                    && m.field == field
                    && m.record == record.record_type
                    && mapping::matches(m, pointer)),
                "{} {pointer} from {at} is not in the mapping table",
                record.record_type
            );
            checked += 1;
        }
    }
    assert!(checked > 40, "{checked}");
}

#[test]
fn readme_mapping_table_is_current() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let start = "<!-- hl7v2-mapping:start -->\n";
    let end = "<!-- hl7v2-mapping:end -->";
    let from = readme
        .find(start)
        .expect("README has the HL7 v2 mapping markers")
        + start.len();
    let to = readme[from..].find(end).unwrap() + from;
    if std::env::var_os("HL7V2_BLESS").is_some() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
        let text = format!(
            "{}{}{}",
            &readme[..from],
            mapping::markdown_table(),
            &readme[to..]
        );
        std::fs::write(path, text).unwrap();
        return;
    }
    assert_eq!(
        &readme[from..to],
        mapping::markdown_table(),
        "README's HL7 v2 mapping table differs from connectors/hl7v2/src/mapping.rs"
    );
}
