//! Eligibility: 270 inquiry (005010X279A1) from a canonical [`EligibilityRequest`], and 271
//! response parsing into [`EligibilityResponse`]s.

use std::io::{BufRead, Write};

use revcycle_connector_abi::canonical::v1::{
    Address, Benefit, EligibilityRequest, EligibilityResponse, EligibilityStatus, PayerRef, Period,
    PersonName, Rejection, SCHEMA_VERSION, Sex, Subscriber,
};

use crate::X12Error;
use crate::reader::{Delimiters, Segment, X12Reader};
use crate::util::{digits, iso_date, money, parse_decimal, text, x12_date};
use crate::writer::{Envelope, X12Writer};

/// The 270/271 guide.
pub const VERSION: &str = "005010X279A1";

pub(crate) fn err_at<W: Write>(w: &X12Writer<W>, id: &str, reason: &str) -> X12Error {
    X12Error::new(w.segment_number() + 1, id, reason)
}

pub(crate) fn person_nm1<W: Write>(
    w: &mut X12Writer<W>,
    entity: &str,
    name: &PersonName,
    member_id: Option<&str>,
) -> Result<(), X12Error> {
    let first = text(name.given.first().map(String::as_str).unwrap_or(""));
    let middle = text(&name.given.get(1..).unwrap_or(&[]).join(" "));
    let id = member_id.map(text).unwrap_or_default();
    let q = if id.is_empty() { "" } else { "MI" };
    w.segment(
        "NM1",
        &[
            entity,
            "1",
            &text(&name.family),
            &first,
            &middle,
            "",
            &text(name.suffix.as_deref().unwrap_or("")),
            q,
            &id,
        ],
    )
}

pub(crate) fn dmg<W: Write>(
    w: &mut X12Writer<W>,
    dob: Option<&str>,
    sex: Sex,
) -> Result<(), X12Error> {
    if let Some(dob) = dob {
        let d = x12_date(dob)
            .ok_or_else(|| err_at(w, "DMG", "DMG02 (birth date) is not an ISO date"))?;
        let s = match sex {
            Sex::Male => "M",
            Sex::Female => "F",
            _ => "",
        };
        w.segment("DMG", &["D8", &d, s])?;
    }
    Ok(())
}

pub(crate) fn payer_nm1<W: Write>(w: &mut X12Writer<W>, p: &PayerRef) -> Result<(), X12Error> {
    let id = p.payer_id.as_deref().map(text).unwrap_or_default();
    if p.name.trim().is_empty() || id.is_empty() {
        return Err(err_at(w, "NM1", "NM1*PR needs the payer's name and id"));
    }
    w.segment(
        "NM1",
        &["PR", "2", &text(&p.name), "", "", "", "", "PI", &id],
    )
}

pub(crate) fn provider_nm1<W: Write>(
    w: &mut X12Writer<W>,
    entity: &str,
    p: &revcycle_connector_abi::canonical::v1::ProviderRef,
) -> Result<(), X12Error> {
    let npi = digits(&p.npi);
    if npi.len() != 10 {
        return Err(err_at(w, "NM1", "provider NPI must have 10 digits"));
    }
    let name = text(p.name.as_deref().unwrap_or(""));
    if name.is_empty() {
        return Err(err_at(w, "NM1", "provider name (NM103) is missing"));
    }
    let first = p.first_name.as_deref().map(text).unwrap_or_default();
    let kind = if first.is_empty() { "2" } else { "1" };
    w.segment(
        "NM1",
        &[entity, kind, &name, &first, "", "", "", "XX", &npi],
    )
}

/// Writes a 270 for `requests` (one subscriber/dependent inquiry each) in one interchange.
/// `originator` is TRN03 (`9` followed by the submitter's id, 10 characters).
pub fn write_270<W: Write>(
    out: W,
    env: &Envelope,
    originator: &str,
    requests: &[EligibilityRequest],
) -> Result<W, X12Error> {
    let mut w = X12Writer::new(out, Delimiters::default());
    w.begin_all(env, "HS", "270", VERSION)?;
    let g = &env.group;
    w.segment(
        "BHT",
        &[
            "0022",
            "13",
            &env.transaction_control_number,
            &g.date,
            &g.time,
        ],
    )?;
    let mut hl = 0u32;
    for (i, r) in requests.iter().enumerate() {
        hl += 1;
        let payer_hl = hl.to_string();
        w.segment("HL", &[&payer_hl, "", "20", "1"])?;
        payer_nm1(&mut w, &r.payer)?;
        hl += 1;
        let provider_hl = hl.to_string();
        w.segment("HL", &[&provider_hl, &payer_hl, "21", "1"])?;
        provider_nm1(&mut w, "1P", &r.provider)?;
        hl += 1;
        let sub_hl = hl.to_string();
        let dependent = r.dependent.is_some();
        w.segment(
            "HL",
            &[
                &sub_hl,
                &provider_hl,
                "22",
                if dependent { "1" } else { "0" },
            ],
        )?;
        let trace = r
            .trace_number
            .clone()
            .unwrap_or_else(|| format!("{}-{}", env.transaction_control_number, i + 1));
        let trn = ["1", &text(&trace), originator];
        let s: &Subscriber = &r.subscriber;
        let types: Vec<String> = if r.service_type_codes.is_empty() {
            vec!["30".into()]
        } else {
            r.service_type_codes.iter().map(|c| text(c)).collect()
        };
        let date =
            match r.date_of_service.as_deref() {
                Some(d) => Some(x12_date(d).ok_or_else(|| {
                    err_at(&w, "DTP", "DTP03 (date of service) is not an ISO date")
                })?),
                None => None,
            };
        if !dependent {
            w.segment("TRN", &trn)?;
        }
        if s.member_id.is_none() {
            return Err(err_at(
                &w,
                "NM1",
                "subscriber member id is required (NM109)",
            ));
        }
        person_nm1(&mut w, "IL", &s.name, s.member_id.as_deref())?;
        dmg(&mut w, s.birth_date.as_deref(), s.sex)?;
        let tail = |w: &mut X12Writer<W>| -> Result<(), X12Error> {
            if let Some(d) = &date {
                w.segment("DTP", &["291", "D8", d])?;
            }
            // One EQ with EQ01 repeated (the guide allows up to 99 repetitions).
            let refs: Vec<&str> = types.iter().map(String::as_str).collect();
            let eq01 = w.repeated(&refs);
            w.segment("EQ", &[&eq01])
        };
        if let Some(d) = &r.dependent {
            hl += 1;
            w.segment("HL", &[&hl.to_string(), &sub_hl, "23", "0"])?;
            w.segment("TRN", &trn)?;
            person_nm1(&mut w, "03", &d.name, None)?;
            dmg(&mut w, d.birth_date.as_deref(), d.sex)?;
            tail(&mut w)?;
        } else {
            tail(&mut w)?;
        }
    }
    w.end_all()?;
    w.finish()
}

fn name_of(seg: &Segment<'_>) -> PersonName {
    let mut given = Vec::new();
    given.extend(seg.opt(4));
    given.extend(seg.opt(5));
    PersonName {
        family: seg.get(3).into_owned(),
        given,
        prefix: seg.opt(6),
        suffix: seg.opt(7),
    }
}

/// A `D8` or `RD8` date into a period.
fn period_of(seg: &Segment<'_>) -> Result<(Option<String>, Option<String>), X12Error> {
    let bad = || seg.error("DTP03 is not a valid date or date range");
    match seg.get(2).as_ref() {
        "D8" => Ok((Some(iso_date(&seg.get(3)).ok_or_else(bad)?), None)),
        "RD8" => {
            let v = seg.get(3);
            let (a, b) = v.split_once('-').ok_or_else(bad)?;
            Ok((
                Some(iso_date(a).ok_or_else(bad)?),
                Some(iso_date(b).ok_or_else(bad)?),
            ))
        }
        _ => Err(seg.error("DTP02 is not D8 or RD8")),
    }
}

fn yes_no(s: &str) -> Option<bool> {
    match s {
        "Y" => Some(true),
        "N" => Some(false),
        _ => None,
    }
}

/// Parses a 271 into one response per subscriber/dependent (2000C/2000D with benefits).
pub fn parse_271<R: BufRead>(input: R) -> Result<Vec<EligibilityResponse>, X12Error> {
    let mut rd = X12Reader::new(input);
    let mut out: Vec<EligibilityResponse> = Vec::new();
    let mut payer = PayerRef::default();
    let mut current: Option<EligibilityResponse> = None;
    let mut level = String::new();
    let mut in_benefit = false;
    let mut addr = Address::default();
    let new = |payer: &PayerRef| EligibilityResponse {
        schema_version: SCHEMA_VERSION,
        payer: payer.clone(),
        ..EligibilityResponse::default()
    };
    while let Some(seg) = rd.next_segment()? {
        let id = seg.id();
        match id {
            "ISA" | "GS" | "GE" | "IEA" | "BHT" => {}
            "ST" => {
                if seg.get(1) != "271" {
                    return Err(seg.error("transaction set is not a 271"));
                }
            }
            "SE" => out.extend(current.take()),
            "HL" => {
                level = seg.get(3).into_owned();
                in_benefit = false;
                if level == "22" || level == "23" {
                    out.extend(current.take());
                    current = Some(new(&payer));
                    addr = Address::default();
                }
            }
            "NM1" => {
                let entity = seg.get(1);
                match entity.as_ref() {
                    "PR" => {
                        payer = PayerRef {
                            name: seg.get(3).into_owned(),
                            payer_id: seg.opt(9),
                        };
                    }
                    "IL" | "03" if !in_benefit => {
                        let c = current.get_or_insert_with(|| new(&payer));
                        let sub = c.subscriber.get_or_insert_with(Subscriber::default);
                        if entity == "IL" {
                            sub.name = name_of(&seg);
                            sub.member_id = seg.opt(9);
                        }
                    }
                    _ => {}
                }
            }
            "N3" | "N4" if !in_benefit => {
                if let Some(sub) = current.as_mut().and_then(|c| c.subscriber.as_mut()) {
                    if id == "N3" {
                        addr.lines = (1..=2).filter_map(|i| seg.opt(i)).collect();
                    } else {
                        addr.city = seg.get(1).into_owned();
                        addr.state = seg.get(2).into_owned();
                        addr.postal_code = seg.get(3).into_owned();
                        addr.country = seg.opt(4);
                    }
                    sub.address = Some(addr.clone());
                }
            }
            "DMG" if level == "22" => {
                if let Some(sub) = current.as_mut().and_then(|c| c.subscriber.as_mut()) {
                    sub.birth_date = iso_date(&seg.get(2));
                    sub.sex = match seg.get(3).as_ref() {
                        "M" => Sex::Male,
                        "F" => Sex::Female,
                        _ => Sex::Unknown,
                    };
                }
            }
            "TRN" => {
                if let Some(c) = current.as_mut()
                    && seg.get(1) == "2"
                {
                    c.trace_number = seg.opt(2);
                }
            }
            "REF" if !in_benefit => {
                if let Some(c) = current.as_mut() {
                    match seg.get(1).as_ref() {
                        "6P" => {
                            c.group_number = seg.opt(2);
                            if c.plan_name.is_none() {
                                c.plan_name = seg.opt(3);
                            }
                        }
                        "18" => c.plan_name = seg.opt(3).or(c.plan_name.take()),
                        _ => {}
                    }
                }
            }
            "DTP" if !in_benefit => {
                if let Some(c) = current.as_mut() {
                    let (start, end) = period_of(&seg)?;
                    match seg.get(1).as_ref() {
                        "291" | "307" => {
                            c.period = Period {
                                start: start.or(c.period.start.take()),
                                end: end.or(c.period.end.take()),
                            }
                        }
                        "346" | "356" => c.period.start = start,
                        "347" | "357" => c.period.end = start,
                        _ => {}
                    }
                }
            }
            "DTP" => {}
            "AAA" => {
                let r = Rejection {
                    reason_code: seg.get(3).into_owned(),
                    follow_up_action: seg.opt(4),
                    message: None,
                };
                current
                    .get_or_insert_with(|| new(&payer))
                    .rejections
                    .push(r);
            }
            "EB" => {
                in_benefit = true;
                let c = current
                    .as_mut()
                    .ok_or_else(|| seg.error("EB outside a subscriber or dependent loop"))?;
                let code = seg.get(1).into_owned();
                if code.is_empty() {
                    return Err(seg.error("EB01 (eligibility or benefit information) is missing"));
                }
                let amount = match seg.get(7).as_ref() {
                    "" => None,
                    a => Some(money(
                        parse_decimal(a).ok_or_else(|| seg.error("EB07 is not a valid amount"))?,
                    )),
                };
                let percent = match seg.get(8).as_ref() {
                    "" => None,
                    p => Some(
                        parse_decimal(p)
                            .ok_or_else(|| seg.error("EB08 is not a valid percent"))?
                            .normalize()
                            .to_string(),
                    ),
                };
                let quantity = match seg.get(10).as_ref() {
                    "" => None,
                    q => Some(
                        parse_decimal(q)
                            .ok_or_else(|| seg.error("EB10 is not a valid quantity"))?
                            .normalize()
                            .to_string(),
                    ),
                };
                if c.status == EligibilityStatus::Unknown {
                    c.status = match code.as_str() {
                        "1" | "2" | "3" | "4" | "5" => EligibilityStatus::Active,
                        "6" | "7" | "8" => EligibilityStatus::Inactive,
                        _ => EligibilityStatus::Unknown,
                    };
                }
                if c.plan_name.is_none() && matches!(code.as_str(), "1" | "6") {
                    c.plan_name = seg.opt(5);
                }
                c.benefits.push(Benefit {
                    information_code: code,
                    coverage_level: seg.opt(2),
                    service_type_codes: seg
                        .element(3)
                        .repetitions()
                        .map(|r| r.text().into_owned())
                        .filter(|s| !s.is_empty())
                        .collect(),
                    insurance_type: seg.opt(4),
                    plan_description: seg.opt(5),
                    time_period: seg.opt(6),
                    amount,
                    percent,
                    quantity,
                    authorization_required: yes_no(&seg.get(11)),
                    in_network: yes_no(&seg.get(12)),
                    messages: Vec::new(),
                });
            }
            "MSG" => {
                if let Some(b) = current.as_mut().and_then(|c| c.benefits.last_mut()) {
                    b.messages.push(seg.get(1).into_owned());
                }
            }
            "HSD" | "REF" | "AMT" | "III" | "LS" | "LE" | "PER" | "PRV" | "N3" | "N4" | "INS"
            | "HI" | "MPI" | "DMG" => {}
            _ => return Err(seg.error(format!("{id} is not expected in a 271"))),
        }
    }
    Ok(out)
}
