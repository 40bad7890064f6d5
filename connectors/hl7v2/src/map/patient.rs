//! The patient (PID) and its coverages (IN1 with its IN2s, GT1 as the insured).

use super::*;

impl Mapper<'_> {
    pub(super) fn patient(&mut self, pid: &Segment) -> Patient {
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
    pub(super) fn assigning_authority(&self, rep: &Repetition) -> Option<String> {
        let universal = self.msg.rep_text(rep, 4, 2);
        let universal_type = self.msg.rep_text(rep, 4, 3);
        match (universal, universal_type) {
            (Some(oid), Some(t)) if t.eq_ignore_ascii_case("ISO") => Some(format!("urn:oid:{oid}")),
            (Some(id), _) => Some(id),
            (None, _) => self.msg.rep_text(rep, 4, 1),
        }
    }

    /// An XPN repetition.
    pub(super) fn person_name(&self, rep: &Repetition) -> PersonName {
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
    pub(super) fn address(&self, reps: &[Repetition]) -> Option<Address> {
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
    pub(super) fn telecom(&self, reps: &[Repetition]) -> (Option<String>, Option<String>) {
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

    pub(super) fn coverage(
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
    pub(super) fn subscriber(
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
}
