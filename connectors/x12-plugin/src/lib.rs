//! Payer connector plugin (X12 5010), name `x12`, kind `payer`. It builds and parses X12 with
//! `revcycle-x12`; moving files (outbox/inbox directories, HTTP) is the host's job, configured
//! next to this plugin.
//!
//! # Configuration (JSON at create)
//!
//! Required (the files we send name who sends them and whether they are real): `submitter_name`
//! (1000A NM103), `contact_name` (1000A PER02), `contact_phone` (1000A PER04) and `production`
//! (ISA15: `true` writes `P`, `false` writes `T`). A configuration without one of them is
//! refused, naming the key: there is no placeholder contact and no silent test flag.
//!
//! Optional: `sender_id`, `receiver_id` (ISA06/ISA08 and GS02/GS03, default `REVCYCLE` /
//! `CLEARINGHOUSE`), `sender_qualifier`, `receiver_qualifier` (default `ZZ`), `submitter_id`
//! (1000A NM109, default the sender id), `contact_email` (1000A PER06), `receiver_name`
//! (1000B), `ack_requested` (ISA14, default false). The host's keys `outbox`, `inbox` (and
//! others) are ignored here.
//!
//! # Operations
//!
//! - `submit_claims`: `{claims: [ClaimSubmission], control_number, sender_id?, receiver_id?,
//!   receiver_name?, date? (CCYYMMDD), time? (HHMM), claim_filing_indicator?}` ->
//!   `SubmitClaimsOutput` (`{x12: "<837P>", receipt: SubmissionReceipt, interchanges}`).
//! - `parse_remittance`: raw 835 bytes, or `{x12: "..."}` -> `ParsedRemittances`
//!   (`{remittances: [Remittance], interchanges}`).
//! - `check_eligibility`: `{requests: [EligibilityRequest], control_number}` -> `RequestX12`
//!   (`{x12: "<270>", interchanges}`); or `{x12: "<271>"}` -> `EligibilityAnswers`
//!   (`{responses: [EligibilityResponse], interchanges}`).
//! - `claim_status`: `{requests: [ClaimStatusRequest], control_number}` -> `RequestX12`
//!   (`{x12: "<276>"}`); or `{x12: "<277>"}` (also a 277CA) -> `ClaimStatusAnswers`
//!   (`{responses: [ClaimStatusResponse], interchanges}`).
//! - `parse_ack`: raw 999/TA1 bytes or `{x12}` -> `{ta1: [...], ack999: [...]}`.
//! - `read_envelope`: raw X12 bytes or `{x12}` -> `Envelopes` (`{interchanges: [...]}`: ISA
//!   sender/receiver ids, ISA13, ISA15, GS and ST headers), read as far as the file is well
//!   formed, so the host learns what a received file is without reading X12 itself.
//!
//! Every operation that builds or reads X12 also returns its `interchanges` (canonical
//! `InterchangeEnvelope`s): the host takes control numbers from them, never from the bytes.
//!
//! Inbound X12 (835, 999/TA1, 271, 277/277CA) is first validated against its implementation
//! guide (`revcycle_x12::validate`). Malformed or non-conforming X12 is an `invalid_input`
//! error naming the segment number (in the input and in its transaction set), segment id,
//! rule and reason, never an element value, with one `errors[]` entry per finding carrying a
//! JSON pointer (`/transactions/0/segments/9/PER03`, `/transactions/0/claims/2`).

use revcycle_connector_abi::canonical::v1::{
    AckElementError, AckSegmentError, Acknowledgments, CheckEligibilityInput, ClaimStatusAnswers,
    ClaimStatusInput, EligibilityAnswers, EnvelopeOverrides, Envelopes, FunctionalGroupAck,
    InterchangeAck, ParsedRemittances, RequestX12, SubmitClaimsInput, SubmitClaimsOutput,
    TransactionSetAck,
};
use revcycle_connector_abi::civil::UtcDateTime;
use revcycle_connector_abi::{
    Connector, ConnectorError, ConnectorKind, InputIssue, export_connector, parse_input, to_output,
};
use revcycle_x12::writer::Envelope;
use revcycle_x12::x837p::{Batch837, Receiver, Submitter};
use revcycle_x12::{Delimiters, GroupHeader, InterchangeHeader, X12Error};
use serde::Deserialize;
use serde_json::Value;

/// The connector instance: its configuration.
#[derive(Clone, Debug)]
pub struct X12Connector {
    config: Config,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
struct Config {
    sender_id: String,
    receiver_id: String,
    sender_qualifier: String,
    receiver_qualifier: String,
    submitter_name: String,
    submitter_id: Option<String>,
    contact_name: String,
    contact_phone: String,
    contact_email: Option<String>,
    receiver_name: String,
    production: bool,
    ack_requested: bool,
}

/// The keys every configuration must give, and what each is in the files.
pub const REQUIRED_KEYS: &[(&str, &str)] = &[
    ("submitter_name", "the submitter's name, 1000A NM103"),
    ("contact_name", "the submitter's contact, 1000A PER02"),
    ("contact_phone", "the submitter's telephone, 1000A PER04"),
    (
        "production",
        "ISA15: true for production files (P), false for test files (T)",
    ),
];

/// The first required key `config` lacks (or gives with the wrong type), with why it is needed.
pub fn missing_required_key(config: &Value) -> Option<String> {
    for (key, what) in REQUIRED_KEYS {
        let ok = match (config.get(key), *key) {
            (Some(Value::Bool(_)), "production") => true,
            (Some(Value::String(s)), k) if k != "production" => !s.trim().is_empty(),
            _ => false,
        };
        if !ok {
            let kind = if *key == "production" {
                "a boolean"
            } else {
                "a non-empty string"
            };
            return Some(format!("config.{key} is required ({kind}: {what})"));
        }
    }
    None
}

impl Default for Config {
    fn default() -> Self {
        Config {
            sender_id: "REVCYCLE".into(),
            receiver_id: "CLEARINGHOUSE".into(),
            sender_qualifier: "ZZ".into(),
            receiver_qualifier: "ZZ".into(),
            submitter_name: String::new(),
            submitter_id: None,
            contact_name: String::new(),
            contact_phone: String::new(),
            contact_email: None,
            receiver_name: "Clearinghouse".into(),
            production: false,
            ack_requested: false,
        }
    }
}

#[derive(Deserialize)]
struct X12Input {
    x12: String,
}

/// An X12 error as a connector error: segment number, id, rule and reason (never values),
/// and its JSON pointer into the input (`/transactions/0/segments/9`).
pub fn x12_error(e: X12Error) -> ConnectorError {
    refusal(vec![e])
}

/// Refused X12 input: the first error in the message, every error with its pointer.
pub fn refusal(errors: Vec<X12Error>) -> ConnectorError {
    let message = match errors.as_slice() {
        [] => "the X12 input was refused".to_string(),
        [one] => one.to_string(),
        [first, rest @ ..] => format!("{first} (and {} more)", rest.len()),
    };
    let issues = errors
        .iter()
        .map(|e| InputIssue {
            pointer: e.pointer(),
            message: e.to_string(),
        })
        .collect();
    ConnectorError::invalid_input_at(message, issues)
}

/// Validates inbound X12 against its implementation guide (structure, element usage, code
/// lists; 835 balancing): every finding refuses the input.
fn conforming(x12: &[u8]) -> Result<(), ConnectorError> {
    let errors = revcycle_x12::validate::validate(x12);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(refusal(errors))
    }
}

/// The X12 text of an input: raw X12 (starts with `ISA` after whitespace), or JSON `{x12}`.
fn x12_text(input: &[u8]) -> Result<Vec<u8>, ConnectorError> {
    let start = input
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(input.len());
    if input[start..].starts_with(b"ISA") {
        return Ok(input[start..].to_vec());
    }
    if input[start..].starts_with(b"{") {
        let v: X12Input = parse_input(input)?;
        return Ok(v.x12.trim_start().as_bytes().to_vec());
    }
    Err(refusal(vec![
        X12Error::new(1, "?", "the input does not start with an ISA segment").with_rule("envelope"),
    ]))
}

/// Current UTC date `CCYYMMDD` and time `HHMM`.
fn now_date_time() -> (String, String) {
    let t = UtcDateTime::now();
    (
        format!("{:04}{:02}{:02}", t.year, t.month, t.day),
        format!("{:02}{:02}", t.hour, t.minute),
    )
}

fn valid_date(d: &str) -> bool {
    d.len() == 8 && d.bytes().all(|b| b.is_ascii_digit())
}

fn valid_time(t: &str) -> bool {
    t.len() == 4 && t.bytes().all(|b| b.is_ascii_digit())
}

impl X12Connector {
    /// Reads and checks the configuration.
    pub fn from_config(config: &Value) -> Result<Self, ConnectorError> {
        if let Some(reason) = missing_required_key(config) {
            return Err(ConnectorError::invalid_config(format!(
                "x12 configuration: {reason}"
            )));
        }
        let config: Config = {
            serde_json::from_value(config.clone()).map_err(|_| {
                ConnectorError::invalid_config(
                    "x12 configuration: sender/receiver ids and names must be strings, \
                     production and ack_requested booleans",
                )
            })?
        };
        let phone_digits = config
            .contact_phone
            .chars()
            .filter(char::is_ascii_digit)
            .count();
        if !(10..=20).contains(&phone_digits) {
            return Err(ConnectorError::invalid_config(
                "x12 configuration: config.contact_phone must be a telephone number of 10 to 20 \
                 digits (1000A PER04)",
            ));
        }
        for (what, id) in [
            ("sender_id", &config.sender_id),
            ("receiver_id", &config.receiver_id),
        ] {
            if id.trim().is_empty() || id.len() > 15 {
                return Err(ConnectorError::invalid_config(format!(
                    "{what} must have 1 to 15 characters"
                )));
            }
        }
        Ok(X12Connector { config })
    }

    fn envelope(
        &self,
        e: &EnvelopeOverrides,
        functional_id: &str,
    ) -> Result<Envelope, ConnectorError> {
        let control = e
            .control_number
            .ok_or_else(|| ConnectorError::invalid_input("control_number is required"))?;
        if control == 0 || control > 999_999_999 {
            return Err(ConnectorError::invalid_input(
                "control_number must be between 1 and 999999999",
            ));
        }
        let (now_d, now_t) = now_date_time();
        let date = e.date.clone().unwrap_or(now_d);
        let time = e.time.clone().unwrap_or(now_t);
        if !valid_date(&date) || !valid_time(&time) {
            return Err(ConnectorError::invalid_input(
                "date must be CCYYMMDD and time HHMM",
            ));
        }
        let sender = e
            .sender_id
            .clone()
            .unwrap_or_else(|| self.config.sender_id.clone());
        let receiver = e
            .receiver_id
            .clone()
            .unwrap_or_else(|| self.config.receiver_id.clone());
        for id in [&sender, &receiver] {
            if id.trim().is_empty() || id.len() > 15 {
                return Err(ConnectorError::invalid_input(
                    "sender_id and receiver_id must have 1 to 15 characters",
                ));
            }
        }
        Ok(Envelope {
            interchange: InterchangeHeader {
                sender_qualifier: self.config.sender_qualifier.clone(),
                sender_id: sender.clone(),
                receiver_qualifier: self.config.receiver_qualifier.clone(),
                receiver_id: receiver.clone(),
                date: date[2..].to_owned(),
                time: time.clone(),
                control_number: control,
                ack_requested: self.config.ack_requested,
                production: self.config.production,
            },
            group: GroupHeader {
                functional_id: functional_id.into(),
                sender_code: sender,
                receiver_code: receiver,
                date,
                time,
                control_number: control,
                version: String::new(),
            },
            transaction_control_number: format!("{:04}", control % 10_000),
        })
    }

    /// `submit_claims`: one 837P interchange for all claims.
    pub fn submit_claims(&self, input: &[u8]) -> Result<Value, ConnectorError> {
        let input: SubmitClaimsInput = parse_input(input)?;
        if input.claims.is_empty() {
            return Err(ConnectorError::invalid_input("claims must not be empty"));
        }
        let env = self.envelope(&input.envelope, "HC")?;
        let receiver_id = env.interchange.receiver_id.clone();
        let mut batch = Batch837::new(
            env.interchange,
            env.group,
            Submitter {
                name: self.config.submitter_name.clone(),
                id: self
                    .config
                    .submitter_id
                    .clone()
                    .unwrap_or_else(|| self.config.sender_id.clone()),
                contact_name: self.config.contact_name.clone(),
                phone: self.config.contact_phone.clone(),
                email: self.config.contact_email.clone(),
            },
            // 1000B names the receiver the envelope is addressed to.
            Receiver {
                name: input
                    .receiver_name
                    .clone()
                    .unwrap_or_else(|| self.config.receiver_name.clone()),
                id: receiver_id,
            },
        );
        batch.transaction_control_number = env.transaction_control_number;
        if let Some(f) = input.claim_filing_indicator {
            batch.claim_filing_indicator = f;
        }
        let (bytes, summary) = revcycle_x12::x837p::write_837p(
            Vec::new(),
            &batch,
            &input.claims,
            Delimiters::default(),
            true,
        )
        .map_err(x12_error)?;
        let x12 = String::from_utf8(bytes)
            .map_err(|_| ConnectorError::internal("the 837P is not UTF-8"))?;
        output(&SubmitClaimsOutput {
            envelopes: envelopes(x12.as_bytes())?,
            receipt: summary.receipt(None),
            x12,
        })
    }

    /// `check_eligibility`: a 270 out, or a 271 in.
    pub fn check_eligibility(&self, input: &[u8]) -> Result<Value, ConnectorError> {
        let input: CheckEligibilityInput = parse_input(input)?;
        if let Some(x12) = input.x12 {
            conforming(x12.trim_start().as_bytes())?;
            let responses = revcycle_x12::eligibility::parse_271(x12.trim_start().as_bytes())
                .map_err(x12_error)?;
            return output(&EligibilityAnswers {
                responses,
                envelopes: envelopes(x12.trim_start().as_bytes())?,
            });
        }
        if input.requests.is_empty() {
            return Err(ConnectorError::invalid_input(
                "give requests (to build a 270) or x12 (a 271 to parse)",
            ));
        }
        let env = self.envelope(&input.envelope, "HS")?;
        let originator = format!("9{:0>9}", digits_or(&self.config.sender_id));
        let out =
            revcycle_x12::eligibility::write_270(Vec::new(), &env, &originator, &input.requests)
                .map_err(x12_error)?;
        let x12 = String::from_utf8(out).map_err(|_| ConnectorError::internal("270 not UTF-8"))?;
        output(&RequestX12 {
            envelopes: envelopes(x12.as_bytes())?,
            x12,
        })
    }

    /// `claim_status`: a 276 out, or a 277 (277CA) in.
    pub fn claim_status(&self, input: &[u8]) -> Result<Value, ConnectorError> {
        let input: ClaimStatusInput = parse_input(input)?;
        if let Some(x12) = input.x12 {
            conforming(x12.trim_start().as_bytes())?;
            let responses =
                revcycle_x12::status::parse_277(x12.trim_start().as_bytes()).map_err(x12_error)?;
            return output(&ClaimStatusAnswers {
                responses,
                envelopes: envelopes(x12.trim_start().as_bytes())?,
            });
        }
        if input.requests.is_empty() {
            return Err(ConnectorError::invalid_input(
                "give requests (to build a 276) or x12 (a 277 to parse)",
            ));
        }
        let env = self.envelope(&input.envelope, "HR")?;
        let receiver = revcycle_x12::status::InformationReceiver {
            name: self.config.submitter_name.clone(),
            id: self
                .config
                .submitter_id
                .clone()
                .unwrap_or_else(|| self.config.sender_id.clone()),
        };
        let out = revcycle_x12::status::write_276(Vec::new(), &env, &receiver, &input.requests)
            .map_err(x12_error)?;
        let x12 = String::from_utf8(out).map_err(|_| ConnectorError::internal("276 not UTF-8"))?;
        output(&RequestX12 {
            envelopes: envelopes(x12.as_bytes())?,
            x12,
        })
    }
}

/// The digits of `s`, or `0` when it has none (TRN03 originator ids are numeric).
fn digits_or(s: &str) -> String {
    let d: String = s.chars().filter(char::is_ascii_digit).take(9).collect();
    if d.is_empty() { "0".into() } else { d }
}

/// `parse_remittance`.
pub fn parse_remittance(input: &[u8]) -> Result<Value, ConnectorError> {
    let text = x12_text(input)?;
    conforming(&text)?;
    let remittances = revcycle_x12::x835::parse_835_bytes(&text).map_err(x12_error)?;
    output(&ParsedRemittances {
        remittances,
        envelopes: envelopes(&text)?,
    })
}

/// An operation's typed output as the JSON the host reads.
fn output<T: serde::Serialize>(out: &T) -> Result<Value, ConnectorError> {
    serde_json::to_value(out).map_err(|_| ConnectorError::internal("the output is not JSON"))
}

/// The envelopes of X12 this plugin built or has validated.
fn envelopes(x12: &[u8]) -> Result<Envelopes, ConnectorError> {
    revcycle_x12::envelope::read_envelopes(x12).map_err(x12_error)
}

/// `read_envelope`: what a received file is (its ISA, GS and ST headers), read as far as it is
/// well formed; the file is not validated (the parse operations do that).
pub fn read_envelope(input: &[u8]) -> Result<Value, ConnectorError> {
    let text = x12_text(input)?;
    serde_json::to_value(envelopes(&text)?)
        .map_err(|_| ConnectorError::internal("the envelopes do not serialize"))
}

/// `parse_ack`: TA1 and 999 acknowledgments.
pub fn parse_ack(input: &[u8]) -> Result<Value, ConnectorError> {
    let text = x12_text(input)?;
    conforming(&text)?;
    let acks = revcycle_x12::ack::parse_acks(text.as_slice()).map_err(x12_error)?;
    let out = Acknowledgments {
        ta1: acks.ta1.iter().map(interchange_ack).collect(),
        ack999: acks.ack999.iter().map(group_ack).collect(),
        interchanges: envelopes(&text)?.interchanges,
    };
    serde_json::to_value(out)
        .map_err(|_| ConnectorError::internal("the acknowledgments do not serialize"))
}

fn interchange_ack(t: &revcycle_x12::ack::Ta1) -> InterchangeAck {
    InterchangeAck {
        control_number: t.control_number.clone(),
        date: t.date.clone(),
        time: t.time.clone(),
        status: t.status.clone(),
        note_code: t.note_code.clone(),
        accepted: t.accepted(),
    }
}

fn group_ack(a: &revcycle_x12::ack::Ack999) -> FunctionalGroupAck {
    FunctionalGroupAck {
        functional_id: a.functional_id.clone(),
        group_control_number: a.group_control_number.clone(),
        version: a.version.clone(),
        status: a.status.clone(),
        accepted: a.accepted(),
        included: a.included,
        received: a.received,
        accepted_count: a.accepted,
        codes: a.codes.clone(),
        transactions: a
            .transactions
            .iter()
            .map(|t| TransactionSetAck {
                transaction_id: t.transaction_id.clone(),
                control_number: t.control_number.clone(),
                implementation: t.implementation.clone(),
                status: t.status.clone(),
                accepted: t.accepted(),
                codes: t.codes.clone(),
                errors: t
                    .errors
                    .iter()
                    .map(|e| AckSegmentError {
                        segment_id: e.segment_id.clone(),
                        position: e.position,
                        loop_id: e.loop_id.clone(),
                        code: e.code.clone(),
                        elements: e
                            .elements
                            .iter()
                            .map(|x| AckElementError {
                                position: x.position,
                                component: x.component,
                                element_reference: x.element_reference.clone(),
                                code: x.code.clone(),
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

impl Connector for X12Connector {
    const NAME: &'static str = "x12";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const KIND: ConnectorKind = ConnectorKind::Payer;
    const OPERATIONS: &'static [&'static str] = &[
        "submit_claims",
        "parse_remittance",
        "check_eligibility",
        "claim_status",
        "parse_ack",
        "read_envelope",
    ];

    fn create(config: Value) -> Result<Self, ConnectorError> {
        Self::from_config(&config)
    }

    fn invoke(&self, op: &str, input: &[u8]) -> Result<Vec<u8>, ConnectorError> {
        let out = match op {
            "submit_claims" => self.submit_claims(input)?,
            "parse_remittance" => parse_remittance(input)?,
            "check_eligibility" => self.check_eligibility(input)?,
            "claim_status" => self.claim_status(input)?,
            "parse_ack" => parse_ack(input)?,
            "read_envelope" => read_envelope(input)?,
            _ => return Err(ConnectorError::unknown_operation(op)),
        };
        to_output(&out)
    }
}

export_connector!(X12Connector);
