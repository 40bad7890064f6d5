use super::*;
use serde_json::json;

/// The host reads payer outputs as these types: envelopes may be absent (an older
/// plugin), the result itself may not.
#[test]
fn payer_outputs_need_their_result_and_take_envelopes_when_given() {
    let out: ParsedRemittances = serde_json::from_value(json!({
        "remittances": [],
        "interchanges": [{"control_number": "000000042"}],
    }))
    .unwrap();
    assert_eq!(
        out.envelopes.control_numbers().0.as_deref(),
        Some("000000042")
    );
    let old: ClaimStatusAnswers = serde_json::from_value(json!({"responses": []})).unwrap();
    assert!(old.envelopes.interchanges.is_empty());
    assert!(serde_json::from_value::<ParsedRemittances>(json!({"interchanges": []})).is_err());
    assert!(serde_json::from_value::<SubmitClaimsOutput>(json!({"receipt": {}})).is_err());
    let built = RequestX12 {
        x12: "ISA*...~".into(),
        envelopes: Envelopes::default(),
    };
    let v = serde_json::to_value(&built).unwrap();
    assert_eq!(v, json!({"x12": "ISA*...~", "interchanges": []}));
}

#[test]
fn patient_round_trips_and_tolerates_unknown_fields() {
    let patient = Patient {
        source_system: "ehr-a".into(),
        external_id: "p-1".into(),
        mrn: Some("MRN1".into()),
        name: PersonName {
            family: "Doe".into(),
            given: vec!["Jane".into(), "Q".into()],
            ..Default::default()
        },
        birth_date: Some("1980-02-29".into()),
        sex: Sex::Female,
        ssn: Some("123-45-6789".into()),
        ..Default::default()
    };
    let mut value = serde_json::to_value(&patient).unwrap();
    assert_eq!(value["sex"], "female");
    value["added_in_a_later_version"] = json!({"x": 1});
    value["name"]["use"] = json!("official");
    let back: Patient = serde_json::from_value(value).unwrap();
    assert!(back == patient);
    let debug = format!("{back:?}");
    assert!(!debug.contains("Doe") && !debug.contains("6789"), "{debug}");
}

#[test]
fn mrn_system_is_additive_both_ways() {
    // A plugin built before the field existed: the host reads no system.
    let old: Patient =
        serde_json::from_value(json!({"external_id": "p-1", "mrn": "12345"})).unwrap();
    assert_eq!(old.mrn_system, None);
    // A host built before it ignores the field (unknown fields are ignored).
    let new = Patient {
        mrn: Some("12345".into()),
        mrn_system: Some("urn:oid:2.16.840.1.113883.19.5".into()),
        ..Default::default()
    };
    let value = serde_json::to_value(&new).unwrap();
    assert_eq!(value["mrn_system"], "urn:oid:2.16.840.1.113883.19.5");
    let back: Patient = serde_json::from_value(value).unwrap();
    assert!(back == new);
}

#[test]
fn minimal_messages_take_defaults() {
    let coverage: Coverage =
        serde_json::from_value(json!({"member_id": "M1", "relationship": "self"})).unwrap();
    assert_eq!(coverage.priority, CoveragePriority::Primary);
    assert_eq!(coverage.relationship, SubscriberRelationship::SelfInsured);
    let coverage: Coverage =
        serde_json::from_value(json!({"relationship": "grandchild", "subscriber": {"sex": "x"}}))
            .unwrap();
    assert_eq!(coverage.relationship, SubscriberRelationship::Other);
    assert_eq!(coverage.subscriber.unwrap().sex, Sex::Unknown);

    let claim: ClaimSubmission = serde_json::from_value(json!({})).unwrap();
    assert_eq!(claim.schema_version, SCHEMA_VERSION);
    let remit: Remittance = serde_json::from_value(json!({"trace_number": "T"})).unwrap();
    assert_eq!(remit.schema_version, SCHEMA_VERSION);
}

#[test]
fn import_records_are_tagged() {
    let result: ImportResult = serde_json::from_value(json!({
        "schema_version": 1,
        "records": [
            {"type": "patient", "external_id": "p-1", "sex": "male"},
            {"type": "encounter", "external_id": "e-1", "patient_external_id": "p-1",
             "date_of_service": "2024-03-01", "diagnoses": ["J06.9", "R05.9"],
             "service_lines": [{"procedure_code": "99213", "modifiers": ["25"],
                                "units": "1", "charge": "125.00",
                                "diagnosis_pointers": [1, 2]}]},
            {"type": "appointment", "id": "a-1"}
        ]
    }))
    .unwrap();
    assert_eq!(result.records.len(), 3);
    match &result.records[1] {
        ImportRecord::Encounter(e) => {
            assert_eq!(e.diagnoses, ["J06.9", "R05.9"]);
            assert_eq!(e.service_lines[0].charge, "125.00");
            assert_eq!(e.service_lines[0].diagnosis_pointers, [1, 2]);
        }
        _ => panic!("expected an encounter"),
    }
    assert!(result.records[2] == ImportRecord::Unknown);
    let text = serde_json::to_string(&result.records[0]).unwrap();
    assert!(text.starts_with(r#"{"type":"patient""#), "{text}");
}

#[test]
fn payer_operation_inputs_keep_their_wire_format() {
    let submit = SubmitClaimsInput {
        claims: vec![ClaimSubmission::default()],
        envelope: EnvelopeOverrides {
            control_number: Some(7),
            sender_id: Some("REVCYCLE".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let v = serde_json::to_value(&submit).unwrap();
    let mut keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["claims", "control_number", "sender_id"]);
    assert_eq!(v["control_number"], 7);
    let full: SubmitClaimsInput = serde_json::from_value(json!({
        "claims": [{}], "control_number": 9, "sender_id": "S", "receiver_id": "R",
        "date": "20240320", "time": "1015", "claim_filing_indicator": "MB",
        "receiver_name": "Acme", "added_in_a_later_version": true
    }))
    .unwrap();
    assert_eq!(full.envelope.control_number, Some(9));
    assert_eq!(full.envelope.receiver_id.as_deref(), Some("R"));
    assert_eq!(full.envelope.time.as_deref(), Some("1015"));
    assert_eq!(full.claim_filing_indicator.as_deref(), Some("MB"));
    assert_eq!(full.receiver_name.as_deref(), Some("Acme"));
    assert_eq!(
        serde_json::to_value(&full).unwrap()["receiver_name"],
        "Acme"
    );

    let read = CheckEligibilityInput {
        x12: Some("ISA*...".into()),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_value(&read).unwrap(),
        json!({"x12": "ISA*..."})
    );
    let build = ClaimStatusInput {
        requests: vec![ClaimStatusRequest::default()],
        envelope: EnvelopeOverrides {
            control_number: Some(3),
            sender_id: Some("S".into()),
            receiver_id: Some("R".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let v = serde_json::to_value(&build).unwrap();
    let mut keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["control_number", "receiver_id", "requests", "sender_id"]
    );
    let debug = format!("{read:?} {build:?} {submit:?}");
    assert!(!debug.contains("ISA"), "{debug}");
}

#[test]
fn remittance_round_trips() {
    let remit = Remittance {
        trace_number: "12345".into(),
        payment_amount: "80.00".into(),
        claims: vec![ClaimPayment {
            claim_control_number: "C1".into(),
            status_code: "1".into(),
            total_charge: "125.00".into(),
            paid_amount: "80.00".into(),
            service_lines: vec![ServiceLinePayment {
                procedure_code: "99213".into(),
                charge: "125.00".into(),
                paid_amount: "80.00".into(),
                adjustments: vec![
                    Adjustment {
                        group: "CO".into(),
                        reason: "45".into(),
                        amount: "25.00".into(),
                        quantity: None,
                    },
                    Adjustment {
                        group: "PR".into(),
                        reason: "2".into(),
                        amount: "20.00".into(),
                        quantity: None,
                    },
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
        provider_adjustments: vec![ProviderAdjustment {
            provider_id: "1234567893".into(),
            fiscal_period_date: "2024-12-31".into(),
            reason_code: "WO".into(),
            amount: "-5.00".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let text = serde_json::to_vec(&remit).unwrap();
    let back: Remittance = serde_json::from_slice(&text).unwrap();
    assert!(back == remit);
}
