use super::*;
use crate::billing::test_util::d;

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn today() -> NaiveDate {
    date("2026-10-01")
}

fn line(code: &str, charge: &str, ptrs: &[u8]) -> ScrubLine {
    ScrubLine {
        procedure_code: code.into(),
        modifiers: vec![],
        units: d("1"),
        charge: d(charge),
        diagnosis_pointers: ptrs.to_vec(),
        service_date: None,
    }
}

fn subscriber() -> SubscriberFacts {
    SubscriberFacts {
        has_family_name: true,
        has_given_name: true,
        has_birth_date: true,
        has_sex: true,
        has_address: true,
    }
}

/// A clean claim: every edit passes.
fn base() -> ScrubInput {
    ScrubInput {
        claim: ScrubClaim {
            claim_id: id(1),
            patient_id: id(2),
            billing_provider_id: id(3),
            patient_control_number: "C01JD4Q8W3M5XK2P9RTA".into(),
            frequency: ClaimFrequency::Original,
            original_claim_id: None,
            original_reference: None,
            place_of_service: "11".into(),
            service_date_from: date("2026-09-15"),
            service_date_to: date("2026-09-15"),
            diagnoses: vec!["E11.9".into(), "I10".into()],
            lines: vec![
                ScrubLine {
                    modifiers: vec!["25".into()],
                    ..line("99213", "125.00", &[1, 2])
                },
                line("36415", "15.00", &[1]),
            ],
        },
        billing_provider: ProviderFacts {
            npi: Some("1234567893".into()),
            tin: Some("123456789".into()),
            has_taxonomy: true,
            roles: vec![ProviderRole::Billing],
        },
        rendering_provider: Some(ProviderFacts {
            npi: Some("1245319599".into()),
            tin: None,
            has_taxonomy: true,
            roles: vec![ProviderRole::Rendering],
        }),
        coverage: Some(CoverageFacts {
            patient_id: id(2),
            active: true,
            effective_from: date("2026-01-01"),
            effective_to: None,
            has_member_id: true,
            relationship: SubscriberRelationship::SelfRelation,
            subscriber: None,
        }),
        timely_filing_days: None,
        other_claims: vec![],
        patient_control_number_unique: true,
    }
}

#[test]
fn a_clean_claim_has_no_findings() {
    let f = scrub(&base(), today());
    assert!(f.is_empty(), "{f:#?}");
    assert!(passes(&f));
}

type Edit = fn(&mut ScrubInput);

/// (edit id, severity, pointer, a change that fails it, a nearby change that passes it)
fn cases() -> Vec<(&'static str, Severity, &'static str, Edit, Edit)> {
    use Severity::{Error as E, Warning as W};
    vec![
        (
            "claim.no_diagnoses",
            E,
            "/diagnoses",
            |i| {
                i.claim.diagnoses.clear();
                i.claim
                    .lines
                    .iter_mut()
                    .for_each(|l| l.diagnosis_pointers.clear());
            },
            |i| {
                i.claim.diagnoses.truncate(1);
                i.claim.lines[0].diagnosis_pointers = vec![1];
            },
        ),
        (
            "claim.too_many_diagnoses",
            E,
            "/diagnoses",
            |i| {
                i.claim.diagnoses = [
                    "A00.0", "A00.1", "A00.9", "E11.9", "I10", "R51.0", "R51.9", "S00.00XA",
                    "S00.00XD", "S00.00XS", "Z00.00", "Z00.01", "J06.9",
                ]
                .map(String::from)
                .to_vec()
            },
            |i| {
                i.claim.diagnoses = [
                    "A00.0", "A00.1", "A00.9", "E11.9", "I10", "R51.0", "R51.9", "S00.00XA",
                    "S00.00XD", "S00.00XS", "Z00.00", "Z00.01",
                ]
                .map(String::from)
                .to_vec()
            },
        ),
        (
            "dx.format",
            E,
            "/diagnoses/1",
            |i| i.claim.diagnoses[1] = "110".into(),
            |i| i.claim.diagnoses[1] = "i10".into(),
        ),
        (
            "dx.unknown",
            E,
            "/diagnoses/1",
            |i| i.claim.diagnoses[1] = "A00.2".into(),
            |i| i.claim.diagnoses[1] = "A00.1".into(),
        ),
        (
            "dx.not_billable",
            E,
            "/diagnoses/0",
            |i| i.claim.diagnoses[0] = "E11".into(),
            |i| i.claim.diagnoses[0] = "E11.9".into(),
        ),
        (
            "dx.duplicate",
            E,
            "/diagnoses/1",
            |i| i.claim.diagnoses[1] = "E119".into(),
            |i| i.claim.diagnoses[1] = "E11.8".into(),
        ),
        (
            "dx.code_set_release",
            W,
            "/service_date_from",
            |i| {
                i.claim.service_date_from = date("2025-09-30");
                i.claim.service_date_to = date("2025-09-30");
                i.timely_filing_days = Some(730);
            },
            |i| {
                i.claim.service_date_from = date("2025-10-01");
                i.claim.service_date_to = date("2025-10-01");
                i.coverage.as_mut().unwrap().effective_from = date("2025-01-01");
            },
        ),
        (
            "claim.no_lines",
            E,
            "/lines",
            |i| i.claim.lines.clear(),
            |i| {
                i.claim.lines.truncate(1);
            },
        ),
        (
            "claim.too_many_lines",
            E,
            "/lines",
            |i| i.claim.lines = vec![line("36415", "15.00", &[1]); 51],
            |i| i.claim.lines = vec![line("36415", "15.00", &[1]); 50],
        ),
        (
            "proc.format",
            E,
            "/lines/1/procedure_code",
            |i| i.claim.lines[1].procedure_code = "3641".into(),
            |i| i.claim.lines[1].procedure_code = "G0008".into(),
        ),
        (
            "proc.category_ii_charged",
            W,
            "/lines/1/charge",
            |i| i.claim.lines[1].procedure_code = "3044F".into(),
            |i| {
                i.claim.lines[1].procedure_code = "3044F".into();
                i.claim.lines[1].charge = d("0.00");
            },
        ),
        (
            "line.charge",
            E,
            "/lines/1/charge",
            |i| i.claim.lines[1].charge = d("0.00"),
            |i| i.claim.lines[1].charge = d("0.01"),
        ),
        (
            "line.units",
            E,
            "/lines/0/units",
            |i| i.claim.lines[0].units = d("0"),
            |i| i.claim.lines[0].units = d("0.5"),
        ),
        (
            "line.modifier_format",
            E,
            "/lines/0/modifiers/1",
            |i| i.claim.lines[0].modifiers.push("5".into()),
            |i| i.claim.lines[0].modifiers.push("59".into()),
        ),
        (
            "line.modifier_duplicate",
            E,
            "/lines/0/modifiers/1",
            |i| i.claim.lines[0].modifiers.push("25".into()),
            |i| i.claim.lines[0].modifiers.push("GT".into()),
        ),
        (
            "line.modifier_count",
            E,
            "/lines/0/modifiers",
            |i| {
                i.claim.lines[0].modifiers =
                    ["25", "59", "GT", "XS", "KX"].map(String::from).to_vec()
            },
            |i| i.claim.lines[0].modifiers = ["25", "59", "GT", "XS"].map(String::from).to_vec(),
        ),
        (
            "line.pointer_missing",
            E,
            "/lines/1/diagnosis_pointers",
            |i| i.claim.lines[1].diagnosis_pointers.clear(),
            |i| i.claim.lines[1].diagnosis_pointers = vec![2],
        ),
        (
            "line.pointer_count",
            E,
            "/lines/0/diagnosis_pointers",
            |i| {
                i.claim.diagnoses = ["E11.9", "I10", "A00.0", "A00.1", "A00.9"]
                    .map(String::from)
                    .to_vec();
                i.claim.lines[0].diagnosis_pointers = vec![1, 2, 3, 4, 5];
            },
            |i| {
                i.claim.diagnoses = ["E11.9", "I10", "A00.0", "A00.1", "A00.9"]
                    .map(String::from)
                    .to_vec();
                i.claim.lines[0].diagnosis_pointers = vec![1, 2, 3, 4];
            },
        ),
        (
            "line.pointer_invalid",
            E,
            "/lines/1/diagnosis_pointers/1",
            |i| i.claim.lines[1].diagnosis_pointers = vec![1, 3],
            |i| i.claim.lines[1].diagnosis_pointers = vec![1, 2],
        ),
        (
            "line.pointer_duplicate",
            E,
            "/lines/0/diagnosis_pointers/1",
            |i| i.claim.lines[0].diagnosis_pointers = vec![1, 1],
            |i| i.claim.lines[0].diagnosis_pointers = vec![2, 1],
        ),
        (
            "line.service_date",
            E,
            "/lines/1/service_date",
            |i| i.claim.lines[1].service_date = Some(date("2026-09-16")),
            |i| {
                i.claim.service_date_to = date("2026-09-16");
                i.claim.lines[1].service_date = Some(date("2026-09-16"));
            },
        ),
        (
            "dos.order",
            E,
            "/service_date_to",
            |i| i.claim.service_date_to = date("2026-09-14"),
            |i| i.claim.service_date_to = date("2026-09-16"),
        ),
        (
            "dos.future",
            E,
            "/service_date_to",
            |i| i.claim.service_date_to = date("2026-10-02"),
            |i| i.claim.service_date_to = date("2026-10-01"),
        ),
        (
            "timely_filing.expired",
            E,
            "/service_date_to",
            |i| i.timely_filing_days = Some(15),
            |i| i.timely_filing_days = Some(16),
        ),
        (
            "timely_filing.near",
            W,
            "/service_date_to",
            |i| i.timely_filing_days = Some(46),
            |i| i.timely_filing_days = Some(47),
        ),
        (
            "billing_provider.npi_missing",
            E,
            "/billing_provider/npi",
            |i| i.billing_provider.npi = None,
            |i| i.billing_provider.npi = Some("1245319599".into()),
        ),
        (
            "billing_provider.npi",
            E,
            "/billing_provider/npi",
            |i| i.billing_provider.npi = Some("1234567890".into()),
            |i| i.billing_provider.npi = Some(" 1234567893 ".into()),
        ),
        (
            "billing_provider.tin_missing",
            E,
            "/billing_provider/tin",
            |i| i.billing_provider.tin = None,
            |i| i.billing_provider.tin = Some("12-3456789".into()),
        ),
        (
            "billing_provider.tin",
            E,
            "/billing_provider/tin",
            |i| i.billing_provider.tin = Some("12345678".into()),
            |i| i.billing_provider.tin = Some("123-45-6789".into()),
        ),
        (
            "billing_provider.taxonomy_missing",
            W,
            "/billing_provider/taxonomy",
            |i| i.billing_provider.has_taxonomy = false,
            |i| i.rendering_provider.as_mut().unwrap().has_taxonomy = false,
        ),
        (
            "billing_provider.role",
            E,
            "/billing_provider/roles",
            |i| i.billing_provider.roles = vec![ProviderRole::Rendering],
            // A solo practitioner: one NPI, billing and rendering.
            |i| i.billing_provider.roles = vec![ProviderRole::Billing, ProviderRole::Rendering],
        ),
        (
            "rendering_provider.role",
            E,
            "/rendering_provider/roles",
            |i| i.rendering_provider.as_mut().unwrap().roles = vec![ProviderRole::Referring],
            |i| {
                i.rendering_provider.as_mut().unwrap().roles =
                    vec![ProviderRole::Billing, ProviderRole::Rendering]
            },
        ),
        (
            "rendering_provider.npi_missing",
            E,
            "/rendering_provider/npi",
            |i| i.rendering_provider.as_mut().unwrap().npi = None,
            |i| i.rendering_provider = None,
        ),
        (
            "rendering_provider.npi",
            E,
            "/rendering_provider/npi",
            |i| i.rendering_provider.as_mut().unwrap().npi = Some("1245319598".into()),
            |i| i.rendering_provider.as_mut().unwrap().npi = Some("1234567893".into()),
        ),
        (
            "coverage.missing",
            E,
            "/coverage",
            |i| i.coverage = None,
            |i| i.coverage.as_mut().unwrap().effective_to = Some(date("2026-12-31")),
        ),
        (
            "coverage.other_patient",
            E,
            "/coverage/patient_id",
            |i| i.coverage.as_mut().unwrap().patient_id = id(99),
            |i| i.claim.patient_id = id(2),
        ),
        (
            "coverage.inactive",
            E,
            "/coverage/active",
            |i| i.coverage.as_mut().unwrap().active = false,
            |i| i.coverage.as_mut().unwrap().active = true,
        ),
        (
            "coverage.not_effective",
            E,
            "/service_date_from",
            |i| i.coverage.as_mut().unwrap().effective_from = date("2026-09-16"),
            |i| {
                let c = i.coverage.as_mut().unwrap();
                c.effective_from = date("2026-09-15");
                c.effective_to = Some(date("2026-09-15"));
            },
        ),
        (
            "coverage.member_id_missing",
            E,
            "/coverage/member_id",
            |i| i.coverage.as_mut().unwrap().has_member_id = false,
            |i| i.coverage.as_mut().unwrap().has_member_id = true,
        ),
        (
            "subscriber.missing",
            E,
            "/coverage/subscriber",
            |i| i.coverage.as_mut().unwrap().relationship = SubscriberRelationship::Spouse,
            |i| {
                let c = i.coverage.as_mut().unwrap();
                c.relationship = SubscriberRelationship::Spouse;
                c.subscriber = Some(subscriber());
            },
        ),
        (
            "subscriber.incomplete",
            E,
            "/coverage/subscriber/birth_date",
            |i| {
                let c = i.coverage.as_mut().unwrap();
                c.relationship = SubscriberRelationship::Child;
                c.subscriber = Some(SubscriberFacts {
                    has_birth_date: false,
                    ..subscriber()
                });
            },
            |i| {
                let c = i.coverage.as_mut().unwrap();
                c.relationship = SubscriberRelationship::Child;
                c.subscriber = Some(subscriber());
            },
        ),
        (
            "pos.invalid",
            E,
            "/place_of_service",
            |i| i.claim.place_of_service = "30".into(),
            |i| i.claim.place_of_service = "02".into(),
        ),
        (
            "claim.pcn_format",
            E,
            "/patient_control_number",
            |i| i.claim.patient_control_number = "C01JD4Q8W3M5XK2P9RTAX".into(),
            |i| i.claim.patient_control_number = "C1".into(),
        ),
        (
            "claim.pcn_not_unique",
            E,
            "/patient_control_number",
            |i| i.patient_control_number_unique = false,
            |i| i.patient_control_number_unique = true,
        ),
        (
            "frequency.original_reference",
            E,
            "/original_reference",
            |i| {
                i.claim.frequency = ClaimFrequency::Replacement;
                i.claim.original_reference = Some(" ".into());
            },
            |i| {
                i.claim.frequency = ClaimFrequency::Void;
                i.claim.original_reference = Some("PCN-2026-000981".into());
            },
        ),
        (
            "claim.duplicate",
            E,
            "",
            |i| {
                let mut k = i.claim.duplicate_key();
                k.claim_id = id(50);
                i.other_claims.push(k);
            },
            |i| {
                let mut k = i.claim.duplicate_key();
                k.claim_id = id(50);
                i.claim.original_claim_id = Some(id(50));
                i.other_claims.push(k);
            },
        ),
    ]
}

#[test]
fn every_edit_fails_and_passes() {
    let mut ids = BTreeSet::new();
    for (edit, severity, pointer, fail, pass) in cases() {
        assert!(ids.insert(edit), "{edit} tested twice");
        let mut i = base();
        fail(&mut i);
        let f = scrub(&i, today());
        let hit = f.iter().find(|x| x.edit == edit);
        let hit = hit.unwrap_or_else(|| panic!("{edit} did not fire: {f:#?}"));
        assert_eq!(hit.severity, severity, "{edit}");
        assert_eq!(hit.pointer, pointer, "{edit}");
        assert_eq!(
            passes(&f),
            severity == Severity::Warning && f.iter().all(|x| x.severity == Severity::Warning),
            "{edit}"
        );
        let mut i = base();
        pass(&mut i);
        let f = scrub(&i, today());
        assert!(
            f.iter().all(|x| x.edit != edit),
            "{edit} fired on the passing case: {f:#?}"
        );
    }
}

#[test]
fn messages_name_codes_but_not_subscriber_data() {
    let mut i = base();
    i.claim.diagnoses[0] = "E11".into();
    let f = scrub(&i, today());
    assert_eq!(
        f[0].message,
        "E11 is a category or subcategory header; report a more specific code"
    );
    let c = CoverageFacts::of(&Coverage {
        id: id(7),
        patient_id: id(2),
        payer_id: id(8),
        priority: crate::codes::CoveragePriority::Primary,
        member_id: "XJH123456789".into(),
        group_number: None,
        plan_name: None,
        relationship: SubscriberRelationship::Spouse,
        subscriber: Some(crate::model::coverage::Subscriber {
            family_name: "Quixote".into(),
            given_name: "Alonso".into(),
            birth_date: date("1960-02-03"),
            sex: crate::codes::AdministrativeSex::Male,
            address: None,
        }),
        effective_from: date("2026-01-01"),
        effective_to: None,
        active: true,
        version: 1,
        created_at: chrono::DateTime::from_timestamp(0, 0).unwrap(),
        updated_at: chrono::DateTime::from_timestamp(0, 0).unwrap(),
    });
    i.coverage = Some(c);
    let f = scrub(&i, today());
    let sub = f
        .iter()
        .find(|x| x.edit == "subscriber.incomplete")
        .unwrap();
    assert_eq!(sub.pointer, "/coverage/subscriber/address");
    let all = format!("{f:?}");
    assert!(!all.contains("Quixote") && !all.contains("1960") && !all.contains("XJH"));
}
