//! The encounter of a DFT: visit (PV1), charges and credits (FT1), diagnoses (DG1) and
//! procedures (PR1).

use super::*;

impl Mapper<'_> {
    pub(super) fn encounter(
        &mut self,
        patient_external_id: &str,
        r: &mut MappedRecord,
    ) -> Option<Encounter> {
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
    pub(super) fn plain_npi(&self, seg: &Segment, field: usize) -> Option<String> {
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
    pub(super) fn npi(
        &mut self,
        seg: &Segment,
        field: usize,
        location: Location,
    ) -> Option<String> {
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
    pub(super) fn diagnoses(&mut self) -> Vec<String> {
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
    pub(super) fn transaction(&mut self, seq: usize, ft1: &Segment) -> Option<Transaction> {
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
    pub(super) fn procedures(&mut self, lines: &[ServiceLine]) {
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
