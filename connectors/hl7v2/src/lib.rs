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
mod tests {
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
        let out = run(
            "MSH|^~\\&|PB|HOSP|RC|BILL|20240301||DFT^P03|D1|P|2.5.1\rPID|1||M1^^^H^MR||Doe^Jane",
        );
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
            ack_lines(&out, 0)[2].starts_with(
                "ERR||FT1^1^6|207^Application internal error^HL70357|E||||payment (PY)"
            ),
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
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
                .unwrap();
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
}
