//! The conformance corpus (tests/corpus, provenance in its MANIFEST.md): for every file, the
//! outcome per record is stated in `tests/corpus/expected.json` (the canonical records emitted,
//! the issues with their position, rule and pointer, or the 422 refusal), and no record may
//! vanish: every input resource that maps to a record (Patient, Coverage, Encounter) is either
//! a record or an issue at its position, every resource of a type not imported is counted in
//! the summary, and the counts add up.
//!
//! Records are summarised without personal values: ids, presence of fields, codes and dates of
//! service only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use revcycle_connector_abi::canonical::{ImportRecord, ImportResult};
use revcycle_connector_abi::serde_json::{self, Value, json};
use revcycle_connector_fhir_r4::Options;
use revcycle_connector_fhir_r4::import;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// Every corpus file, as `dir/file`.
fn corpus_files() -> Vec<String> {
    let mut files = Vec::new();
    for dir in std::fs::read_dir(corpus_dir()).unwrap() {
        let dir = dir.unwrap();
        if !dir.file_type().unwrap().is_dir() {
            continue;
        }
        for f in std::fs::read_dir(dir.path()).unwrap() {
            let f = f.unwrap().file_name().into_string().unwrap();
            files.push(format!("{}/{f}", dir.file_name().into_string().unwrap()));
        }
    }
    files.sort();
    files
}

fn opts() -> Options {
    Options {
        source_system: "corpus".into(),
        default_place_of_service: None,
    }
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// One line per record: what a billing user would check, without personal values.
fn summary(r: &ImportRecord) -> String {
    match r {
        ImportRecord::Patient(p) => format!(
            "patient {} mrn={} ssn={} birth_date={} sex={:?} address={} other_names={}",
            p.external_id,
            yes(p.mrn.is_some()),
            yes(p.ssn.is_some()),
            yes(p.birth_date.is_some()),
            p.sex,
            yes(p.address.is_some()),
            p.other_names.len(),
        ),
        ImportRecord::Coverage(c) => format!(
            "coverage {} patient={} payer_name={} payer_id={} member_id={} priority={:?} \
             relationship={:?} subscriber={} start={} end={}",
            c.external_id.as_deref().unwrap_or("-"),
            c.patient_external_id,
            yes(!c.payer.name.is_empty()),
            yes(c.payer.payer_id.is_some()),
            yes(!c.member_id.is_empty()),
            c.priority,
            c.relationship,
            yes(c.subscriber.is_some()),
            c.period.start.as_deref().unwrap_or("-"),
            c.period.end.as_deref().unwrap_or("-"),
        ),
        ImportRecord::Encounter(e) => format!(
            "encounter {} patient={} dos={} end={} pos={} billing={} rendering={} \
             referring={} dx=[{}] lines=[{}]",
            e.external_id,
            e.patient_external_id,
            e.date_of_service,
            e.end_date.as_deref().unwrap_or("-"),
            e.place_of_service.as_deref().unwrap_or("-"),
            e.billing_provider_npi.as_deref().unwrap_or("-"),
            e.rendering_provider_npi.as_deref().unwrap_or("-"),
            e.referring_provider_npi.as_deref().unwrap_or("-"),
            e.diagnoses.join(" "),
            e.service_lines
                .iter()
                .map(|l| format!("{}x{}@{}", l.procedure_code, l.units, l.charge))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        ImportRecord::Unknown => "unknown".into(),
    }
}

fn outcome(file: &str) -> (Value, Option<ImportResult>) {
    let input = std::fs::read(corpus_dir().join(file)).unwrap();
    match import::import(&input, &opts()) {
        Err(e) => {
            assert_eq!(e.code, "invalid_input", "{file}");
            (json!({ "refused": e.message }), None)
        }
        Ok(r) => {
            let records: Vec<String> = r.records.iter().map(summary).collect();
            let issues: Vec<String> = r
                .issues
                .iter()
                .map(|i| {
                    let at = i.position.map_or("-".to_owned(), |p| p.to_string());
                    format!("{at} | {} | {}", i.code, i.message)
                })
                .collect();
            (json!({ "records": records, "issues": issues }), Some(r))
        }
    }
}

/// The input's resources as (position, resourceType, id), as the plugin counts positions.
fn input_resources(file: &str) -> Vec<(u64, String, Option<String>)> {
    let text = std::fs::read_to_string(corpus_dir().join(file)).unwrap();
    let head = |v: &Value| {
        (
            v["resourceType"].as_str().unwrap_or_default().to_owned(),
            v["id"].as_str().map(str::to_owned),
        )
    };
    if file.ends_with(".ndjson") {
        return text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(n, l)| {
                let (t, id) = head(&serde_json::from_str(l).unwrap());
                (n as u64 + 1, t, id)
            })
            .collect();
    }
    let doc: Value = serde_json::from_str(&text).unwrap();
    if doc["resourceType"] != "Bundle" {
        let (t, id) = head(&doc);
        return vec![(0, t, id)];
    }
    doc["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .filter(|(_, e)| e.get("resource").is_some())
        .map(|(n, e)| {
            // The external id: the logical id, else the uuid of a urn:uuid fullUrl.
            let (t, id) = head(&e["resource"]);
            let id = id.or_else(|| {
                e["fullUrl"]
                    .as_str()
                    .and_then(|u| u.strip_prefix("urn:uuid:"))
                    .map(str::to_owned)
            });
            (n as u64, t, id)
        })
        .collect()
}

/// Types read only to resolve references, to build an encounter's lines and diagnoses, or (an
/// ExplanationOfBenefit) to answer the coverage its insurance names.
const SUPPORTING: &[&str] = &[
    "RelatedPerson",
    "Organization",
    "Practitioner",
    "PractitionerRole",
    "Location",
    "Condition",
    "Procedure",
    "ChargeItem",
    "Claim",
    "ExplanationOfBenefit",
];

fn record_type(r: &ImportRecord) -> &'static str {
    match r {
        ImportRecord::Patient(_) => "Patient",
        ImportRecord::Coverage(_) => "Coverage",
        ImportRecord::Encounter(_) => "Encounter",
        ImportRecord::Unknown => "Unknown",
    }
}

fn record_id(r: &ImportRecord) -> Option<String> {
    match r {
        ImportRecord::Patient(p) => Some(p.external_id.clone()),
        ImportRecord::Coverage(c) => c.external_id.clone(),
        ImportRecord::Encounter(e) => Some(e.external_id.clone()),
        ImportRecord::Unknown => None,
    }
}

/// No record vanishes: each Patient/Coverage/Encounter of the input is exactly one record or
/// has an issue at its position; the ignored-types summary counts every other resource.
fn check_nothing_vanishes(file: &str, r: &ImportResult) {
    let resources = input_resources(file);
    let mut records_by_type: BTreeMap<&str, usize> = BTreeMap::new();
    for rec in &r.records {
        *records_by_type.entry(record_type(rec)).or_default() += 1;
    }
    let mut expected_by_type: BTreeMap<&str, usize> = BTreeMap::new();
    let mut ignored: BTreeMap<String, usize> = BTreeMap::new();
    for (position, t, id) in &resources {
        let t = t.as_str();
        if ["Patient", "Coverage", "Encounter"].contains(&t) {
            let as_record = r.records.iter().any(|rec| {
                record_type(rec) == t && id.is_some() && record_id(rec).as_ref() == id.as_ref()
            });
            let as_issue = r
                .issues
                .iter()
                .any(|i| i.position == Some(*position) && i.message.starts_with(t));
            assert!(
                as_record != as_issue,
                "{file}: {t} at {position} must be a record or an issue (record: {as_record}, \
                 issue: {as_issue})"
            );
            if as_record {
                let t: &'static str = match t {
                    "Patient" => "Patient",
                    "Coverage" => "Coverage",
                    _ => "Encounter",
                };
                *expected_by_type.entry(t).or_default() += 1;
            }
        } else if !SUPPORTING.contains(&t) {
            *ignored.entry(t.to_owned()).or_default() += 1;
        }
    }
    assert_eq!(records_by_type, expected_by_type, "{file}: records by type");
    let summary: Vec<&str> = r
        .issues
        .iter()
        .filter(|i| i.code == import::codes::IGNORED_TYPES)
        .map(|i| i.message.as_str())
        .collect();
    if ignored.is_empty() {
        assert!(summary.is_empty(), "{file}: {summary:?}");
    } else {
        let total: usize = ignored.values().sum();
        let list: Vec<String> = ignored.iter().map(|(t, n)| format!("{t} x{n}")).collect();
        assert_eq!(
            summary,
            [format!(
                "ignored {total} resource(s) of types not imported: {}",
                list.join(", ")
            )],
            "{file}"
        );
    }
}

#[test]
fn every_corpus_file_has_its_stated_outcome_and_nothing_vanishes() {
    let path = corpus_dir().join("expected.json");
    let mut actual = serde_json::Map::new();
    for file in corpus_files() {
        if !file.ends_with(".json") && !file.ends_with(".ndjson") {
            continue;
        }
        let (out, result) = outcome(&file);
        if let Some(r) = &result {
            check_nothing_vanishes(&file, r);
        }
        actual.insert(file, out);
    }
    if std::env::var_os("REVCYCLE_WRITE_CORPUS_EXPECTED").is_some() {
        let text = serde_json::to_string_pretty(&Value::Object(actual.clone())).unwrap();
        std::fs::write(&path, text + "\n").unwrap();
    }
    let expected: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let expected = expected.as_object().unwrap();
    assert_eq!(
        expected.keys().collect::<Vec<_>>(),
        actual.keys().collect::<Vec<_>>(),
        "every corpus file has a stated outcome, and every stated outcome a file"
    );
    for (file, want) in expected {
        assert_eq!(&actual[file], want, "{file}");
    }
}
