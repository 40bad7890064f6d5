//! HL7 v2.5.1 ADT and DFT messages to canonical records.
//!
//! Errors found while mapping are collected with their HL7 location and table 0357 code; they
//! name fields, never values.

use std::fmt;

use revcycle_connector_abi::canonical::v1::{
    Address, Coverage, CoveragePriority, Encounter, ImportRecord, LineCredit, Patient, PayerRef,
    Period, PersonName, ServiceLine, Sex, Subscriber, SubscriberRelationship,
};

use crate::parse::{Message, Presence, Repetition, Segment};

/// HL7 table 0357 (message error condition codes) as used here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// 100: required segment missing or out of order.
    SegmentSequence,
    /// 101: required field missing.
    RequiredFieldMissing,
    /// 102: data type error.
    DataType,
    /// 103: table value not found.
    TableValueNotFound,
    /// 200: unsupported message type.
    UnsupportedMessageType,
    /// 201: unsupported event code.
    UnsupportedEventCode,
    /// 203: unsupported version id.
    UnsupportedVersionId,
    /// 204: unknown key identifier (a reference to something the receiver does not know).
    UnknownKey,
    /// 206: application record locked (the record may not be changed now).
    RecordLocked,
    /// 207: application internal error (the receiver could not apply valid data).
    ApplicationInternal,
}

impl ErrorCode {
    pub fn number(self) -> u16 {
        match self {
            ErrorCode::SegmentSequence => 100,
            ErrorCode::RequiredFieldMissing => 101,
            ErrorCode::DataType => 102,
            ErrorCode::TableValueNotFound => 103,
            ErrorCode::UnsupportedMessageType => 200,
            ErrorCode::UnsupportedEventCode => 201,
            ErrorCode::UnsupportedVersionId => 203,
            ErrorCode::UnknownKey => 204,
            ErrorCode::RecordLocked => 206,
            ErrorCode::ApplicationInternal => 207,
        }
    }

    /// The table's own text for the code.
    pub fn text(self) -> &'static str {
        match self {
            ErrorCode::SegmentSequence => "Segment sequence error",
            ErrorCode::RequiredFieldMissing => "Required field missing",
            ErrorCode::DataType => "Data type error",
            ErrorCode::TableValueNotFound => "Table value not found",
            ErrorCode::UnsupportedMessageType => "Unsupported message type",
            ErrorCode::UnsupportedEventCode => "Unsupported event code",
            ErrorCode::UnsupportedVersionId => "Unsupported version id",
            ErrorCode::UnknownKey => "Unknown key identifier",
            ErrorCode::RecordLocked => "Application record locked",
            ErrorCode::ApplicationInternal => "Application internal error",
        }
    }

    /// The `ImportIssue.code` for it.
    pub fn issue_code(self) -> &'static str {
        match self {
            ErrorCode::SegmentSequence => "segment_sequence_error",
            ErrorCode::RequiredFieldMissing => "required_field_missing",
            ErrorCode::DataType => "data_type_error",
            ErrorCode::TableValueNotFound => "table_value_not_found",
            ErrorCode::UnsupportedMessageType => "unsupported_message_type",
            ErrorCode::UnsupportedEventCode => "unsupported_event_code",
            ErrorCode::UnsupportedVersionId => "unsupported_version_id",
            ErrorCode::UnknownKey => "unknown_key_identifier",
            ErrorCode::RecordLocked => "application_record_locked",
            ErrorCode::ApplicationInternal => "application_internal_error",
        }
    }
}

/// ERR-4: an error rejects the message's data; a warning drops one value and keeps the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// An ERL location: segment id, its occurrence (1-based) and field number (0 for the whole
/// segment).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub segment: String,
    pub sequence: usize,
    pub field: usize,
}

impl fmt::Display for Location {
    /// `SEG^seq^field`, as written in ERR-2 (or `SEG^seq` for a whole segment).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field == 0 {
            write!(f, "{}^{}", self.segment, self.sequence)
        } else {
            write!(f, "{}^{}^{}", self.segment, self.sequence, self.field)
        }
    }
}

/// One problem with a message. `detail` is fixed text naming the field, never a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageError {
    pub code: ErrorCode,
    pub severity: Severity,
    pub location: Location,
    pub detail: &'static str,
}

/// The message types this connector maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// ADT^A04, A08, A28, A31: patient and coverage.
    Adt,
    /// DFT^P03: patient, coverage and a coded encounter.
    Dft,
}

/// One record of a message: what it became (or why it was withheld) and where its values
/// came from.
pub struct MappedRecord {
    /// `patient`, `coverage` or `encounter`.
    pub record_type: &'static str,
    /// The segment the record starts at (`PID^1`, `IN1^2`, `PV1^1`).
    pub segment: Location,
    /// The canonical record; `None` when this plugin already rejected it.
    pub record: Option<ImportRecord>,
    /// Problems of the record: an error withholds it, a warning drops one value.
    pub errors: Vec<MessageError>,
    /// Errors in parts of an applied record (a charge that is not billed); they make the
    /// ACK an AE but do not withhold the record.
    pub part_errors: Vec<MessageError>,
    /// Why a record without errors of its own is withheld (its patient was rejected).
    pub withheld_reason: Option<&'static str>,
    /// Canonical JSON pointer (a prefix) to the HL7 location its value came from.
    pub sources: Vec<(String, Location)>,
}

impl MappedRecord {
    fn new(record_type: &'static str, segment: Location) -> Self {
        MappedRecord {
            record_type,
            segment,
            record: None,
            errors: Vec::new(),
            part_errors: Vec::new(),
            withheld_reason: None,
            sources: Vec::new(),
        }
    }
}

/// What a message mapped to.
pub struct Mapped {
    pub records: Vec<MappedRecord>,
    /// Problems of the message as a whole (a required segment missing).
    pub errors: Vec<MessageError>,
}

/// Connector settings the mapping needs.
#[derive(Clone, Debug, Default)]
pub struct MapOptions {
    pub source_system: String,
    /// The billing provider of every encounter (a group's NPI); the attending (PV1-7) when
    /// none is configured.
    pub default_billing_provider_npi: Option<String>,
}

struct Mapper<'a> {
    msg: &'a Message,
    source_system: &'a str,
    options: &'a MapOptions,
    errors: Vec<MessageError>,
}

/// Maps a message whose header was already checked. Each record stands alone: a record with
/// an error is withheld (with the records that depend on it), the others are emitted.
pub fn map_message(msg: &Message, kind: Kind, options: &MapOptions) -> Mapped {
    let mut m = Mapper {
        msg,
        source_system: &options.source_system,
        options,
        errors: Vec::new(),
    };
    let records = m.records(kind);
    Mapped {
        records,
        errors: m.errors,
    }
}

fn loc(segment: &str, sequence: usize, field: usize) -> Location {
    Location {
        segment: segment.to_owned(),
        sequence,
        field,
    }
}

fn has_error(errors: &[MessageError]) -> bool {
    errors.iter().any(|e| e.severity == Severity::Error)
}

impl Mapper<'_> {
    fn error(&mut self, code: ErrorCode, location: Location, detail: &'static str) {
        self.errors.push(MessageError {
            code,
            severity: Severity::Error,
            location,
            detail,
        });
    }

    fn warning(&mut self, code: ErrorCode, location: Location, detail: &'static str) {
        self.errors.push(MessageError {
            code,
            severity: Severity::Warning,
            location,
            detail,
        });
    }

    fn text(&self, seg: &Segment, field: usize, comp: usize) -> Option<String> {
        self.msg.text(seg, field, comp, 1)
    }

    fn rep_text(&self, rep: &Repetition, comp: usize) -> Option<String> {
        self.msg.rep_text(rep, comp, 1)
    }

    /// A DT/TS field's date as `YYYY-MM-DD`; a malformed one is an error at `location`.
    fn date(&mut self, value: Option<String>, location: Location) -> Option<String> {
        let value = value?;
        match iso_date(&value) {
            Some(date) => Some(date),
            None => {
                self.error(ErrorCode::DataType, location, "not a valid date");
                None
            }
        }
    }

    /// Administrative sex (HL7 table 0001); a value outside the table is an error, never
    /// read as unknown.
    fn sex(&mut self, seg: &Segment, field: usize, location: Location) -> Sex {
        match sex(self.text(seg, field, 1).as_deref()) {
            Some(sex) => sex,
            None => {
                self.error(
                    ErrorCode::TableValueNotFound,
                    location,
                    "administrative sex is not a value of HL7 table 0001 (F, M, O, U, A, N)",
                );
                Sex::Unknown
            }
        }
    }

    fn records(&mut self, kind: Kind) -> Vec<MappedRecord> {
        let mut records = Vec::new();
        let Some(pid) = self.msg.segment("PID") else {
            self.error(
                ErrorCode::SegmentSequence,
                loc("PID", 1, 0),
                "required segment PID is missing",
            );
            return records;
        };
        let message_errors = std::mem::take(&mut self.errors);

        let mut patient_record = MappedRecord::new("patient", loc("PID", 1, 0));
        let patient = self.patient(pid);
        patient_record.errors = std::mem::take(&mut self.errors);
        patient_record.sources = patient_sources();
        let patient_ok = !has_error(&patient_record.errors);
        let patient_id = patient.external_id.clone();
        if patient_ok {
            patient_record.record = Some(ImportRecord::Patient(patient));
        }
        records.push(patient_record);

        let guarantor = self.msg.segment("GT1");
        for (i, (in1, in2)) in in1_groups(self.msg).into_iter().enumerate() {
            let seq = i + 1;
            let mut r = MappedRecord::new("coverage", loc("IN1", seq, 0));
            let coverage = self.coverage(seq, in1, &in2, guarantor, &patient_id);
            r.errors = std::mem::take(&mut self.errors);
            r.sources = coverage_sources(seq, in1, guarantor);
            if !patient_ok {
                r.withheld_reason = Some("its patient (PID) was rejected");
            } else if !has_error(&r.errors) {
                r.record = Some(ImportRecord::Coverage(coverage));
            }
            records.push(r);
        }

        if kind == Kind::Dft {
            let mut r = MappedRecord::new("encounter", loc("PV1", 1, 0));
            let encounter = self.encounter(&patient_id, &mut r);
            r.errors.extend(std::mem::take(&mut self.errors));
            if !patient_ok {
                r.withheld_reason = Some("its patient (PID) was rejected");
            } else if let Some(e) = encounter.filter(|_| !has_error(&r.errors)) {
                r.record = Some(ImportRecord::Encounter(e));
            }
            records.push(r);
        }
        self.errors = message_errors;
        records
    }
}

mod encounter;
mod patient;
mod values;

use values::*;
pub use values::{icd10cm, iso_date};

#[cfg(test)]
mod tests;
