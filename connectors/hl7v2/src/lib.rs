//! HL7 v2 connector plugin (kind `ehr`, name `hl7v2`): ADT and DFT messages in, canonical
//! patients, coverages and encounters out, with one general acknowledgment (ACK) per message.
//!
//! # Parser: our own, not a crate
//!
//! The crates on crates.io were evaluated and none fits:
//! - `hl7-parser` 0.3: reads exactly five delimiters (field separator and four encoding
//!   characters), so a v2.7 truncation character spills into MSH-3 and a shorter MSH-2 is
//!   misread; its escape
//!   decoder mixes character and byte offsets (wrong or panicking on non-ASCII text around an
//!   escape), only knows `\X0D\`/`\X0A\` of the hex escapes, reads one message (no batches),
//!   and brings `nom` 7.
//! - `rust-hl7` 0.5 (self-described experimental): panics (`expect`) on a malformed `\X..\`
//!   escape and prints decoded values to stdout, which would put PHI in the service's output.
//! - `hl7-mllp-codec` 0.4: a Tokio codec, so it pulls Tokio and `bytes` into a plugin that does no
//!   I/O; the host needs an I/O-free deframer that resynchronises on garbage.
//!
//! HL7 v2 syntax is small, so [`parse`] (delimiters from MSH-1/MSH-2, escapes, null `""`) and
//! [`mllp`] are written here, with no dependency beyond the ABI crate and `serde`.
//!
//! # Operation `import`
//!
//! Input (JSON): `{"hl7": "<one message or a batch>", "ack_timestamp": "20240301120000+0000"}`.
//! `hl7` (alias `message`) holds one message or several: MSH-started messages one after the other,
//! optionally wrapped in FHS/BHS ... BTS/FTS. Segments end with CR, LF or CRLF; MLLP framing bytes
//! are ignored. `ack_timestamp` (optional, HL7 TS) is written in MSH-7 of every ACK; the current
//! UTC time when absent.
//!
//! Output (JSON): the canonical `ImportResult` (`schema_version`, `records`, `issues`,
//! `next_cursor`) with one more field, `acks`: one entry per message, in input order:
//! `{"position": 1, "control_id": "MSG0001", "message_type": "ADT^A04",
//! "acknowledgment_code": "AA", "ack": "MSH|^~\\&|...\rMSA|AA|MSG0001"}`. A host that reads the
//! output as a plain `ImportResult` ignores `acks` (unknown fields are ignored); an MLLP listener
//! frames each `ack` with [`mllp::frame`] and sends it back. Positions count messages from 1.
//!
//! Per message:
//! - `AA`: mapped. Records: the patient (PID), a coverage per IN1 (with its IN2s, GT1 as the
//!   insured when IN1-16 is empty), and for DFT^P03 an encounter (PV1, FT1 charges, DG1, PR1).
//!   Values that were dropped (e.g. a malformed SSN) give ERR segments with severity `W` and an
//!   issue each.
//! - `AE` (ERR code 101 required field missing, 102 data type error, 100 required segment
//!   missing): the message's records are all withheld; an issue per error.
//! - `AR`: the header cannot be processed: bad MSH-2 (102), MSH-9/10/12 missing (101),
//!   unsupported message type (200) or event (201), version other than 2.x (203).
//!
//! ERR-2 is `SEG^occurrence^field`, ERR-3 `code^text^HL70357`, ERR-4 `E` or `W`. Errors, issues
//! and ACKs name fields, never values. Segments before the first MSH (other than batch headers)
//! cannot be acknowledged; they give one issue without a position.
//!
//! Mapping details: PID-3 with type MR is the patient's external id and MRN (required); PID-19,
//! else PID-3 type SS, the SSN (`123-45-6789`); phones are digits only (`5551234567`).
//! `source_system` is the configured one, else MSH-4, else MSH-3. Encounter: PV1-19 is the
//! external id (required), PV1-7/PV1-8 give rendering/referring NPIs (XCN whose assigning
//! authority or identifier type is `NPI`), the service dates come from FT1-4 (PV1-44 when no
//! charge has one). Only FT1 with type `CG` become service lines; diagnoses are DG1 by DG1-15
//! priority, then FT1-19 codes not in DG1, in dotted ICD-10-CM form; FT1-19 become pointers.
//!
//! Config (all optional): `{"source_system": "...", "ack_sending_application": "...",
//! "ack_sending_facility": "..."}` (the ACK's MSH-3/MSH-4; by default the original MSH-5/MSH-6).

pub mod ack;
pub mod map;
pub use revcycle_connector_abi::mllp;
pub mod parse;

use std::fmt;

use revcycle_connector_abi::canonical::v1::{
    ImportIssue, ImportRecord, ImportResult, SCHEMA_VERSION,
};
use revcycle_connector_abi::serde_json::Value;
use revcycle_connector_abi::{
    Connector, ConnectorError, ConnectorKind, export_connector, parse_input, to_output,
};
use serde::{Deserialize, Serialize};

use crate::ack::{AckCode, AckError, AckHeader};
use crate::map::{ErrorCode, Kind, Location, MessageError, Severity};
use crate::parse::{HeaderError, Message, Separators, parse_segment, split_segments};

/// The input of `import`.
#[derive(Clone, Deserialize)]
pub struct ImportInput {
    /// One HL7 message or a batch.
    #[serde(alias = "message")]
    pub hl7: String,
    /// MSH-7 of the ACKs (HL7 TS); now when absent.
    #[serde(default)]
    pub ack_timestamp: Option<String>,
}

/// The acknowledgment of one message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageAck {
    /// The message's number in the input, from 1.
    pub position: u64,
    /// MSH-10 of the message, when it could be read.
    pub control_id: Option<String>,
    /// MSH-9.1^MSH-9.2, when it could be read.
    pub message_type: Option<String>,
    /// MSA-1: `AA`, `AE` or `AR`.
    pub acknowledgment_code: String,
    /// The ACK message, segments separated by CR.
    pub ack: String,
}

/// The output of `import`: the canonical result plus the ACKs.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportOutput {
    #[serde(flatten)]
    pub result: ImportResult,
    pub acks: Vec<MessageAck>,
}

impl fmt::Debug for ImportOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportOutput")
            .field("records", &self.result.records.len())
            .field("acks", &self.acks)
            .finish_non_exhaustive()
    }
}

/// Plugin configuration.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub source_system: Option<String>,
    pub ack_sending_application: Option<String>,
    pub ack_sending_facility: Option<String>,
}

/// The connector.
pub struct Hl7v2 {
    config: Config,
}

impl Connector for Hl7v2 {
    const NAME: &'static str = "hl7v2";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const KIND: ConnectorKind = ConnectorKind::Ehr;
    const OPERATIONS: &'static [&'static str] = &["import"];

    fn create(config: Value) -> Result<Self, ConnectorError> {
        // serde's message may quote a value: report a fixed text.
        let config: Config =
            revcycle_connector_abi::serde_json::from_value(config).map_err(|_| {
                ConnectorError::invalid_config(
                    "config accepts only the string keys source_system, ack_sending_application \
                 and ack_sending_facility",
                )
            })?;
        Ok(Hl7v2 { config })
    }

    fn invoke(&self, op: &str, input: &[u8]) -> Result<Vec<u8>, ConnectorError> {
        match op {
            "import" => {
                // JSON ({"hl7": ...}) or the raw message(s), as an MLLP listener or an HTTP
                // client sends them.
                let input: ImportInput = if input.first() == Some(&b'{') {
                    parse_input(input)?
                } else {
                    ImportInput {
                        hl7: String::from_utf8_lossy(input).into_owned(),
                        ack_timestamp: None,
                    }
                };
                to_output(&import(&self.config, &input)?)
            }
            _ => Err(ConnectorError::unknown_operation(op)),
        }
    }
}

export_connector!(Hl7v2);

/// Runs `import` (the pure function behind the operation).
pub fn import(config: &Config, input: &ImportInput) -> Result<ImportOutput, ConnectorError> {
    let timestamp = match &input.ack_timestamp {
        Some(ts) => {
            let ok = (8..=24).contains(&ts.len())
                && ts
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b"+-.".contains(&b));
            if !ok {
                return Err(ConnectorError::invalid_input(
                    "ack_timestamp must be an HL7 TS (YYYYMMDD[HHMM[SS]][+ZZZZ])",
                ));
            }
            ts.clone()
        }
        None => ack::now_timestamp(),
    };
    let (messages, orphans) = split_batch(&input.hl7);
    if messages.is_empty() {
        return Err(ConnectorError::invalid_input(
            "input holds no HL7 message (no MSH segment)",
        ));
    }
    let mut out = ImportOutput {
        result: ImportResult {
            schema_version: SCHEMA_VERSION,
            ..Default::default()
        },
        acks: Vec::new(),
    };
    if orphans > 0 {
        out.result.issues.push(ImportIssue {
            position: None,
            code: ErrorCode::SegmentSequence.issue_code().to_owned(),
            message: format!("{orphans} segment(s) outside any message were ignored"),
        });
    }
    for (i, lines) in messages.iter().enumerate() {
        let position = i as u64 + 1;
        let processed = process_message(config, lines, position, &timestamp);
        out.result.records.extend(processed.records);
        out.result.issues.extend(processed.issues);
        out.acks.push(processed.ack);
    }
    Ok(out)
}

/// Splits input into messages (lists of segment lines), dropping batch header and trailer
/// segments. Also counts segments that belong to no message.
pub fn split_batch(text: &str) -> (Vec<Vec<&str>>, usize) {
    let mut messages: Vec<Vec<&str>> = Vec::new();
    let mut orphans = 0;
    let mut open = false;
    for line in split_segments(text) {
        match segment_id(line) {
            "MSH" => {
                messages.push(vec![line]);
                open = true;
            }
            "FHS" | "BHS" | "BTS" | "FTS" => open = false,
            _ if open => {
                if let Some(current) = messages.last_mut() {
                    current.push(line);
                }
            }
            _ => orphans += 1,
        }
    }
    (messages, orphans)
}

fn segment_id(line: &str) -> &str {
    match line.get(..3) {
        Some(id)
            if line[3..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_alphanumeric()) =>
        {
            id
        }
        _ => "",
    }
}

struct Processed {
    records: Vec<ImportRecord>,
    issues: Vec<ImportIssue>,
    ack: MessageAck,
}

/// Keeps a header value only if it is plain (letters, digits, `._-` and spaces): used where
/// the delimiters are unknown.
fn plain(value: Option<&str>) -> Option<String> {
    value
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 199
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b" ._-".contains(&b))
        })
        .map(str::to_owned)
}

fn process_message(config: &Config, lines: &[&str], position: u64, timestamp: &str) -> Processed {
    let header_line = lines.first().copied().unwrap_or_default();
    let separators = match Separators::from_header(header_line) {
        Ok(seps) => seps,
        Err(HeaderError::BadEncodingCharacters | HeaderError::NotAHeader) => {
            return reject_unreadable_header(config, header_line, position, timestamp);
        }
    };
    let msg = Message {
        separators,
        segments: lines
            .iter()
            .map(|line| parse_segment(line, &separators))
            .collect(),
    };
    let msh = &msg.segments[0];
    let text = |field, comp| msg.text(msh, field, comp, 1);
    let encoded_or = |configured: &Option<String>, field| match configured {
        Some(value) => Separators::default().encode(value),
        None => ack::reencode(msh.field(field), &msg.separators),
    };
    let message_code = text(9, 1).map(|c| c.to_ascii_uppercase());
    let trigger = text(9, 2)
        .or_else(|| msg.segment("EVN").and_then(|evn| msg.text(evn, 1, 1, 1)))
        .map(|t| t.to_ascii_uppercase());
    let header = AckHeader {
        sending_application: encoded_or(&config.ack_sending_application, 5),
        sending_facility: encoded_or(&config.ack_sending_facility, 6),
        receiving_application: ack::reencode(msh.field(3), &msg.separators),
        receiving_facility: ack::reencode(msh.field(4), &msg.separators),
        trigger_event: trigger.clone(),
        control_id: text(10, 1),
        processing_id: ack::reencode(msh.field(11), &msg.separators),
    };
    let message_type = message_code.as_ref().map(|code| match &trigger {
        Some(t) => format!("{code}^{t}"),
        None => code.clone(),
    });
    let shown_type = message_type
        .as_deref()
        .and_then(|t| plain(Some(&t.replace('^', "_"))))
        .map(|t| t.replace('_', "^"));

    let msh_error = |code, field, detail| MessageError {
        code,
        severity: Severity::Error,
        location: Location {
            segment: "MSH".to_owned(),
            sequence: 1,
            field,
        },
        detail,
    };
    let mut reject = Vec::new();
    if message_code.is_none() {
        reject.push(msh_error(
            ErrorCode::RequiredFieldMissing,
            9,
            "message type is missing",
        ));
    }
    if header.control_id.is_none() {
        reject.push(msh_error(
            ErrorCode::RequiredFieldMissing,
            10,
            "message control id is missing",
        ));
    }
    match text(12, 1) {
        None => reject.push(msh_error(
            ErrorCode::RequiredFieldMissing,
            12,
            "version id is missing",
        )),
        Some(v) if !v.starts_with("2.") => reject.push(msh_error(
            ErrorCode::UnsupportedVersionId,
            12,
            "only HL7 version 2.x is supported",
        )),
        Some(_) => {}
    }
    let kind = match (message_code.as_deref(), trigger.as_deref()) {
        (None, _) => None,
        (Some("ADT"), Some("A04" | "A08" | "A28" | "A31")) => Some(Kind::Adt),
        (Some("DFT"), Some("P03")) => Some(Kind::Dft),
        (Some("ADT" | "DFT"), _) => {
            reject.push(msh_error(
                ErrorCode::UnsupportedEventCode,
                9,
                "event is not supported (ADT A04/A08/A28/A31, DFT P03)",
            ));
            None
        }
        (Some(_), _) => {
            reject.push(msh_error(
                ErrorCode::UnsupportedMessageType,
                9,
                "message type is not supported (ADT, DFT)",
            ));
            None
        }
    };

    let (records, errors, code) = match kind {
        Some(kind) if reject.is_empty() => {
            let source_system = config
                .source_system
                .clone()
                .or_else(|| text(4, 1))
                .or_else(|| text(3, 1))
                .unwrap_or_else(|| "hl7v2".to_owned());
            let mapped = map::map_message(&msg, kind, &source_system);
            let code = if mapped.errors.iter().any(|e| e.severity == Severity::Error) {
                AckCode::Error
            } else {
                AckCode::Accept
            };
            (mapped.records, mapped.errors, code)
        }
        _ => (Vec::new(), reject, AckCode::Reject),
    };
    finish(
        &header, shown_type, position, code, records, &errors, timestamp,
    )
}

/// A header whose delimiters cannot be read: AR with 102 at MSH-2. The control id is echoed
/// when it can be found by the field separator alone and is plain text.
fn reject_unreadable_header(
    config: &Config,
    line: &str,
    position: u64,
    timestamp: &str,
) -> Processed {
    let field_sep = line.get(3..).and_then(|rest| rest.chars().next());
    let fields: Vec<&str> = match field_sep {
        Some(sep) if !sep.is_alphanumeric() => line.split(sep).collect(),
        _ => Vec::new(),
    };
    let raw = |n: usize| plain(fields.get(n).copied());
    let encode = |v: &Option<String>| v.as_deref().map(|v| Separators::default().encode(v));
    let header = AckHeader {
        sending_application: encode(&config.ack_sending_application)
            .or(raw(4))
            .unwrap_or_default(),
        sending_facility: encode(&config.ack_sending_facility)
            .or(raw(5))
            .unwrap_or_default(),
        receiving_application: raw(2).unwrap_or_default(),
        receiving_facility: raw(3).unwrap_or_default(),
        trigger_event: None,
        control_id: raw(9),
        processing_id: raw(10).unwrap_or_default(),
    };
    let error = MessageError {
        code: ErrorCode::DataType,
        severity: Severity::Error,
        location: Location {
            segment: "MSH".to_owned(),
            sequence: 1,
            field: 2,
        },
        detail: "field separator or encoding characters are invalid",
    };
    finish(
        &header,
        None,
        position,
        AckCode::Reject,
        Vec::new(),
        &[error],
        timestamp,
    )
}

fn finish(
    header: &AckHeader,
    message_type: Option<String>,
    position: u64,
    code: AckCode,
    records: Vec<ImportRecord>,
    errors: &[MessageError],
    timestamp: &str,
) -> Processed {
    let label = message_type.as_deref().unwrap_or("unreadable header");
    let issues = errors
        .iter()
        .map(|e| ImportIssue {
            position: Some(position),
            code: e.code.issue_code().to_owned(),
            message: format!(
                "message {position} ({label}): {}{}: {}",
                e.location,
                match e.severity {
                    Severity::Error => "",
                    Severity::Warning => " (warning)",
                },
                e.detail
            ),
        })
        .collect();
    let ack_errors: Vec<AckError> = errors
        .iter()
        .map(|e| AckError {
            code: e.code,
            severity: e.severity,
            location: e.location.clone(),
        })
        .collect();
    let ack = MessageAck {
        position,
        control_id: header.control_id.clone(),
        message_type,
        acknowledgment_code: code.as_str().to_owned(),
        ack: ack::build(header, code, &ack_errors, timestamp),
    };
    Processed {
        records,
        issues,
        ack,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use revcycle_connector_abi::canonical::v1::{Encounter, Patient, Sex};

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
            "ERR||PID^1^19|102^Data type error^HL70357|W"
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
            "ERR||PID^1^7|102^Data type error^HL70357|E"
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
            assert_eq!(ack_lines(&out, 0)[2], err);
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
        assert_eq!(
            out.acks[0].acknowledgment_code, "AA",
            "{:?}",
            out.result.issues
        );
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
        assert!(out.result.records.is_empty());
        let errs: Vec<&str> = ack_lines(&out, 0)[2..].to_vec();
        assert_eq!(
            errs,
            [
                "ERR||DG1^1^3|102^Data type error^HL70357|E",
                "ERR||FT1^2^11|102^Data type error^HL70357|E",
                "ERR||FT1^2^25|102^Data type error^HL70357|E",
            ]
        );
    }

    #[test]
    fn dft_missing_segments_and_uncharged_procedures() {
        let out = run(
            "MSH|^~\\&|PB|HOSP|RC|BILL|20240301||DFT^P03|D1|P|2.5.1\rPID|1||M1^^^H^MR||Doe^Jane",
        );
        assert_eq!(
            ack_lines(&out, 0)[2],
            "ERR||PV1^1|100^Segment sequence error^HL70357|E"
        );
        let hl7 = format!(
            "{DFT}\rFT1|1|||20240301||CG||||1|80||||||||||||||99213\r\
             PR1|1||20610^^C4||20240301"
        );
        let out = run(&hl7);
        assert_eq!(out.acks[0].acknowledgment_code, "AA");
        assert_eq!(
            ack_lines(&out, 0)[2],
            "ERR||PR1^1^3|100^Segment sequence error^HL70357|W"
        );
        // Payments only: nothing to code, no encounter.
        let out = run(&format!("{DFT}\rFT1|1|||20240301||PY||||1|-20"));
        assert_eq!(out.acks[0].acknowledgment_code, "AA");
        assert_eq!(out.result.records.len(), 1);
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
}
