//! The public sample corpus (`tests/corpus/`, provenance in `MANIFEST.md`): for every file, the
//! expected outcome of each message (MSA-1 and every ERR) and of each record, with nothing
//! lost (every message is acknowledged, every record the plugin emits or refuses is listed
//! once, and the counts add up); and the verdict of an independent validator (hl7apy, strict,
//! in each message's own version) on each message: we never accept what it refuses.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use revcycle_connector_abi::canonical::v1::OutcomeStatus;
use revcycle_connector_hl7v2::{Config, ImportInput, ImportOutput, import};

const NO_MR: &str = "ERR||PID^1^3|101^Required field missing^HL70357|E||||patient identifier list has no identifier of type MR";
const BAD_DOB: &str = "ERR||PID^1^7|102^Data type error^HL70357|E||||not a valid date";
const BAD_SEX: &str = "ERR||PID^1^8|103^Table value not found^HL70357|E||||administrative sex is not a value of HL7 table 0001 (F, M, O, U, A, N)";
const NOT_ADT_DFT: &str = "ERR||MSH^1^9|200^Unsupported message type^HL70357|E||||message type is not supported (ADT, DFT)";
const NOT_OUR_EVENT: &str = "ERR||MSH^1^9|201^Unsupported event code^HL70357|E||||event is not supported (ADT A04/A08/A28/A31, DFT P03)";

/// One message's expected ACK: MSA-1, the ERR segments, and each record as (type, status).
struct Expect {
    code: &'static str,
    errs: &'static [&'static str],
    records: &'static [(&'static str, OutcomeStatus)],
    /// Why hl7apy's verdict on this message does not decide ours (when it accepts what we
    /// refuse); `None` when hl7apy refuses it too.
    hl7apy_accepts_because: Option<&'static str>,
}

const REJECTED_PATIENT: &[(&str, OutcomeStatus)] = &[("patient", OutcomeStatus::Rejected)];

fn expectations() -> Vec<(&'static str, Vec<Expect>)> {
    let vinah = || Expect {
        // VINAH (Victoria, Australia) sample: PID-3 has an identifier of type `A`, no MRN;
        // PID-7 is `10131113` (year 1013); PID-8 is `1`, not a table 0001 value.
        code: "AE",
        errs: &[NO_MR, BAD_DOB, BAD_SEX],
        records: REJECTED_PATIENT,
        hl7apy_accepts_because: Some(
            "hl7apy checks structure and data types: it does not check PID-8 against table \
             0001, sees a well-formed DT in year 1013, and has no rule that PID-3 carries a \
             medical record number (without one the patient cannot be matched again)",
        ),
    };
    vec![
        (
            "python-hl7_sample_hl7_oru_r01.hl7",
            vec![Expect {
                code: "AR",
                errs: &[NOT_ADT_DFT],
                records: &[],
                hl7apy_accepts_because: None,
            }],
        ),
        (
            "python-hl7_sample_file1_adt_a04.hl7",
            vec![vinah(), vinah(), vinah()],
        ),
        (
            "python-hl7_sample_msh_adt_a01.hl7",
            vec![Expect {
                code: "AR",
                errs: &[NOT_OUR_EVENT],
                records: &[],
                hl7apy_accepts_because: None,
            }],
        ),
        (
            "simple-hl7_adt.hl7",
            vec![Expect {
                // PID-3 holds an identifier of type `ID 1`: no medical record number.
                code: "AE",
                errs: &[NO_MR],
                records: REJECTED_PATIENT,
                hl7apy_accepts_because: None,
            }],
        ),
        (
            "simple-hl7_orm.hl7",
            vec![Expect {
                code: "AR",
                errs: &[NOT_ADT_DFT],
                records: &[],
                hl7apy_accepts_because: None,
            }],
        ),
        (
            "hl7-standard_batch.hl7",
            vec![
                Expect {
                    code: "AR",
                    errs: &[NOT_OUR_EVENT],
                    records: &[],
                    hl7apy_accepts_because: None,
                },
                Expect {
                    code: "AR",
                    errs: &[NOT_ADT_DFT],
                    records: &[],
                    hl7apy_accepts_because: None,
                },
            ],
        ),
    ]
}

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(name)
}

fn run(name: &str) -> (String, ImportOutput) {
    let bytes = std::fs::read(corpus(name)).unwrap();
    let text = String::from_utf8(bytes).expect("corpus files are UTF-8");
    let out = import(
        &Config::default(),
        &ImportInput {
            hl7: text.clone(),
            ack_timestamp: Some("20240308120000+0000".into()),
        },
    )
    .unwrap();
    (text, out)
}

#[test]
fn every_corpus_file_is_listed_with_its_outcomes() {
    let expected = expectations();
    let listed: BTreeSet<&str> = expected.iter().map(|(f, _)| *f).collect();
    let on_disk: BTreeSet<String> = std::fs::read_dir(corpus(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".hl7"))
        .collect();
    assert_eq!(
        on_disk.iter().map(String::as_str).collect::<BTreeSet<_>>(),
        listed
    );
    let manifest = std::fs::read_to_string(corpus("MANIFEST.md")).unwrap();
    for file in &listed {
        assert!(
            manifest.contains(&format!("`{file}`")),
            "{file} has no provenance"
        );
    }

    for (file, messages) in expected {
        let (text, out) = run(file);
        // Every message is acknowledged, in order.
        let msh = text
            .split(['\r', '\n'])
            .filter(|l| l.starts_with("MSH"))
            .count();
        assert_eq!(out.acks.len(), msh, "{file}");
        assert_eq!(out.acks.len(), messages.len(), "{file}");
        let mut indexes = Vec::new();
        for (i, (ack, want)) in out.acks.iter().zip(&messages).enumerate() {
            assert_eq!(ack.position, i as u64 + 1);
            assert_eq!(
                ack.acknowledgment_code,
                want.code,
                "{file} message {}",
                i + 1
            );
            let lines: Vec<&str> = ack.ack.split('\r').collect();
            assert_eq!(lines[1].split('|').nth(1), Some(want.code));
            assert_eq!(lines[2..], *want.errs, "{file} message {}", i + 1);
            let records: Vec<(&str, OutcomeStatus)> = ack
                .records
                .iter()
                .map(|r| (r.record_type.as_str(), r.status))
                .collect();
            assert_eq!(records, want.records, "{file} message {}", i + 1);
            // A refused record says why.
            for r in &ack.records {
                if r.status == OutcomeStatus::Rejected {
                    assert!(
                        r.reason.is_some(),
                        "{file}: a rejected record without a reason"
                    );
                }
                indexes.extend(r.index);
            }
            // Nothing from the message leaks into the ACK (the corpus holds names like these).
            for value in [
                "EVERYWOMAN",
                "XXXXXXXXXX",
                "DOE",
                "RUFUSS",
                "MotherToBe",
                "10131113",
            ] {
                assert!(!ack.ack.contains(value), "{file}: a value in the ACK");
            }
        }
        // Counts add up: every emitted record belongs to exactly one message.
        indexes.sort_unstable();
        assert_eq!(
            indexes,
            (0..out.result.records.len() as u64).collect::<Vec<_>>(),
            "{file}"
        );
        // Every error is also an issue for the HTTP answer.
        let errs: usize = messages.iter().map(|m| m.errs.len()).sum();
        assert_eq!(out.result.issues.len(), errs, "{file}");
    }
}

/// hl7apy's verdict per message of a file: `true` when it passes.
fn hl7apy_verdicts(file: &str, messages: usize) -> Vec<bool> {
    let python = revcycle_pytools::python_tool("hl7apy", &["hl7apy==1.3.5"]).join("python");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/validate_hl7apy.py");
    let output = Command::new(python)
        .arg(script)
        .arg("--own-version")
        .arg(corpus(file))
        .output()
        .expect("run hl7apy");
    let stdout = String::from_utf8_lossy(&output.stdout);
    (1..=messages)
        .map(|i| !stdout.contains(&format!(" message {i}: ")))
        .collect()
}

#[test]
fn we_never_accept_what_hl7apy_refuses() {
    for (file, messages) in expectations() {
        let verdicts = hl7apy_verdicts(file, messages.len());
        for (i, (passes, want)) in verdicts.iter().zip(&messages).enumerate() {
            if !passes {
                assert_ne!(
                    want.code,
                    "AA",
                    "{file} message {}: hl7apy refuses it",
                    i + 1
                );
                assert!(
                    want.hl7apy_accepts_because.is_none(),
                    "{file} message {}: hl7apy refuses it, update the expectation",
                    i + 1
                );
            } else if want.code != "AA" {
                assert!(
                    want.hl7apy_accepts_because.is_some(),
                    "{file} message {}: hl7apy accepts what we refuse; say why",
                    i + 1
                );
            }
        }
    }
}
