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
//! `next_cursor`, `ack_context`) with one more field, `acks`: one [`MessageAck`] per message,
//! in input order, as they would be if the host applied every record. A host that applies
//! the records sends `ack_context` back to `acknowledge` with its per-record outcomes and
//! gets the real ACKs; an MLLP listener frames each `ack` with [`mllp::frame`].
//!
//! # Operation `acknowledge`
//!
//! Input: the ABI's `AcknowledgeInput` (`context` = the import's `ack_context`, `outcomes` =
//! one `RecordOutcome` per record: created / updated / unchanged / rejected, with JSON
//! pointers into the canonical record for what was refused). Output: `{"acks": [MessageAck]}`.
//! The ACK of a message is:
//! - `AA` when every record of the message was applied and nothing was refused;
//! - `AE` otherwise, with one ERR per refused record or value: ERR-2 the HL7 location the
//!   value came from (`FT1^2^11`; each canonical pointer is traced back to its field, see
//!   [`mapping`]), ERR-3 the table 0357 code (101 missing, 102 data type, 103 table value,
//!   204 unknown key such as a payer or NPI not set up, 207 not applied), ERR-4 `E` (`W` for
//!   a value dropped with a warning), ERR-8 the rule text (never a value);
//! - `AR` when the header cannot be processed: bad MSH-2 (102), MSH-9/10/12 missing (101),
//!   unsupported message type (200) or event (201), version other than 2.x (203).
//!
//! Each [`MessageAck`] also lists every record of its message ([`RecordAck`]): type, first
//! segment, index into `records` (none when this plugin refused it), status and reason.
//!
//! Per message, records stand alone: the patient (PID), a coverage per IN1 (with its IN2s,
//! GT1 as the insured when IN1-16 is empty), and for DFT^P03 an encounter (PV1, FT1, DG1,
//! PR1). A record with an error is withheld (a patient's coverages and encounter with it); a
//! charge (FT1) with an error is not billed while the other charges are (the ACK is AE).
//! FT1-6 (table 0017): `CG` charge; `CD` credit reversing the charge of the same message
//! with the same FT1-2 (else FT1-23), else passed to the host as a credit of the visit
//! (`Encounter.credits`), which reverses the charge an earlier message sent with those ids
//! or refuses it (ERR at FT1-2); `PY` and `AJ` are refused (207: not posted from HL7).
//! Segments before the first MSH (other than batch headers) cannot be acknowledged; they give
//! one issue without a position.
//!
//! Mapping: [`mapping::MAPPING`] (also the README's table). Providers: the configured
//! `default_billing_provider_npi` bills, else the attending (PV1-7); the performer (FT1-20) when
//! all charges name the same one, else the attending, renders; the referring doctor (PV1-8),
//! else the orderer (FT1-21), refers. `source_system` is the configured one, else MSH-4, else
//! MSH-3.
//!
//! Config (all optional): `{"source_system": "...", "ack_sending_application": "...",
//! "ack_sending_facility": "...", "default_billing_provider_npi": "1234567893"}` (the ACK's
//! MSH-3/MSH-4 are by default the original MSH-5/MSH-6).

pub mod ack;
pub mod map;
pub mod mapping;
pub use revcycle_connector_abi::mllp;
pub mod parse;

use std::fmt;

use revcycle_connector_abi::canonical::v1::{
    ACKNOWLEDGE_OPERATION, AcknowledgeInput, FieldErrorKind, ImportIssue, ImportRecord,
    ImportResult, OutcomeStatus, RecordOutcome, SCHEMA_VERSION,
};
use revcycle_connector_abi::serde_json::Value;
use revcycle_connector_abi::{
    Connector, ConnectorError, ConnectorKind, export_connector, parse_input, to_output,
};
use serde::{Deserialize, Serialize};

pub use crate::ack::AckError;
use crate::ack::{AckCode, AckHeader};
use crate::map::{ErrorCode, Kind, Location, MapOptions, MappedRecord, MessageError, Severity};
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
    /// Every record of the message and what became of it (none for a rejected header).
    pub records: Vec<RecordAck>,
}

/// What became of one record of a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordAck {
    /// `patient`, `coverage` or `encounter`.
    #[serde(rename = "type")]
    pub record_type: String,
    /// The segment it starts at (`PID^1`, `IN1^2`, `PV1^1`).
    pub segment: String,
    /// Its place in the canonical `records`; absent when this plugin rejected it.
    pub index: Option<u64>,
    /// `created`, `updated`, `unchanged` or `rejected`.
    pub status: OutcomeStatus,
    /// Why it was withheld without an error of its own.
    pub reason: Option<String>,
    /// The ERR segments about it (errors and warnings, its parts included).
    pub errors: Vec<AckError>,
}

/// The ACK context of one message (part of `ack_context`, opaque to the host).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageContext {
    pub position: u64,
    pub header: AckHeader,
    pub message_type: Option<String>,
    /// The header could not be processed (AR).
    pub rejected: bool,
    /// Problems of the message as a whole.
    pub errors: Vec<AckError>,
    pub records: Vec<RecordContext>,
}

/// One record in the ACK context.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordContext {
    #[serde(rename = "type")]
    pub record_type: String,
    pub segment: String,
    pub index: Option<u64>,
    pub errors: Vec<AckError>,
    /// Errors in parts of the record (a charge not billed) that do not withhold it.
    pub part_errors: Vec<AckError>,
    pub withheld_reason: Option<String>,
    /// Canonical pointer prefix to the HL7 location (`FT1^2^11`) its value came from.
    pub sources: Vec<(String, String)>,
}

/// `ack_context` of the import output.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckContext {
    /// MSH-7 of the ACKs.
    pub timestamp: String,
    pub messages: Vec<MessageContext>,
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

/// The output of `acknowledge`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcknowledgeOutput {
    pub acks: Vec<MessageAck>,
}

/// Plugin configuration.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub source_system: Option<String>,
    pub ack_sending_application: Option<String>,
    pub ack_sending_facility: Option<String>,
    /// The billing provider of encounters whose message names none (PV1-7 without an NPI).
    pub default_billing_provider_npi: Option<String>,
}

/// The connector.
pub struct Hl7v2 {
    config: Config,
}

impl Connector for Hl7v2 {
    const NAME: &'static str = "hl7v2";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const KIND: ConnectorKind = ConnectorKind::Ehr;
    const OPERATIONS: &'static [&'static str] = &["import", ACKNOWLEDGE_OPERATION];

    fn create(config: Value) -> Result<Self, ConnectorError> {
        // serde's message may quote a value: report a fixed text.
        let config: Config =
            revcycle_connector_abi::serde_json::from_value(config).map_err(|_| {
                ConnectorError::invalid_config(
                    "config accepts only the string keys source_system, ack_sending_application, \
                     ack_sending_facility and default_billing_provider_npi",
                )
            })?;
        if let Some(npi) = &config.default_billing_provider_npi
            && !(npi.len() == 10 && npi.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(ConnectorError::invalid_config(
                "default_billing_provider_npi must be a 10-digit NPI",
            ));
        }
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
            ACKNOWLEDGE_OPERATION => {
                let input: AcknowledgeInput = parse_input(input)?;
                let context: AckContext = revcycle_connector_abi::serde_json::from_value(
                    input.context,
                )
                .map_err(|_| {
                    ConnectorError::invalid_input(
                        "context is not the ack_context of this plugin's import output",
                    )
                })?;
                to_output(&AcknowledgeOutput {
                    acks: acknowledge(&context, &input.outcomes),
                })
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
    let mut context = AckContext {
        timestamp,
        messages: Vec::new(),
    };
    for (i, lines) in messages.iter().enumerate() {
        let position = i as u64 + 1;
        let processed = process_message(config, lines, position);
        let mut message = processed.context;
        for (record, mapped) in message.records.iter_mut().zip(processed.records) {
            if let Some(r) = mapped {
                record.index = Some(out.result.records.len() as u64);
                out.result.records.push(r);
            }
        }
        out.result.issues.extend(processed.issues);
        context.messages.push(message);
    }
    // The ACKs if every record is applied; the host sends the real outcomes to
    // `acknowledge`.
    let applied: Vec<RecordOutcome> = (0..out.result.records.len() as u64)
        .map(|index| RecordOutcome {
            index,
            status: OutcomeStatus::Created,
            ..Default::default()
        })
        .collect();
    out.acks = acknowledge(&context, &applied);
    out.result.ack_context = Some(
        revcycle_connector_abi::serde_json::to_value(&context)
            .map_err(|_| ConnectorError::invalid_input("the ACK context could not be written"))?,
    );
    Ok(out)
}

/// The table 0357 code for a host refusal.
fn host_error_code(kind: FieldErrorKind) -> ErrorCode {
    match kind {
        FieldErrorKind::Missing => ErrorCode::RequiredFieldMissing,
        FieldErrorKind::Invalid => ErrorCode::DataType,
        FieldErrorKind::UnknownReference => ErrorCode::UnknownKey,
        FieldErrorKind::Internal => ErrorCode::ApplicationInternal,
        FieldErrorKind::Locked => ErrorCode::RecordLocked,
    }
}

/// The HL7 location a canonical pointer came from: the longest source prefix, else the
/// record's segment.
fn locate(record: &RecordContext, pointer: &str) -> String {
    record
        .sources
        .iter()
        .filter(|(prefix, _)| {
            pointer == prefix
                || pointer
                    .strip_prefix(prefix.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
        })
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(_, at)| at.clone())
        .unwrap_or_else(|| record.segment.clone())
}

/// Builds each message's ACK from what was applied: `AA` only when every record of the
/// message was applied with no error; `AE` with an ERR per refused record or value;
/// `AR` when the header could not be processed.
pub fn acknowledge(context: &AckContext, outcomes: &[RecordOutcome]) -> Vec<MessageAck> {
    context
        .messages
        .iter()
        .map(|message| {
            let mut errors = message.errors.clone();
            let mut records = Vec::new();
            for record in &message.records {
                let mut record_errors = record.errors.clone();
                record_errors.extend(record.part_errors.iter().cloned());
                let mut reason = record.withheld_reason.clone();
                let status = match record.index {
                    None => OutcomeStatus::Rejected,
                    Some(index) => match outcomes.iter().find(|o| o.index == index) {
                        None => {
                            record_errors.push(AckError::new(
                                ErrorCode::ApplicationInternal,
                                Severity::Error,
                                record.segment.clone(),
                                "the record was not applied",
                            ));
                            OutcomeStatus::Rejected
                        }
                        Some(outcome) => {
                            for e in &outcome.errors {
                                record_errors.push(AckError::new(
                                    host_error_code(e.kind),
                                    Severity::Error,
                                    locate(record, &e.pointer),
                                    &e.message,
                                ));
                            }
                            if outcome.status == OutcomeStatus::Rejected
                                && outcome.errors.is_empty()
                            {
                                record_errors.push(AckError::new(
                                    ErrorCode::ApplicationInternal,
                                    Severity::Error,
                                    record.segment.clone(),
                                    "the record was not applied",
                                ));
                            }
                            for w in &outcome.warnings {
                                record_errors.push(AckError::new(
                                    ErrorCode::DataType,
                                    Severity::Warning,
                                    locate(record, &w.pointer),
                                    &w.message,
                                ));
                            }
                            outcome.status
                        }
                    },
                };
                if status != OutcomeStatus::Rejected {
                    reason = None;
                } else if reason.is_none() {
                    reason = record_errors
                        .iter()
                        .find(|e| e.is_error())
                        .map(|e| format!("{}: {}", e.location, e.text));
                }
                errors.extend(record_errors.iter().cloned());
                records.push(RecordAck {
                    record_type: record.record_type.clone(),
                    segment: record.segment.clone(),
                    index: record.index,
                    status,
                    reason,
                    errors: record_errors,
                });
            }
            let code = if message.rejected {
                AckCode::Reject
            } else if errors.iter().any(AckError::is_error)
                || records.iter().any(|r| r.status == OutcomeStatus::Rejected)
            {
                AckCode::Error
            } else {
                AckCode::Accept
            };
            MessageAck {
                position: message.position,
                control_id: message.header.control_id.clone(),
                message_type: message.message_type.clone(),
                acknowledgment_code: code.as_str().to_owned(),
                ack: ack::build(&message.header, code, &errors, &context.timestamp),
                records,
            }
        })
        .collect()
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
    /// One per `context.records`: the canonical record, unless withheld.
    records: Vec<Option<ImportRecord>>,
    issues: Vec<ImportIssue>,
    context: MessageContext,
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

fn process_message(config: &Config, lines: &[&str], position: u64) -> Processed {
    let header_line = lines.first().copied().unwrap_or_default();
    let separators = match Separators::from_header(header_line) {
        Ok(seps) => seps,
        Err(HeaderError::BadEncodingCharacters | HeaderError::NotAHeader) => {
            return reject_unreadable_header(config, header_line, position);
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

    match kind {
        Some(kind) if reject.is_empty() => {
            let options = MapOptions {
                source_system: config
                    .source_system
                    .clone()
                    .or_else(|| text(4, 1))
                    .or_else(|| text(3, 1))
                    .unwrap_or_else(|| "hl7v2".to_owned()),
                default_billing_provider_npi: config.default_billing_provider_npi.clone(),
            };
            let mapped = map::map_message(&msg, kind, &options);
            finish(
                header,
                shown_type,
                position,
                false,
                mapped.records,
                &mapped.errors,
            )
        }
        _ => finish(header, shown_type, position, true, Vec::new(), &reject),
    }
}

/// A header whose delimiters cannot be read: AR with 102 at MSH-2. The control id is echoed
/// when it can be found by the field separator alone and is plain text.
fn reject_unreadable_header(config: &Config, line: &str, position: u64) -> Processed {
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
    finish(header, None, position, true, Vec::new(), &[error])
}

fn finish(
    header: AckHeader,
    message_type: Option<String>,
    position: u64,
    rejected: bool,
    mapped: Vec<MappedRecord>,
    errors: &[MessageError],
) -> Processed {
    let label = message_type.as_deref().unwrap_or("unreadable header");
    let issue = |e: &MessageError| ImportIssue {
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
    };
    let mut issues: Vec<ImportIssue> = errors.iter().map(issue).collect();
    let mut records = Vec::new();
    let mut contexts = Vec::new();
    for r in mapped {
        issues.extend(r.errors.iter().chain(&r.part_errors).map(issue));
        if r.record.is_none()
            && let Some(reason) = r.withheld_reason
        {
            issues.push(ImportIssue {
                position: Some(position),
                code: "dependent_record_rejected".to_owned(),
                message: format!("message {position} ({label}): {}: {reason}", r.segment),
            });
        }
        contexts.push(RecordContext {
            record_type: r.record_type.to_owned(),
            segment: r.segment.to_string(),
            index: None,
            errors: r.errors.iter().map(AckError::from).collect(),
            part_errors: r.part_errors.iter().map(AckError::from).collect(),
            withheld_reason: r.withheld_reason.map(str::to_owned),
            sources: r
                .sources
                .iter()
                .map(|(p, at): &(String, Location)| (p.clone(), at.to_string()))
                .collect(),
        });
        records.push(r.record);
    }
    Processed {
        records,
        issues,
        context: MessageContext {
            position,
            header,
            message_type,
            rejected,
            errors: errors.iter().map(AckError::from).collect(),
            records: contexts,
        },
    }
}

#[cfg(test)]
mod tests;
