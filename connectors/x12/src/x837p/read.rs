//! Reading an 837P back into canonical claims (the fields this module writes).

use super::*;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Header,
    BillingProvider,
    Subscriber,
    Payer,
    Patient,
    Claim,
    Rendering,
    OtherSubscriber,
    OtherPayer,
    Line,
    LineAdjudication,
}

fn read_name(seg: &Segment<'_>) -> PersonName {
    let mut given: Vec<String> = Vec::new();
    given.extend(seg.opt(4));
    given.extend(seg.opt(5));
    PersonName {
        family: seg.get(3).into_owned(),
        given,
        prefix: seg.opt(6),
        suffix: seg.opt(7),
    }
}

fn read_address(seg: &Segment<'_>, a: &mut Address) {
    match seg.id() {
        "N3" => a.lines = (1..=2).filter_map(|i| seg.opt(i)).collect(),
        _ => {
            a.city = seg.get(1).into_owned();
            a.state = seg.get(2).into_owned();
            a.postal_code = seg.get(3).into_owned();
            a.country = seg.opt(4);
        }
    }
}

fn read_sex(s: &str) -> Sex {
    match s {
        "M" => Sex::Male,
        "F" => Sex::Female,
        _ => Sex::Unknown,
    }
}

fn read_priority(s: &str) -> CoveragePriority {
    match s {
        "S" => CoveragePriority::Secondary,
        "T" => CoveragePriority::Tertiary,
        _ => CoveragePriority::Primary,
    }
}

fn read_relationship(s: &str) -> SubscriberRelationship {
    match s {
        "18" => SubscriberRelationship::SelfInsured,
        "01" => SubscriberRelationship::Spouse,
        "19" => SubscriberRelationship::Child,
        _ => SubscriberRelationship::Other,
    }
}

fn amount_text(seg: &Segment<'_>, i: usize) -> Result<String, X12Error> {
    crate::util::req_amount(seg, i).map(money)
}

/// Reads 837P transactions back into canonical claims (the fields this module writes).
pub fn read_837p<R: BufRead>(input: R) -> Result<Vec<ClaimSubmission>, X12Error> {
    let mut rd = X12Reader::new(input);
    let mut out: Vec<ClaimSubmission> = Vec::new();
    let mut ctx = Ctx::Header;
    let mut bp = BillingProvider::default();
    let mut sub = Subscriber::default();
    let mut payer = PayerRef::default();
    let mut priority = CoveragePriority::Primary;
    let mut group_number: Option<String> = None;
    let mut relationship = SubscriberRelationship::SelfInsured;
    let mut patient: Option<Demographics> = None;
    let mut claim: Option<ClaimSubmission> = None;
    let mut sub_addr = Address::default();
    let mut pat_addr = Address::default();
    let mut la_payer = 0usize;

    fn flush(claim: &mut Option<ClaimSubmission>, out: &mut Vec<ClaimSubmission>) {
        out.extend(claim.take());
    }

    while let Some(seg) = rd.next_segment()? {
        let id = seg.id();
        match id {
            "ISA" | "GS" | "GE" | "IEA" => continue,
            "ST" => {
                if seg.get(1) != "837" {
                    return Err(seg.error("transaction set is not an 837"));
                }
                ctx = Ctx::Header;
                continue;
            }
            "SE" => {
                flush(&mut claim, &mut out);
                continue;
            }
            _ => {}
        }
        match id {
            "HL" => {
                flush(&mut claim, &mut out);
                match seg.get(3).as_ref() {
                    "20" => {
                        ctx = Ctx::BillingProvider;
                        bp = BillingProvider::default();
                    }
                    "22" => {
                        ctx = Ctx::Subscriber;
                        sub = Subscriber::default();
                        sub_addr = Address::default();
                        payer = PayerRef::default();
                        patient = None;
                        relationship = SubscriberRelationship::SelfInsured;
                    }
                    "23" => {
                        ctx = Ctx::Patient;
                        patient = Some(Demographics::default());
                        pat_addr = Address::default();
                    }
                    _ => return Err(seg.error("HL03 is not a 837P hierarchical level")),
                }
            }
            "PRV" if ctx == Ctx::BillingProvider => bp.taxonomy_code = seg.opt(3),
            "PRV" if ctx == Ctx::Rendering => {
                if let Some(r) = claim.as_mut().and_then(|c| c.rendering_provider.as_mut()) {
                    r.taxonomy_code = seg.opt(3);
                }
            }
            "SBR" if ctx == Ctx::Subscriber => {
                priority = read_priority(&seg.get(1));
                group_number = seg.opt(3);
                relationship = if seg.get(2) == "18" {
                    SubscriberRelationship::SelfInsured
                } else {
                    SubscriberRelationship::Other
                };
            }
            "SBR" => {
                let c = claim
                    .as_mut()
                    .ok_or_else(|| seg.error("SBR (loop 2320) outside a claim"))?;
                ctx = Ctx::OtherSubscriber;
                c.prior_payers.push(PriorPayerAdjudication {
                    priority: read_priority(&seg.get(1)),
                    relationship: read_relationship(&seg.get(2)),
                    group_number: seg.opt(3),
                    claim_filing_indicator: seg.opt(9),
                    ..PriorPayerAdjudication::default()
                });
            }
            "PAT" => relationship = read_relationship(&seg.get(1)),
            "NM1" => {
                let entity = seg.get(1);
                match (entity.as_ref(), ctx) {
                    ("41" | "40", _) => {}
                    ("85", _) => {
                        bp.name = seg.get(3).into_owned();
                        bp.npi = seg.get(9).into_owned();
                    }
                    ("IL", Ctx::Subscriber) => {
                        sub.name = read_name(&seg);
                        sub.member_id = seg.opt(9);
                    }
                    ("PR", Ctx::Subscriber) => {
                        ctx = Ctx::Payer;
                        payer = PayerRef {
                            name: seg.get(3).into_owned(),
                            payer_id: seg.opt(9),
                        };
                    }
                    ("QC", Ctx::Patient) => {
                        if let Some(p) = patient.as_mut() {
                            p.name = read_name(&seg);
                        }
                    }
                    ("82" | "DN", Ctx::Claim | Ctx::Rendering) => {
                        let r = ProviderRef {
                            npi: seg.get(9).into_owned(),
                            name: seg.opt(3),
                            first_name: seg.opt(4),
                            taxonomy_code: None,
                        };
                        let c = claim
                            .as_mut()
                            .ok_or_else(|| seg.error("NM1 outside a claim"))?;
                        if entity == "82" {
                            ctx = Ctx::Rendering;
                            c.rendering_provider = Some(r);
                        } else {
                            c.referring_provider = Some(r);
                        }
                    }
                    ("IL", Ctx::OtherSubscriber) => {
                        if let Some(p) = claim.as_mut().and_then(|c| c.prior_payers.last_mut()) {
                            p.subscriber.name = read_name(&seg);
                            p.subscriber.member_id = seg.opt(9);
                        }
                    }
                    ("PR", Ctx::OtherSubscriber | Ctx::OtherPayer) => {
                        ctx = Ctx::OtherPayer;
                        if let Some(p) = claim.as_mut().and_then(|c| c.prior_payers.last_mut()) {
                            p.payer = PayerRef {
                                name: seg.get(3).into_owned(),
                                payer_id: seg.opt(9),
                            };
                        }
                    }
                    _ => return Err(seg.error("NM1 entity not expected in this loop")),
                }
            }
            "N3" | "N4" => match ctx {
                Ctx::BillingProvider => read_address(&seg, &mut bp.address),
                Ctx::Subscriber => {
                    read_address(&seg, &mut sub_addr);
                    sub.address = Some(sub_addr.clone());
                }
                Ctx::Patient => {
                    read_address(&seg, &mut pat_addr);
                    if let Some(p) = patient.as_mut() {
                        p.address = Some(pat_addr.clone());
                    }
                }
                Ctx::OtherSubscriber => {
                    if let Some(p) = claim.as_mut().and_then(|c| c.prior_payers.last_mut()) {
                        read_address(
                            &seg,
                            p.subscriber.address.get_or_insert_with(Address::default),
                        );
                    }
                }
                _ => {}
            },
            "DMG" => {
                let dob = iso_date(&seg.get(2));
                let sex = read_sex(&seg.get(3));
                match ctx {
                    Ctx::Subscriber => {
                        sub.birth_date = dob;
                        sub.sex = sex;
                    }
                    Ctx::Patient => {
                        if let Some(p) = patient.as_mut() {
                            p.birth_date = dob;
                            p.sex = sex;
                        }
                    }
                    _ => {}
                }
            }
            "REF" => {
                let q = seg.get(1);
                match (q.as_ref(), ctx) {
                    ("EI", Ctx::BillingProvider) => bp.tin = seg.get(2).into_owned(),
                    ("F8", Ctx::Claim) => {
                        if let Some(c) = claim.as_mut() {
                            c.original_claim_number = seg.opt(2);
                        }
                    }
                    ("G1", Ctx::Claim) => {
                        if let Some(c) = claim.as_mut() {
                            c.prior_authorization = seg.opt(2);
                        }
                    }
                    ("F8", Ctx::OtherPayer) => {
                        if let Some(p) = claim.as_mut().and_then(|c| c.prior_payers.last_mut()) {
                            p.payer_claim_number = seg.opt(2);
                        }
                    }
                    ("6R", Ctx::Line) => {
                        if let Some(l) = claim.as_mut().and_then(|c| c.lines.last_mut()) {
                            l.line_control_number = seg.opt(2);
                        }
                    }
                    _ => {}
                }
            }
            "PER" if ctx == Ctx::BillingProvider => bp.phone = seg.opt(4),
            "CLM" => {
                flush(&mut claim, &mut out);
                let clm05 = seg.element(5);
                let subscriber_is_patient = patient.is_none();
                claim = Some(ClaimSubmission {
                    schema_version: revcycle_connector_abi::canonical::v1::SCHEMA_VERSION,
                    claim_control_number: seg.get(1).into_owned(),
                    total_charge: amount_text(&seg, 2)?,
                    place_of_service: clm05.component(1).into_owned(),
                    frequency_code: clm05.component(3).into_owned(),
                    accepts_assignment: Some(seg.get(7) == "A"),
                    benefits_assigned: Some(seg.get(8) == "Y"),
                    release_of_information: Some(seg.get(9) == "Y"),
                    billing_provider: bp.clone(),
                    payer: payer.clone(),
                    priority,
                    subscriber: sub.clone(),
                    group_number: group_number.clone(),
                    relationship: if subscriber_is_patient {
                        SubscriberRelationship::SelfInsured
                    } else {
                        relationship
                    },
                    patient: patient.clone(),
                    ..ClaimSubmission::default()
                });
                ctx = Ctx::Claim;
            }
            "HI" => {
                let c = claim
                    .as_mut()
                    .ok_or_else(|| seg.error("HI outside a claim"))?;
                for i in 1..=seg.len() {
                    let e = seg.element(i);
                    let code = e.component(2);
                    if !code.is_empty() {
                        c.diagnoses.push(code.into_owned());
                    }
                }
            }
            "CAS" => {
                let adj = crate::x835::adjustments(&seg)?;
                if let Some(c) = claim.as_mut() {
                    match ctx {
                        Ctx::LineAdjudication => {
                            if let Some(la) = c
                                .prior_payers
                                .get_mut(la_payer)
                                .and_then(|p| p.line_adjudications.last_mut())
                            {
                                la.adjustments.extend(adj);
                            }
                        }
                        _ => {
                            if let Some(p) = c.prior_payers.last_mut() {
                                p.claim_adjustments.extend(adj);
                            }
                        }
                    }
                }
            }
            "AMT" => {
                if let Some(p) = claim.as_mut().and_then(|c| c.prior_payers.last_mut()) {
                    match seg.get(1).as_ref() {
                        "D" => p.paid_amount = amount_text(&seg, 2)?,
                        "EAF" => p.patient_responsibility = Some(amount_text(&seg, 2)?),
                        _ => {}
                    }
                }
            }
            "OI" => {}
            "LX" => {
                ctx = Ctx::Line;
                let c = claim
                    .as_mut()
                    .ok_or_else(|| seg.error("LX outside a claim"))?;
                let n = seg
                    .get(1)
                    .parse::<u32>()
                    .map_err(|_| seg.error("LX01 is not a number"))?;
                c.lines
                    .push(revcycle_connector_abi::canonical::v1::ServiceLine {
                        line_number: Some(n),
                        ..Default::default()
                    });
            }
            "SV1" => {
                let l = claim
                    .as_mut()
                    .and_then(|c| c.lines.last_mut())
                    .ok_or_else(|| seg.error("SV1 outside a service line"))?;
                let proc = seg.element(1);
                l.procedure_code = proc.component(2).into_owned();
                l.modifiers = (3..=6)
                    .map(|j| proc.component(j).into_owned())
                    .filter(|m| !m.is_empty())
                    .collect();
                l.charge = amount_text(&seg, 2)?;
                l.units = seg.get(4).into_owned();
                l.place_of_service = seg.opt(5);
                l.diagnosis_pointers = seg
                    .element(7)
                    .components()
                    .filter_map(|p| p.parse::<u8>().ok())
                    .collect();
            }
            "DTP" => {
                let d = iso_date(&seg.get(3));
                match (seg.get(1).as_ref(), ctx) {
                    ("472", Ctx::Line) => {
                        if let Some(l) = claim.as_mut().and_then(|c| c.lines.last_mut()) {
                            l.service_date = d;
                        }
                    }
                    ("573", Ctx::OtherPayer) => {
                        if let Some(p) = claim.as_mut().and_then(|c| c.prior_payers.last_mut()) {
                            p.paid_date = d;
                        }
                    }
                    ("573", Ctx::LineAdjudication) => {
                        if let Some(la) = claim
                            .as_mut()
                            .and_then(|c| c.prior_payers.get_mut(la_payer))
                            .and_then(|p| p.line_adjudications.last_mut())
                        {
                            la.adjudication_date = d;
                        }
                    }
                    _ => {}
                }
            }
            "LIN" => {
                if let Some(l) = claim.as_mut().and_then(|c| c.lines.last_mut()) {
                    l.ndc = seg.opt(3);
                }
            }
            "CTP" => {}
            "SVD" => {
                ctx = Ctx::LineAdjudication;
                let c = claim
                    .as_mut()
                    .ok_or_else(|| seg.error("SVD outside a claim"))?;
                let line_number = c.lines.last().and_then(|l| l.line_number).unwrap_or(0);
                let payer_id = seg.get(1);
                let proc = seg.element(3);
                let la = LineAdjudication {
                    line_number,
                    procedure_code: proc.component(2).into_owned(),
                    modifiers: (3..=6)
                        .map(|j| proc.component(j).into_owned())
                        .filter(|m| !m.is_empty())
                        .collect(),
                    paid_amount: amount_text(&seg, 2)?,
                    paid_units: seg.get(5).into_owned(),
                    adjudication_date: None,
                    adjustments: Vec::new(),
                };
                let Some(i) = c
                    .prior_payers
                    .iter()
                    .position(|p| p.payer.payer_id.as_deref() == Some(payer_id.as_ref()))
                else {
                    return Err(seg.error("SVD01 does not match an other payer (2330B NM109)"));
                };
                la_payer = i;
                c.prior_payers[i].line_adjudications.push(la);
            }
            "BHT" if ctx == Ctx::Header => {}
            "PER" => {}
            _ => return Err(seg.error(format!("{id} is not expected by this 837P reader"))),
        }
    }
    flush(&mut claim, &mut out);
    Ok(out)
}
