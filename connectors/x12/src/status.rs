//! Claim status: 276 inquiry (005010X212) from a canonical [`ClaimStatusRequest`], and 277
//! response parsing into [`ClaimStatusResponse`]s.

use std::io::{BufRead, Write};

use revcycle_connector_abi::canonical::v1::{
    ClaimStatus, ClaimStatusRequest, ClaimStatusResponse, Rejection, SCHEMA_VERSION,
};

use crate::X12Error;
use crate::eligibility::{dmg, err_at, payer_nm1, person_nm1, provider_nm1};
use crate::reader::{Delimiters, X12Reader};
use crate::util::{iso_date, money, parse_decimal, text, x12_amount, x12_date};
use crate::writer::{Envelope, X12Writer};

/// The 276/277 guide.
pub const VERSION: &str = "005010X212";

/// Loop 2100B: who asks (the submitter, as known to the payer).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InformationReceiver {
    pub name: String,
    /// NM109 with qualifier 46 (ETIN).
    pub id: String,
}

/// Writes a 276 with one inquiry per request.
pub fn write_276<W: Write>(
    out: W,
    env: &Envelope,
    receiver: &InformationReceiver,
    requests: &[ClaimStatusRequest],
) -> Result<W, X12Error> {
    let mut w = X12Writer::new(out, Delimiters::default());
    w.begin_all(env, "HR", "276", VERSION)?;
    let g = &env.group;
    w.segment(
        "BHT",
        &[
            "0010",
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
        let recv_hl = hl.to_string();
        w.segment("HL", &[&recv_hl, &payer_hl, "21", "1"])?;
        w.segment(
            "NM1",
            &[
                "41",
                "2",
                &text(&receiver.name),
                "",
                "",
                "",
                "",
                "46",
                &text(&receiver.id),
            ],
        )?;
        hl += 1;
        let prov_hl = hl.to_string();
        w.segment("HL", &[&prov_hl, &recv_hl, "19", "1"])?;
        provider_nm1(&mut w, "1P", &r.provider)?;
        hl += 1;
        let sub_hl = hl.to_string();
        let dependent = r.patient.is_some();
        w.segment(
            "HL",
            &[&sub_hl, &prov_hl, "22", if dependent { "1" } else { "0" }],
        )?;
        let s = &r.subscriber;
        if !dependent {
            dmg(&mut w, s.birth_date.as_deref(), s.sex)?;
        }
        if s.member_id.is_none() {
            return Err(err_at(
                &w,
                "NM1",
                "subscriber member id is required (NM109)",
            ));
        }
        person_nm1(&mut w, "IL", &s.name, s.member_id.as_deref())?;
        if let Some(p) = &r.patient {
            hl += 1;
            w.segment("HL", &[&hl.to_string(), &sub_hl, "23"])?;
            dmg(&mut w, p.birth_date.as_deref(), p.sex)?;
            person_nm1(&mut w, "QC", &p.name, None)?;
        }
        // 2200D/E claim status tracking.
        let trace = r
            .trace_number
            .clone()
            .unwrap_or_else(|| format!("{}-{}", env.transaction_control_number, i + 1));
        w.segment("TRN", &["1", &text(&trace)])?;
        if let Some(n) = r.payer_claim_number.as_deref().filter(|n| !n.is_empty()) {
            w.segment("REF", &["1K", &text(n)])?;
        }
        if r.claim_control_number.trim().is_empty() {
            return Err(err_at(
                &w,
                "REF",
                "claim control number (REF*EJ) is missing",
            ));
        }
        w.segment("REF", &["EJ", &text(&r.claim_control_number)])?;
        if let Some(t) = r.total_charge.as_deref() {
            let t = x12_amount(t)
                .ok_or_else(|| err_at(&w, "AMT", "AMT02 (total charge) is not a valid amount"))?;
            w.segment("AMT", &["T3", &t])?;
        }
        let date = |d: &Option<String>| -> Result<Option<String>, X12Error> {
            d.as_deref()
                .map(|d| {
                    x12_date(d).ok_or_else(|| {
                        err_at(&w, "DTP", "DTP03 (service period) is not an ISO date")
                    })
                })
                .transpose()
        };
        let (start, end) = (date(&r.service_period.start)?, date(&r.service_period.end)?);
        match (start, end) {
            (Some(a), Some(b)) if a != b => {
                w.segment("DTP", &["472", "RD8", &format!("{a}-{b}")])?
            }
            (Some(a), _) | (None, Some(a)) => w.segment("DTP", &["472", "D8", &a])?,
            (None, None) => {
                return Err(err_at(
                    &w,
                    "DTP",
                    "the service period is required (DTP*472)",
                ));
            }
        }
    }
    w.end_all()?;
    w.finish()
}

fn opt_money(seg: &crate::Segment<'_>, i: usize) -> Result<Option<String>, X12Error> {
    match seg.get(i).as_ref() {
        "" => Ok(None),
        v => Ok(Some(money(parse_decimal(v).ok_or_else(|| {
            seg.error(format!("STC{i:02} is not a valid amount"))
        })?))),
    }
}

/// Parses a 277 into one response per claim (2200D/2200E).
pub fn parse_277<R: BufRead>(input: R) -> Result<Vec<ClaimStatusResponse>, X12Error> {
    let mut rd = X12Reader::new(input);
    let mut out = Vec::new();
    let mut current: Option<ClaimStatusResponse> = None;
    let mut in_claim = false;
    let mut member: Option<String> = None;
    // HL03 of the current level, and the 2200B TRN02 (BHT03 of the 837P) of the current
    // information receiver.
    let mut level: Option<String> = None;
    let mut batch_reference: Option<String> = None;
    while let Some(seg) = rd.next_segment()? {
        let id = seg.id();
        match id {
            "NM1" => {
                // 2100D subscriber: the claims after it are about this member.
                if seg.get(1) == "IL" {
                    member = seg.opt(9);
                }
            }
            "ISA" | "GS" | "GE" | "IEA" | "BHT" | "PER" | "DMG" | "QTY" | "AMT" => {}
            "ST" => {
                if seg.get(1) != "277" {
                    return Err(seg.error("transaction set is not a 277"));
                }
            }
            "HL" => {
                out.extend(current.take());
                in_claim = false;
                level = seg.opt(3);
                if level.as_deref() == Some("21") {
                    batch_reference = None;
                }
            }
            "SE" => {
                out.extend(current.take());
                batch_reference = None;
            }
            "TRN" => {
                out.extend(current.take());
                in_claim = true;
                if level.as_deref() == Some("21") {
                    batch_reference = seg.opt(2);
                }
                current = Some(ClaimStatusResponse {
                    schema_version: SCHEMA_VERSION,
                    trace_number: seg.opt(2),
                    member_id: member.clone(),
                    level: level.clone(),
                    batch_reference: batch_reference.clone(),
                    ..ClaimStatusResponse::default()
                });
            }
            "STC" => {
                let Some(c) = current.as_mut().filter(|_| in_claim) else {
                    // Status of a whole batch or provider (2200B/C): not a claim's.
                    continue;
                };
                let code = seg.element(1);
                let category = code.component(1).into_owned();
                if category.is_empty() {
                    return Err(seg.error("STC01-1 (status category code) is missing"));
                }
                let date = |i: usize| -> Result<Option<String>, X12Error> {
                    match seg.get(i).as_ref() {
                        "" => Ok(None),
                        v => iso_date(v)
                            .map(Some)
                            .ok_or_else(|| seg.error(format!("STC{i:02} is not a CCYYMMDD date"))),
                    }
                };
                c.statuses.push(ClaimStatus {
                    category_code: category,
                    status_code: code.component(2).into_owned(),
                    entity_code: Some(code.component(3).into_owned()).filter(|e| !e.is_empty()),
                    effective_date: date(2)?,
                    total_charge: opt_money(&seg, 4)?,
                    paid_amount: opt_money(&seg, 5)?,
                    paid_date: date(6)?,
                    check_number: seg.opt(9),
                    message: seg.opt(12),
                });
            }
            "REF" => {
                if let Some(c) = current.as_mut().filter(|_| in_claim) {
                    match seg.get(1).as_ref() {
                        "1K" => c.payer_claim_number = seg.opt(2),
                        "EJ" => c.claim_control_number = seg.get(2).into_owned(),
                        _ => {}
                    }
                }
            }
            "DTP" | "SVC" => {}
            "AAA" => {
                if let Some(c) = current.as_mut() {
                    c.rejections.push(Rejection {
                        reason_code: seg.get(3).into_owned(),
                        follow_up_action: seg.opt(4),
                        message: None,
                    });
                }
            }
            _ => return Err(seg.error(format!("{id} is not expected in a 277"))),
        }
    }
    Ok(out)
}
