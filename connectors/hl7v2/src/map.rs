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

    // ----- PID ------------------------------------------------------------------------------

    fn patient(&mut self, pid: &Segment) -> Patient {
        let mut patient = Patient {
            source_system: self.source_system.to_owned(),
            ..Default::default()
        };
        let mut ss_from_ids = None;
        for rep in pid.repetitions(3) {
            let kind = self.rep_text(rep, 5).map(|k| k.to_ascii_uppercase());
            match kind.as_deref() {
                Some("MR") if patient.mrn.is_none() => {
                    patient.mrn = self.rep_text(rep, 1);
                    patient.mrn_system = self.assigning_authority(rep);
                }
                Some("SS") if ss_from_ids.is_none() => ss_from_ids = self.rep_text(rep, 1),
                _ => {}
            }
        }
        match (&patient.mrn, &patient.mrn_system) {
            // The same MRN under two assigning authorities is two patients.
            (Some(mrn), Some(authority)) => patient.external_id = format!("{mrn}^^^{authority}"),
            (Some(mrn), None) => patient.external_id = mrn.clone(),
            (None, _) => self.error(
                ErrorCode::RequiredFieldMissing,
                loc("PID", 1, 3),
                "patient identifier list has no identifier of type MR",
            ),
        }

        let names: Vec<PersonName> = pid
            .repetitions(5)
            .iter()
            .filter_map(|rep| {
                let name = self.person_name(rep);
                let kind = self.rep_text(rep, 7);
                (!name.family.is_empty() || !name.given.is_empty()).then_some((name, kind))
            })
            .enumerate()
            .map(|(i, (name, kind))| (kind.as_deref() == Some("L"), i, name))
            .fold(Vec::new(), |mut acc, (legal, i, name)| {
                // The legal name goes first; others keep their order.
                if legal && !acc.iter().any(|(l, _, _)| *l) {
                    acc.insert(0, (true, i, name));
                } else {
                    acc.push((false, i, name));
                }
                acc
            })
            .into_iter()
            .map(|(_, _, name)| name)
            .collect();
        let mut names = names.into_iter();
        match names.next() {
            Some(name) => patient.name = name,
            None => self.error(
                ErrorCode::RequiredFieldMissing,
                loc("PID", 1, 5),
                "patient name is missing",
            ),
        }
        patient.other_names = names.collect();

        patient.birth_date = self.date(self.text(pid, 7, 1), loc("PID", 1, 7));
        patient.sex = self.sex(pid, 8, loc("PID", 1, 8));
        patient.address = self.address(pid.repetitions(11));
        let (phone, email) = self.telecom(pid.repetitions(13));
        patient.phone = phone;
        patient.email = email;

        let ssn = self.text(pid, 19, 1).or(ss_from_ids);
        if let Some(ssn) = ssn {
            patient.ssn = normalize_ssn(&ssn);
            if patient.ssn.is_none() {
                self.warning(
                    ErrorCode::DataType,
                    loc("PID", 1, 19),
                    "social security number is not 9 digits; dropped",
                );
            }
        }
        patient
    }

    /// CX-4, the assigning authority (HD): its universal id when there is one (an ISO OID
    /// reads as `urn:oid:...`, the form FHIR uses for the same authority), else its namespace id.
    fn assigning_authority(&self, rep: &Repetition) -> Option<String> {
        let universal = self.msg.rep_text(rep, 4, 2);
        let universal_type = self.msg.rep_text(rep, 4, 3);
        match (universal, universal_type) {
            (Some(oid), Some(t)) if t.eq_ignore_ascii_case("ISO") => Some(format!("urn:oid:{oid}")),
            (Some(id), _) => Some(id),
            (None, _) => self.msg.rep_text(rep, 4, 1),
        }
    }

    /// An XPN repetition.
    fn person_name(&self, rep: &Repetition) -> PersonName {
        PersonName {
            family: self.rep_text(rep, 1).unwrap_or_default(),
            given: [2, 3]
                .iter()
                .filter_map(|&c| self.rep_text(rep, c))
                .collect(),
            suffix: self.rep_text(rep, 4),
            prefix: self.rep_text(rep, 5),
        }
    }

    /// The first home (or mailing, or untyped) XAD repetition.
    fn address(&self, reps: &[Repetition]) -> Option<Address> {
        let pick = reps.iter().filter(|r| !r.is_empty()).min_by_key(|r| {
            match self.rep_text(r, 7).as_deref() {
                Some("H") => 0,
                Some("M") | Some("P") | None => 1,
                _ => 2,
            }
        })?;
        let lines: Vec<String> = [1, 2]
            .iter()
            .filter_map(|&c| self.msg.rep_text(pick, c, 1))
            .collect();
        let country = self.rep_text(pick, 6).and_then(|c| country(&c));
        Some(Address {
            lines,
            city: self.rep_text(pick, 3).unwrap_or_default(),
            state: self.rep_text(pick, 4).unwrap_or_default(),
            postal_code: self.rep_text(pick, 5).unwrap_or_default(),
            country,
        })
    }

    /// Phone (first XTN that is not e-mail; home before others) and e-mail.
    fn telecom(&self, reps: &[Repetition]) -> (Option<String>, Option<String>) {
        let mut phone: Option<(u8, String)> = None;
        let mut email = None;
        for rep in reps {
            let use_code = self.rep_text(rep, 2);
            let equipment = self.rep_text(rep, 3);
            if use_code.as_deref() == Some("NET") || equipment.as_deref() == Some("Internet") {
                if email.is_none() {
                    email = self.rep_text(rep, 4);
                }
                continue;
            }
            let digits: String = match (self.rep_text(rep, 6), self.rep_text(rep, 7)) {
                (area, Some(local)) => format!("{}{}", area.unwrap_or_default(), local),
                _ => self.rep_text(rep, 1).unwrap_or_default(),
            }
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
            let digits = match digits.strip_prefix('1') {
                Some(rest) if digits.len() == 11 => rest.to_owned(),
                _ => digits,
            };
            if digits.is_empty() {
                continue;
            }
            let rank = match use_code.as_deref() {
                Some("PRN") => 0,
                None => 1,
                _ => 2,
            };
            if phone.as_ref().is_none_or(|(best, _)| rank < *best) {
                phone = Some((rank, digits));
            }
        }
        (phone.map(|(_, p)| p), email)
    }

    // ----- IN1 / IN2 / GT1 ----------------------------------------------------------------

    fn coverage(
        &mut self,
        seq: usize,
        in1: &Segment,
        in2: &[&Segment],
        guarantor: Option<&Segment>,
        patient_external_id: &str,
    ) -> Coverage {
        let payer = PayerRef {
            name: self.text(in1, 4, 1).unwrap_or_default(),
            payer_id: self.text(in1, 3, 1),
        };
        if payer.name.is_empty() && payer.payer_id.is_none() {
            self.error(
                ErrorCode::RequiredFieldMissing,
                loc("IN1", seq, 3),
                "insurance company id and name are both missing",
            );
        }
        // Member id: IN1-36 policy number, else IN1-49 insured's id, else the Medicare (IN2-6)
        // or Medicaid (IN2-8) number.
        let member_id = self
            .text(in1, 36, 1)
            .or_else(|| self.text(in1, 49, 1))
            .or_else(|| in2.iter().find_map(|s| self.text(s, 6, 1)))
            .or_else(|| in2.iter().find_map(|s| self.text(s, 8, 1)));
        if member_id.is_none() {
            self.error(
                ErrorCode::RequiredFieldMissing,
                loc("IN1", seq, 36),
                "policy (member) number is missing",
            );
        }
        let relationship = relationship(self.text(in1, 17, 1).as_deref());
        let start = self.date(self.text(in1, 12, 1), loc("IN1", seq, 12));
        let end = self.date(self.text(in1, 13, 1), loc("IN1", seq, 13));
        let priority = match self.text(in1, 22, 1).as_deref() {
            Some("1") => CoveragePriority::Primary,
            Some("2") => CoveragePriority::Secondary,
            Some("3") => CoveragePriority::Tertiary,
            _ => match seq {
                1 => CoveragePriority::Primary,
                2 => CoveragePriority::Secondary,
                _ => CoveragePriority::Tertiary,
            },
        };
        let subscriber = if relationship == SubscriberRelationship::SelfInsured {
            None
        } else {
            Some(self.subscriber(seq, in1, guarantor, member_id.clone()))
        };
        let plan = in1.repetitions(2).first();
        Coverage {
            source_system: self.source_system.to_owned(),
            external_id: None,
            patient_external_id: patient_external_id.to_owned(),
            payer,
            member_id: member_id.unwrap_or_default(),
            group_number: self.text(in1, 8, 1),
            group_name: self.text(in1, 9, 1),
            plan_name: plan.and_then(|p| self.rep_text(p, 2).or_else(|| self.rep_text(p, 1))),
            relationship,
            subscriber,
            priority,
            period: Period { start, end },
        }
    }

    /// The insured from IN1-16/18/19/43, or from the guarantor (GT1-3/5/8/9) when IN1-16 is
    /// empty.
    fn subscriber(
        &mut self,
        seq: usize,
        in1: &Segment,
        guarantor: Option<&Segment>,
        member_id: Option<String>,
    ) -> Subscriber {
        let (seg, id, name, address, dob, sex_field) =
            match (in1.repetitions(16).first(), guarantor) {
                (Some(rep), _) if !rep.is_empty() => (in1, "IN1", rep, 19, 18, 43),
                (_, Some(gt1)) if !gt1.repetitions(3).is_empty() => {
                    (gt1, "GT1", &gt1.repetitions(3)[0], 5, 8, 9)
                }
                _ => {
                    return Subscriber {
                        member_id,
                        ..Default::default()
                    };
                }
            };
        let sequence = if id == "IN1" { seq } else { 1 };
        Subscriber {
            member_id,
            name: self.person_name(name),
            birth_date: self.date(self.text(seg, dob, 1), loc(id, sequence, dob)),
            sex: self.sex(seg, sex_field, loc(id, sequence, sex_field)),
            address: self.address(seg.repetitions(address)),
        }
    }

    // ----- PV1 / FT1 / DG1 / PR1 ----------------------------------------------------------

    fn encounter(&mut self, patient_external_id: &str, r: &mut MappedRecord) -> Option<Encounter> {
        let Some(pv1) = self.msg.segment("PV1") else {
            self.error(
                ErrorCode::SegmentSequence,
                loc("PV1", 1, 0),
                "required segment PV1 is missing",
            );
            return None;
        };
        let external_id = self.text(pv1, 19, 1);
        if external_id.is_none() {
            self.error(
                ErrorCode::RequiredFieldMissing,
                loc("PV1", 1, 19),
                "visit number is missing",
            );
        }
        let attending = self.npi(pv1, 7, loc("PV1", 1, 7));
        let referring = self.npi(pv1, 8, loc("PV1", 1, 8));
        let admit = self.date(self.text(pv1, 44, 1), loc("PV1", 1, 44));

        let mut diagnoses = self.diagnoses();
        let mut sources = vec![
            ("/external_id".to_owned(), loc("PV1", 1, 19)),
            ("/patient_external_id".to_owned(), loc("PID", 1, 3)),
            ("/billing_provider_npi".to_owned(), loc("PV1", 1, 7)),
            ("/referring_provider_npi".to_owned(), loc("PV1", 1, 8)),
            ("/rendering_provider_npi".to_owned(), loc("PV1", 1, 7)),
            ("/date_of_service".to_owned(), loc("PV1", 1, 44)),
            ("/end_date".to_owned(), loc("PV1", 1, 44)),
        ];
        let mut dx_sources: Vec<(String, Location)> = self
            .msg
            .segments("DG1")
            .enumerate()
            .filter_map(|(i, dg1)| {
                let code = icd10cm(&self.text(dg1, 3, 1)?)?;
                Some((code, loc("DG1", i + 1, 3)))
            })
            .collect();

        let ft1s: Vec<&Segment> = self.msg.segments("FT1").collect();
        if ft1s.is_empty() {
            self.error(
                ErrorCode::SegmentSequence,
                loc("FT1", 1, 0),
                "required segment FT1 is missing",
            );
        }
        // Each FT1 stands alone: a bad charge is not billed, the others are.
        let mut lines: Vec<(usize, ServiceLine)> = Vec::new();
        let mut credits = Vec::new();
        for (i, ft1) in ft1s.iter().enumerate() {
            let seq = i + 1;
            let record_errors = std::mem::take(&mut self.errors);
            let mapped = self.transaction(seq, ft1);
            let line_errors = std::mem::replace(&mut self.errors, record_errors);
            let failed = has_error(&line_errors);
            r.part_errors.extend(line_errors);
            if failed {
                continue;
            }
            match mapped {
                Some(Transaction::Charge(mut line, codes)) => {
                    for code in codes {
                        let index = match diagnoses.iter().position(|d| *d == code) {
                            Some(i) => i,
                            None => {
                                dx_sources.push((code.clone(), loc("FT1", seq, 19)));
                                diagnoses.push(code);
                                diagnoses.len() - 1
                            }
                        };
                        let pointer = u8::try_from(index + 1).unwrap_or(u8::MAX);
                        if !line.diagnosis_pointers.contains(&pointer)
                            && line.diagnosis_pointers.len() < 4
                        {
                            line.diagnosis_pointers.push(pointer);
                        }
                    }
                    lines.push((seq, *line));
                }
                Some(Transaction::Credit(keys)) => credits.push((seq, keys)),
                None => {}
            }
        }
        // A credit (CD) reverses the charge of this message with the same transaction id
        // (FT1-2), else the same filler order number (FT1-23); a credit that names no charge
        // of this message goes to the host, which reverses the charge of an earlier message
        // of the visit with those ids (or refuses it, naming FT1-2).
        let mut earlier_credits: Vec<(usize, LineCredit)> = Vec::new();
        for (seq, (transaction_id, filler_order)) in credits {
            let found = lines
                .iter()
                .position(|(_, l)| {
                    transaction_id.is_some() && l.line_control_number == transaction_id
                })
                .or_else(|| {
                    lines.iter().position(|(_, l)| {
                        filler_order.is_some() && l.filler_order_number == filler_order
                    })
                });
            match found {
                Some(i) => {
                    lines.remove(i);
                }
                None if transaction_id.is_none() && filler_order.is_none() => {
                    r.part_errors.push(MessageError {
                        code: ErrorCode::RequiredFieldMissing,
                        severity: Severity::Error,
                        location: loc("FT1", seq, 2),
                        detail: "credit (CD) names no charge: transaction id (FT1-2) and \
                                 filler order number (FT1-23) are both missing",
                    })
                }
                None => earlier_credits.push((
                    seq,
                    LineCredit {
                        transaction_id,
                        filler_order_number: filler_order,
                    },
                )),
            }
        }
        let line_list: Vec<ServiceLine> = lines.iter().map(|(_, l)| l.clone()).collect();
        let pr1_errors = std::mem::take(&mut self.errors);
        self.procedures(&line_list);
        r.part_errors
            .extend(std::mem::replace(&mut self.errors, pr1_errors));

        for (i, code) in diagnoses.iter().enumerate() {
            if let Some((_, at)) = dx_sources.iter().find(|(c, _)| c == code) {
                sources.push((format!("/diagnoses/{i}"), at.clone()));
            }
        }

        // Rendering: the performing provider (FT1-20) when every charge names the same one,
        // else the attending (PV1-7). Referring: PV1-8, else the ordering provider (FT1-21).
        // Billing: the connector's default billing provider, else the attending (PV1-7).
        let performers: Vec<Option<String>> = lines
            .iter()
            .map(|(_, l)| l.rendering_provider_npi.clone())
            .collect();
        let common_performer = match performers.first() {
            Some(Some(first)) if performers.iter().all(|p| p.as_ref() == Some(first)) => {
                Some(first.clone())
            }
            _ => None,
        };
        let rendering = common_performer.clone().or_else(|| attending.clone());
        if common_performer.is_some()
            && let Some((seq, _)) = lines.first()
        {
            sources.push(("/rendering_provider_npi".to_owned(), loc("FT1", *seq, 20)));
        }
        let ordering = ft1s.iter().enumerate().find_map(|(i, ft1)| {
            let npi = self.plain_npi(ft1, 21)?;
            Some((i + 1, npi))
        });
        let referring = match (referring, ordering) {
            (Some(r), _) => Some(r),
            (None, Some((seq, npi))) if Some(&npi) != rendering.as_ref() => {
                sources.push(("/referring_provider_npi".to_owned(), loc("FT1", seq, 21)));
                Some(npi)
            }
            _ => None,
        };
        // A configured default wins: a group practice bills under its own NPI, and its feed's
        // attending is the individual who rendered.
        let billing = self
            .options
            .default_billing_provider_npi
            .clone()
            .or_else(|| attending.clone());

        let mut out_lines = Vec::new();
        for (n, (seq, mut line)) in lines.into_iter().enumerate() {
            line.line_number = Some(n as u32 + 1);
            if line.rendering_provider_npi == rendering {
                line.rendering_provider_npi = None;
            }
            let at = |field| loc("FT1", seq, field);
            let base = format!("/service_lines/{n}");
            sources.push((base.clone(), at(0)));
            for (member, field) in [
                ("procedure_code", procedure_field(ft1s[seq - 1])),
                ("modifiers", 26),
                ("units", 10),
                ("charge", 11),
                ("diagnosis_pointers", 19),
                ("service_date", 4),
                ("rendering_provider_npi", 20),
                ("line_control_number", 2),
            ] {
                sources.push((format!("{base}/{member}"), at(field)));
            }
            if n == 0 {
                sources.push(("/date_of_service".to_owned(), at(4)));
            }
            out_lines.push(line);
        }
        let mut dates: Vec<&String> = out_lines
            .iter()
            .filter_map(|l| l.service_date.as_ref())
            .collect();
        dates.sort();
        let date_of_service = dates.first().map(|d| (*d).clone()).or(admit);
        let end_date = dates
            .last()
            .filter(|last| Some(**last) != dates.first().copied())
            .map(|d| (*d).clone());
        for (k, (seq, _)) in earlier_credits.iter().enumerate() {
            sources.push((format!("/credits/{k}"), loc("FT1", *seq, 2)));
        }
        r.sources = sources;
        if out_lines.is_empty() && earlier_credits.is_empty() {
            if has_error(&r.part_errors) {
                r.withheld_reason = Some("none of its charges (FT1) can be billed");
            } else if !ft1s.is_empty() && !has_error(&self.errors) {
                // Every charge was credited.
                self.error(
                    ErrorCode::SegmentSequence,
                    loc("FT1", 1, 0),
                    "no charge (FT1 of type CG) of this message is left to bill",
                );
            }
            return None;
        }
        Some(Encounter {
            source_system: self.source_system.to_owned(),
            external_id: external_id.unwrap_or_default(),
            patient_external_id: patient_external_id.to_owned(),
            date_of_service: date_of_service.unwrap_or_default(),
            end_date,
            place_of_service: None,
            billing_provider_npi: billing,
            rendering_provider_npi: rendering,
            referring_provider_npi: referring,
            service_facility_npi: None,
            diagnoses,
            service_lines: out_lines,
            credits: earlier_credits.into_iter().map(|(_, c)| c).collect(),
        })
    }

    /// An NPI in an XCN field without reporting errors (a malformed one is reported where
    /// the field is read as the line's provider).
    fn plain_npi(&self, seg: &Segment, field: usize) -> Option<String> {
        seg.repetitions(field).iter().find_map(|rep| {
            let is_npi = [self.rep_text(rep, 9), self.rep_text(rep, 13)]
                .iter()
                .flatten()
                .any(|v| v.eq_ignore_ascii_case("NPI"));
            self.rep_text(rep, 1)
                .filter(|v| is_npi && v.len() == 10 && v.bytes().all(|b| b.is_ascii_digit()))
        })
    }

    /// The NPI among the repetitions of an XCN field: the id whose assigning authority (XCN-9)
    /// or identifier type (XCN-13) is `NPI`.
    fn npi(&mut self, seg: &Segment, field: usize, location: Location) -> Option<String> {
        let found = seg.repetitions(field).iter().find_map(|rep| {
            let authority = self.rep_text(rep, 9);
            let id_type = self.rep_text(rep, 13);
            let is_npi = [authority, id_type]
                .iter()
                .flatten()
                .any(|v| v.eq_ignore_ascii_case("NPI"));
            if is_npi { self.rep_text(rep, 1) } else { None }
        })?;
        if found.len() == 10 && found.bytes().all(|b| b.is_ascii_digit()) {
            Some(found)
        } else {
            self.error(ErrorCode::DataType, location, "NPI is not 10 digits");
            None
        }
    }

    /// DG1 codes, principal (DG1-15 = 1) first, then by priority and order of appearance.
    fn diagnoses(&mut self) -> Vec<String> {
        let mut found: Vec<(u32, usize, String)> = Vec::new();
        let dg1s: Vec<&Segment> = self.msg.segments("DG1").collect();
        for (i, dg1) in dg1s.into_iter().enumerate() {
            let seq = i + 1;
            let code = self.text(dg1, 3, 1);
            let system = self.text(dg1, 3, 3);
            let Some(code) = code else {
                self.error(
                    ErrorCode::RequiredFieldMissing,
                    loc("DG1", seq, 3),
                    "diagnosis code is missing",
                );
                continue;
            };
            let icd9 = system
                .as_deref()
                .is_some_and(|s| matches!(s.to_ascii_uppercase().as_str(), "I9" | "I9C" | "ICD9"));
            let Some(code) = icd10cm(&code).filter(|_| !icd9) else {
                self.error(
                    ErrorCode::DataType,
                    loc("DG1", seq, 3),
                    "diagnosis code is not an ICD-10-CM code",
                );
                continue;
            };
            let priority = self
                .text(dg1, 15, 1)
                .and_then(|p| p.parse::<u32>().ok())
                .filter(|&p| p > 0)
                .unwrap_or(u32::MAX);
            found.push((priority, i, code));
        }
        found.sort_by_key(|(priority, i, _)| (*priority, *i));
        let mut codes: Vec<String> = Vec::new();
        for (_, _, code) in found {
            if !codes.contains(&code) {
                codes.push(code);
            }
        }
        codes
    }

    /// One FT1. Errors go to `self.errors` (the caller scopes them to this transaction).
    fn transaction(&mut self, seq: usize, ft1: &Segment) -> Option<Transaction> {
        let at = |field| loc("FT1", seq, field);
        match self
            .text(ft1, 6, 1)
            .map(|t| t.to_ascii_uppercase())
            .as_deref()
        {
            Some("CG") => {}
            Some("CD") => {
                return Some(Transaction::Credit((
                    self.text(ft1, 2, 1),
                    self.text(ft1, 23, 1),
                )));
            }
            Some("PY") => {
                self.error(
                    ErrorCode::ApplicationInternal,
                    at(6),
                    "payment (PY) transactions are not posted from HL7; post patient payments \
                     with POST /v1/patients/{id}/payments",
                );
                return None;
            }
            Some("AJ") => {
                self.error(
                    ErrorCode::ApplicationInternal,
                    at(6),
                    "adjustment (AJ) transactions are not posted from HL7; adjustments come \
                     from remittances (835)",
                );
                return None;
            }
            Some(_) => {
                self.error(
                    ErrorCode::TableValueNotFound,
                    at(6),
                    "transaction type is not a value of HL7 table 0017 (CG, CD, PY, AJ)",
                );
                return None;
            }
            None => {
                self.error(
                    ErrorCode::RequiredFieldMissing,
                    at(6),
                    "transaction type is missing",
                );
                return None;
            }
        }
        let service_date = match self.text(ft1, 4, 1) {
            Some(v) => self.date(Some(v), at(4)),
            None => {
                self.error(
                    ErrorCode::RequiredFieldMissing,
                    at(4),
                    "transaction date is missing",
                );
                None
            }
        };
        let units = match self.text(ft1, 10, 1) {
            None => "1".to_owned(),
            Some(q) => decimal(&q).unwrap_or_else(|| {
                self.error(
                    ErrorCode::DataType,
                    at(10),
                    "transaction quantity is not a number",
                );
                String::new()
            }),
        };
        let charge = match self.text(ft1, 11, 1) {
            None => {
                self.error(
                    ErrorCode::RequiredFieldMissing,
                    at(11),
                    "extended transaction amount is missing",
                );
                String::new()
            }
            Some(a) => decimal(&a).map(money).unwrap_or_else(|| {
                self.error(
                    ErrorCode::DataType,
                    at(11),
                    "extended transaction amount is not a number",
                );
                String::new()
            }),
        };
        // CP: price (MO: quantity & denomination) ^ price type (table 0205).
        if let Some(currency) = self.msg.text(ft1, 11, 1, 2)
            && !currency.eq_ignore_ascii_case("USD")
        {
            self.error(
                ErrorCode::DataType,
                at(11),
                "extended transaction amount is not in US dollars (USD)",
            );
        }
        if let Some(price_type) = self.text(ft1, 11, 2)
            && !PRICE_TYPES.contains(&price_type.to_ascii_uppercase().as_str())
        {
            self.error(
                ErrorCode::TableValueNotFound,
                at(11),
                "price type is not a value of HL7 table 0205 (AP, DC, IC, PF, TF, TP, UP)",
            );
        }
        let field = procedure_field(ft1);
        let procedure_code = match self.text(ft1, field, 1) {
            None => {
                self.error(
                    ErrorCode::RequiredFieldMissing,
                    at(25),
                    "procedure code is missing",
                );
                String::new()
            }
            Some(code) => procedure_code(&code).unwrap_or_else(|| {
                self.error(
                    ErrorCode::DataType,
                    at(field),
                    "procedure code is not a CPT or HCPCS code",
                );
                String::new()
            }),
        };
        let mut modifiers = Vec::new();
        for rep in ft1.repetitions(26) {
            let Some(m) = self.rep_text(rep, 1) else {
                continue;
            };
            let m = m.to_ascii_uppercase();
            if m.len() == 2 && m.bytes().all(|b| b.is_ascii_alphanumeric()) && modifiers.len() < 4 {
                modifiers.push(m);
            } else {
                self.error(
                    ErrorCode::DataType,
                    at(26),
                    "procedure modifier is not two letters or digits, or more than four",
                );
            }
        }
        let mut codes: Vec<String> = Vec::new();
        for rep in ft1.repetitions(19) {
            let Some(code) = self.rep_text(rep, 1) else {
                continue;
            };
            match icd10cm(&code) {
                Some(code) => codes.push(code),
                None => self.error(
                    ErrorCode::DataType,
                    at(19),
                    "diagnosis code is not an ICD-10-CM code",
                ),
            }
        }
        let rendering_provider_npi = self.npi(ft1, 20, at(20));
        self.npi(ft1, 21, at(21));
        Some(Transaction::Charge(
            Box::new(ServiceLine {
                line_number: None,
                procedure_code,
                modifiers,
                units,
                charge,
                diagnosis_pointers: Vec::new(),
                service_date,
                place_of_service: None,
                rendering_provider_npi,
                ndc: None,
                line_control_number: self.text(ft1, 2, 1),
                filler_order_number: self.text(ft1, 23, 1),
            }),
            codes,
        ))
    }

    /// PR1 procedures: codes must be well formed; one with no charge line is reported as a
    /// warning (nothing to bill without a charge).
    fn procedures(&mut self, lines: &[ServiceLine]) {
        let pr1s: Vec<&Segment> = self.msg.segments("PR1").collect();
        for (i, pr1) in pr1s.into_iter().enumerate() {
            let seq = i + 1;
            let Some(code) = self.text(pr1, 3, 1) else {
                self.error(
                    ErrorCode::RequiredFieldMissing,
                    loc("PR1", seq, 3),
                    "procedure code is missing",
                );
                continue;
            };
            match procedure_code(&code) {
                None => self.error(
                    ErrorCode::DataType,
                    loc("PR1", seq, 3),
                    "procedure code is not a CPT or HCPCS code",
                ),
                Some(code) if !lines.iter().any(|l| l.procedure_code == code) => self.warning(
                    ErrorCode::SegmentSequence,
                    loc("PR1", seq, 3),
                    "procedure has no charge (FT1) and is not billed",
                ),
                Some(_) => {}
            }
            if pr1.presence(5) == Presence::Valued {
                self.date(self.text(pr1, 5, 1), loc("PR1", seq, 5));
            }
        }
    }
}

// ----- value helpers ------------------------------------------------------------------------

/// IN1 with the IN2 segments that follow it.
fn in1_groups(msg: &Message) -> Vec<(&Segment, Vec<&Segment>)> {
    let mut groups: Vec<(&Segment, Vec<&Segment>)> = Vec::new();
    for seg in &msg.segments {
        match seg.id.as_str() {
            "IN1" => groups.push((seg, Vec::new())),
            "IN2" => {
                if let Some((_, in2)) = groups.last_mut() {
                    in2.push(seg);
                }
            }
            _ => {}
        }
    }
    groups
}

/// Where a patient's values come from (PID, from [`crate::mapping::MAPPING`]).
fn patient_sources() -> Vec<(String, Location)> {
    crate::mapping::MAPPING
        .iter()
        .filter(|m| m.record == "patient")
        .flat_map(|m| {
            m.pointers
                .iter()
                .map(move |p| ((*p).to_owned(), loc(m.segment, 1, m.field)))
        })
        .collect()
}

/// Where coverage `seq`'s values come from: its IN1, or GT1 for a subscriber taken from
/// the guarantor.
fn coverage_sources(
    seq: usize,
    in1: &Segment,
    guarantor: Option<&Segment>,
) -> Vec<(String, Location)> {
    let from_guarantor =
        in1.repetitions(16).first().is_none_or(|r| r.is_empty()) && guarantor.is_some();
    let mut out = vec![("/patient_external_id".to_owned(), loc("PID", 1, 3))];
    for m in crate::mapping::MAPPING
        .iter()
        .filter(|m| m.record == "coverage")
    {
        for p in m.pointers {
            let at = match (from_guarantor, m.field) {
                (true, 16) => loc("GT1", 1, 3),
                (true, 18) => loc("GT1", 1, 8),
                (true, 19) => loc("GT1", 1, 5),
                (true, 43) => loc("GT1", 1, 9),
                _ => loc(m.segment, seq, m.field),
            };
            out.push(((*p).to_owned(), at));
        }
    }
    out
}

/// What one FT1 is.
enum Transaction {
    /// A charge (CG) and its FT1-19 diagnosis codes.
    Charge(Box<ServiceLine>, Vec<String>),
    /// A credit (CD): its transaction id (FT1-2) and filler order number (FT1-23).
    Credit((Option<String>, Option<String>)),
}

/// HL7 table 0205 (price type).
const PRICE_TYPES: &[&str] = &["AP", "DC", "IC", "PF", "TF", "TP", "UP"];

/// Where an FT1's procedure code is: FT1-25, else FT1-7 (transaction code) when that is
/// coded in CPT or HCPCS (CE-3 `C4`, `CPT`, `CPT4`, `HCPCS`, `HCPT`).
fn procedure_field(ft1: &Segment) -> usize {
    if ft1.presence(25) == Presence::Valued {
        return 25;
    }
    let system = ft1
        .repetitions(7)
        .first()
        .and_then(|rep| rep.raw(3, 1))
        .map(str::to_ascii_uppercase);
    match system.as_deref() {
        Some("C4" | "CPT" | "CPT4" | "HCPCS" | "HCPT" | "HC") => 7,
        _ => 25,
    }
}

/// `YYYYMMDD[HHMM[SS[.S]]][+/-ZZZZ]` to `YYYY-MM-DD`, checking the calendar.
pub fn iso_date(value: &str) -> Option<String> {
    let digits = value.get(..8)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let rest = &value[8..];
    if !rest
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'+' | b'-'))
    {
        return None;
    }
    let year: u32 = digits[..4].parse().ok()?;
    let month: u32 = digits[4..6].parse().ok()?;
    let day: u32 = digits[6..8].parse().ok()?;
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if year < 1800 || day == 0 || day > days {
        return None;
    }
    Some(format!(
        "{}-{}-{}",
        &digits[..4],
        &digits[4..6],
        &digits[6..8]
    ))
}

/// HL7 table 0001 (administrative sex, v2.5.1) to canonical sex; `None` for a value outside
/// the table. Empty and null are unknown.
fn sex(value: Option<&str>) -> Option<Sex> {
    match value.map(str::to_ascii_uppercase).as_deref() {
        Some("M") => Some(Sex::Male),
        Some("F") => Some(Sex::Female),
        Some("O") | Some("A") => Some(Sex::Other),
        None | Some("U") | Some("N") => Some(Sex::Unknown),
        Some(_) => None,
    }
}

/// HL7 table 0063 (and the X12 individual relationship codes some senders use).
fn relationship(value: Option<&str>) -> SubscriberRelationship {
    match value.map(str::to_ascii_uppercase).as_deref() {
        None | Some("SEL") | Some("18") | Some("SELF") => SubscriberRelationship::SelfInsured,
        Some("SPO") | Some("DOM") | Some("01") => SubscriberRelationship::Spouse,
        Some("CHD") | Some("SCH") | Some("FCH") | Some("19") => SubscriberRelationship::Child,
        _ => SubscriberRelationship::Other,
    }
}

/// XAD-6 to ISO alpha-2; the US (absent in canonical form) and unknown values give `None`
/// for US and the value as sent otherwise.
fn country(value: &str) -> Option<String> {
    let upper = value.to_ascii_uppercase();
    match upper.as_str() {
        "US" | "USA" => None,
        "CAN" => Some("CA".to_owned()),
        "MEX" => Some("MX".to_owned()),
        _ => Some(upper),
    }
}

/// Nine digits, written `123-45-6789`.
fn normalize_ssn(value: &str) -> Option<String> {
    let digits: String = value.chars().filter(|c| *c != '-' && *c != ' ').collect();
    (digits.len() == 9 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| format!("{}-{}-{}", &digits[..3], &digits[3..5], &digits[5..]))
}

/// An HL7 NM value as a canonical decimal string: optional sign, digits, optional fraction.
fn decimal(value: &str) -> Option<String> {
    let unsigned = value.strip_prefix('+').unwrap_or(value);
    let body = unsigned.strip_prefix('-').unwrap_or(unsigned);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let ok = !(int.is_empty() && frac.is_empty())
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit());
    if !ok {
        return None;
    }
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let sign = if unsigned.starts_with('-') { "-" } else { "" };
    Some(if frac.is_empty() {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    })
}

/// A decimal with at least two fraction digits.
fn money(value: String) -> String {
    match value.split_once('.') {
        None => format!("{value}.00"),
        Some((_, frac)) if frac.len() == 1 => format!("{value}0"),
        Some(_) => value,
    }
}

/// CPT (five digits, or four and `F`/`T` for categories II and III) or HCPCS level II (a
/// letter and four digits), upper-cased.
fn procedure_code(value: &str) -> Option<String> {
    let code = value.trim().to_ascii_uppercase();
    let b = code.as_bytes();
    let ok = b.len() == 5
        && (b[..4].iter().all(u8::is_ascii_digit)
            && (b[4].is_ascii_digit() || matches!(b[4], b'F' | b'T'))
            || b[0].is_ascii_uppercase() && b[1..].iter().all(u8::is_ascii_digit));
    ok.then_some(code)
}

/// ICD-10-CM in its dotted form (`J06.9`), accepting the undotted form senders often use.
pub fn icd10cm(value: &str) -> Option<String> {
    let code: String = value.trim().to_ascii_uppercase().replace('.', "");
    let b = code.as_bytes();
    let ok = (3..=7).contains(&b.len())
        && b[0].is_ascii_uppercase()
        && b[1].is_ascii_digit()
        && b[2..].iter().all(u8::is_ascii_alphanumeric);
    if !ok {
        return None;
    }
    Some(if code.len() > 3 {
        format!("{}.{}", &code[..3], &code[3..])
    } else {
        code
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_helpers() {
        assert_eq!(iso_date("19800229").as_deref(), Some("1980-02-29"));
        assert_eq!(iso_date("202403011230-0500").as_deref(), Some("2024-03-01"));
        assert_eq!(iso_date("20230229"), None);
        assert_eq!(iso_date("1980"), None);
        assert_eq!(iso_date("2024ab01"), None);
        assert_eq!(decimal("0125.5").as_deref(), Some("125.5"));
        assert_eq!(decimal("+2").as_deref(), Some("2"));
        assert_eq!(decimal("-.5").as_deref(), Some("-0.5"));
        assert_eq!(decimal("1e3"), None);
        assert_eq!(decimal("."), None);
        assert_eq!(money("125".into()), "125.00");
        assert_eq!(money("125.5".into()), "125.50");
        assert_eq!(procedure_code("99213").as_deref(), Some("99213"));
        assert_eq!(procedure_code("j3301").as_deref(), Some("J3301"));
        assert_eq!(procedure_code("0001F").as_deref(), Some("0001F"));
        assert_eq!(procedure_code("9921"), None);
        assert_eq!(procedure_code("JJ301"), None);
        assert_eq!(icd10cm("J069").as_deref(), Some("J06.9"));
        assert_eq!(icd10cm("e11.65").as_deref(), Some("E11.65"));
        assert_eq!(icd10cm("I10").as_deref(), Some("I10"));
        assert_eq!(icd10cm("250.00"), None);
        assert_eq!(normalize_ssn("123456789").as_deref(), Some("123-45-6789"));
        assert_eq!(normalize_ssn("12345678"), None);
        assert_eq!(relationship(Some("spo")), SubscriberRelationship::Spouse);
        assert_eq!(relationship(Some("GRD")), SubscriberRelationship::Other);
        assert_eq!(sex(Some("f")), Some(Sex::Female));
        assert_eq!(sex(Some("N")), Some(Sex::Unknown));
        assert_eq!(sex(None), Some(Sex::Unknown));
        assert_eq!(sex(Some("boy")), None);
        assert_eq!(sex(Some("X")), None);
        assert_eq!(country("CAN").as_deref(), Some("CA"));
        assert_eq!(country("USA"), None);
    }
}
