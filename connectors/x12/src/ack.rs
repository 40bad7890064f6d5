//! Acknowledgments: 999 implementation acknowledgment (005010X231A1) and TA1 interchange
//! acknowledgment — parsed from a partner, and generated for files we receive.
//!
//! IK404 (a copy of the bad element) is never read or written: it may hold PHI.

use std::io::{BufRead, Write};

use crate::Delimiters;
use crate::X12Error;
use crate::reader::X12Reader;
use crate::writer::{GroupHeader, InterchangeHeader, X12Writer};
use crate::x835::Machine835;

/// The 999 guide (ST03, GS08).
pub const VERSION_999: &str = "005010X231A1";

/// An element error (IK4).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ElementError {
    /// IK401-1.
    pub position: u32,
    /// IK401-2.
    pub component: Option<u32>,
    /// IK402.
    pub element_reference: Option<String>,
    /// IK403 (`1` required element missing, `6` invalid character, `7` invalid code value,
    /// `8` invalid date...).
    pub code: String,
}

/// A segment error (IK3 with its IK4s).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SegmentError {
    /// IK301.
    pub segment_id: String,
    /// IK302: position in the transaction set (ST is 1).
    pub position: u32,
    /// IK303.
    pub loop_id: Option<String>,
    /// IK304 (`2` unexpected segment, `3` mandatory segment missing, `8` segment has data
    /// element errors...).
    pub code: String,
    pub elements: Vec<ElementError>,
}

/// One transaction set's acknowledgment (AK2..IK5).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TransactionAck {
    /// AK201 (`837`).
    pub transaction_id: String,
    /// AK202 (the ST02 acknowledged).
    pub control_number: String,
    /// AK203.
    pub implementation: Option<String>,
    /// IK501: `A` accepted, `E` accepted with errors, `R` rejected, `M`/`W`/`X`.
    pub status: String,
    /// IK502..IK506.
    pub codes: Vec<String>,
    pub errors: Vec<SegmentError>,
}

impl TransactionAck {
    pub fn accepted(&self) -> bool {
        matches!(self.status.as_str(), "A" | "E")
    }
}

/// A 999 for one functional group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ack999 {
    /// AK101 (`HC`).
    pub functional_id: String,
    /// AK102, the GS06 acknowledged.
    pub group_control_number: String,
    /// AK103.
    pub version: Option<String>,
    pub transactions: Vec<TransactionAck>,
    /// AK901: `A`, `E`, `P` (partially accepted), `R`.
    pub status: String,
    /// AK902..AK904.
    pub included: u32,
    pub received: u32,
    pub accepted: u32,
    /// AK905..AK909.
    pub codes: Vec<String>,
}

impl Ack999 {
    pub fn accepted(&self) -> bool {
        matches!(self.status.as_str(), "A" | "E" | "P")
    }
}

/// A TA1 interchange acknowledgment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ta1 {
    /// TA101, the ISA13 acknowledged.
    pub control_number: String,
    pub date: String,
    pub time: String,
    /// TA104: `A` accepted, `E` accepted with errors, `R` rejected.
    pub status: String,
    /// TA105 note code (`000` no error, `001` IEA02 does not match ISA13, `021` invalid
    /// number of groups, `024` invalid interchange content...).
    pub note_code: String,
}

impl Ta1 {
    pub fn accepted(&self) -> bool {
        matches!(self.status.as_str(), "A" | "E")
    }
}

/// Everything acknowledged in one file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Acknowledgments {
    pub ta1: Vec<Ta1>,
    pub ack999: Vec<Ack999>,
}

fn num(seg: &crate::Segment<'_>, i: usize) -> Result<u32, X12Error> {
    seg.get(i)
        .parse()
        .map_err(|_| seg.error(format!("{}{i:02} is not a number", seg.id())))
}

/// Parses TA1 segments and 999 transactions.
pub fn parse_acks<R: BufRead>(input: R) -> Result<Acknowledgments, X12Error> {
    let mut rd = X12Reader::new(input);
    let mut out = Acknowledgments::default();
    let mut ack: Option<Ack999> = None;
    while let Some(seg) = rd.next_segment()? {
        match seg.id() {
            "ISA" | "GS" | "GE" | "IEA" | "CTX" => {}
            "TA1" => out.ta1.push(Ta1 {
                control_number: seg.get(1).into_owned(),
                date: seg.get(2).into_owned(),
                time: seg.get(3).into_owned(),
                status: seg.get(4).into_owned(),
                note_code: seg.get(5).into_owned(),
            }),
            "ST" => {
                if seg.get(1) != "999" {
                    return Err(seg.error("transaction set is not a 999"));
                }
                ack = Some(Ack999::default());
            }
            "AK1" => {
                let a = ack.get_or_insert_with(Ack999::default);
                a.functional_id = seg.get(1).into_owned();
                a.group_control_number = seg.get(2).into_owned();
                a.version = seg.opt(3);
            }
            "AK2" => {
                let a = ack.as_mut().ok_or_else(|| seg.error("AK2 before AK1"))?;
                a.transactions.push(TransactionAck {
                    transaction_id: seg.get(1).into_owned(),
                    control_number: seg.get(2).into_owned(),
                    implementation: seg.opt(3),
                    ..TransactionAck::default()
                });
            }
            "IK3" => {
                let t = ack
                    .as_mut()
                    .and_then(|a| a.transactions.last_mut())
                    .ok_or_else(|| seg.error("IK3 outside an AK2 loop"))?;
                t.errors.push(SegmentError {
                    segment_id: seg.get(1).into_owned(),
                    position: num(&seg, 2)?,
                    loop_id: seg.opt(3),
                    code: seg.get(4).into_owned(),
                    elements: Vec::new(),
                });
            }
            "IK4" => {
                let s = ack
                    .as_mut()
                    .and_then(|a| a.transactions.last_mut())
                    .and_then(|t| t.errors.last_mut())
                    .ok_or_else(|| seg.error("IK4 outside an IK3 loop"))?;
                let pos = seg.element(1);
                s.elements.push(ElementError {
                    position: pos
                        .component(1)
                        .parse()
                        .map_err(|_| seg.error("IK401-1 is not a number"))?,
                    component: pos.component(2).parse().ok(),
                    element_reference: seg.opt(2),
                    code: seg.get(3).into_owned(),
                });
            }
            "IK5" => {
                let t = ack
                    .as_mut()
                    .and_then(|a| a.transactions.last_mut())
                    .ok_or_else(|| seg.error("IK5 outside an AK2 loop"))?;
                t.status = seg.get(1).into_owned();
                t.codes = (2..=6).filter_map(|i| seg.opt(i)).collect();
            }
            "AK9" => {
                let a = ack.as_mut().ok_or_else(|| seg.error("AK9 before AK1"))?;
                a.status = seg.get(1).into_owned();
                a.included = num(&seg, 2)?;
                a.received = num(&seg, 3)?;
                a.accepted = num(&seg, 4)?;
                a.codes = (5..=9).filter_map(|i| seg.opt(i)).collect();
            }
            "SE" => out.ack999.extend(ack.take()),
            _ => return Err(seg.error("segment not expected in a 999")),
        }
    }
    Ok(out)
}

/// The envelope of an acknowledgment we send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub interchange: InterchangeHeader,
    /// GS02..GS06; GS01 and GS08 are set by the writer.
    pub group: GroupHeader,
}

/// The 999 codes for one of our reader's errors.
fn classify(err: &X12Error) -> (Option<SegmentError>, String) {
    let r = err.reason.as_str();
    if r.starts_with("SE01") {
        return (None, "4".into());
    }
    if r.starts_with("SE02") {
        return (None, "3".into());
    }
    let elem = {
        let b = r.as_bytes();
        let id = err.segment_id.len();
        (b.len() > id + 2 && r.starts_with(&err.segment_id))
            .then(|| r[id..id + 2].parse::<u32>().ok())
            .flatten()
    };
    let (ik3, ik4) = if r.contains("not allowed")
        || r.contains("outside")
        || r.contains("out of order")
        || r.contains("not expected")
    {
        ("2", None)
    } else if r.contains("is missing") {
        ("8", Some("1"))
    } else if r.contains("date") {
        ("8", Some("8"))
    } else if r.contains("code") {
        ("8", Some("7"))
    } else if r.contains("valid amount") || r.contains("number") || r.contains("quantity") {
        ("8", Some("6"))
    } else {
        ("8", None)
    };
    let elements = match (elem, ik4) {
        (Some(position), Some(code)) => vec![ElementError {
            position,
            component: None,
            element_reference: None,
            code: code.into(),
        }],
        _ => Vec::new(),
    };
    (
        Some(SegmentError {
            segment_id: err.segment_id.clone(),
            position: 0,
            loop_id: None,
            code: ik3.into(),
            elements,
        }),
        "5".into(),
    )
}

/// Checks a received file (envelopes everywhere; 835 content rules in `HP` groups) and builds
/// the 999 for its functional group. Processing stops at the first rejected transaction set:
/// the ones after it are not acknowledged (AK902 counts those included).
///
/// An error in the interchange envelope itself (ISA, GS, GE, IEA) is returned as `Err`: answer
/// it with [`write_ta1`] instead.
pub fn acknowledge<R: BufRead>(input: R) -> Result<Ack999, X12Error> {
    let mut ack = Ack999::default();
    let mut rd = X12Reader::new(input);
    let mut m835: Option<Machine835> = None;
    let mut st_number = 0usize;
    let mut current: Option<TransactionAck> = None;
    loop {
        let step = match rd.next_segment() {
            Ok(Some(seg)) => {
                let id = seg.id().to_string();
                let number = seg.number();
                let checked = match m835.as_mut() {
                    Some(m) => m.handle(&seg).map(|()| while m.pop_event().is_some() {}),
                    None => Ok(()),
                };
                checked.map(|()| Some((id, number)))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        };
        let (id, number) = match step {
            Ok(Some(s)) => s,
            Ok(None) => break,
            Err(e) => {
                let Some(mut t) = current.take() else {
                    return Err(e);
                };
                let (ik3, code) = classify(&e);
                if let Some(mut s) = ik3 {
                    s.position = (e.segment_number + 1).saturating_sub(st_number) as u32;
                    t.errors.push(s);
                }
                t.status = "R".into();
                t.codes = vec![code];
                ack.transactions.push(t);
                break;
            }
        };
        match id.as_str() {
            "GS" => {
                let g = rd.group().cloned().unwrap_or_default();
                m835 = (g.functional_id == "HP").then(Machine835::default);
                ack.functional_id = g.functional_id;
                ack.group_control_number = g.control_number;
                ack.version = Some(g.version);
            }
            "ST" => {
                st_number = number;
                let t = rd.transaction().cloned().unwrap_or_default();
                current = Some(TransactionAck {
                    transaction_id: t.id,
                    control_number: t.control_number,
                    implementation: t.implementation,
                    ..TransactionAck::default()
                });
            }
            "SE" => {
                if let Some(mut t) = current.take() {
                    t.status = "A".into();
                    ack.transactions.push(t);
                }
            }
            _ => {}
        }
    }
    let accepted = ack.transactions.iter().filter(|t| t.accepted()).count() as u32;
    let included = ack.transactions.len() as u32;
    ack.included = included;
    ack.received = included;
    ack.accepted = accepted;
    ack.status = if accepted == included && included > 0 {
        "A"
    } else if accepted == 0 {
        "R"
    } else {
        "P"
    }
    .into();
    Ok(ack)
}

/// Writes a 999 for `ack` in its own interchange.
pub fn write_999<W: Write>(out: W, reply: &Reply, ack: &Ack999) -> Result<W, X12Error> {
    let mut w = X12Writer::new(out, Delimiters::default());
    w.begin_interchange(&reply.interchange)?;
    let mut g = reply.group.clone();
    g.functional_id = "FA".into();
    g.version = VERSION_999.into();
    w.begin_group(&g)?;
    w.begin_transaction("999", "0001", Some(VERSION_999))?;
    w.segment(
        "AK1",
        &[
            &ack.functional_id,
            &ack.group_control_number,
            ack.version.as_deref().unwrap_or(""),
        ],
    )?;
    for t in &ack.transactions {
        w.segment(
            "AK2",
            &[
                &t.transaction_id,
                &t.control_number,
                t.implementation.as_deref().unwrap_or(""),
            ],
        )?;
        for s in &t.errors {
            let pos = s.position.to_string();
            w.segment(
                "IK3",
                &[
                    &s.segment_id,
                    &pos,
                    s.loop_id.as_deref().unwrap_or(""),
                    &s.code,
                ],
            )?;
            for e in &s.elements {
                let p = e.position.to_string();
                let c = e.component.map(|c| c.to_string()).unwrap_or_default();
                let position = w.composite(&[&p, &c]);
                w.segment(
                    "IK4",
                    &[
                        &position,
                        e.element_reference.as_deref().unwrap_or(""),
                        &e.code,
                    ],
                )?;
            }
        }
        let mut ik5: Vec<&str> = vec![&t.status];
        ik5.extend(t.codes.iter().map(String::as_str));
        w.segment("IK5", &ik5)?;
    }
    let (inc, rec, acc) = (
        ack.included.to_string(),
        ack.received.to_string(),
        ack.accepted.to_string(),
    );
    let mut ak9: Vec<&str> = vec![&ack.status, &inc, &rec, &acc];
    ak9.extend(ack.codes.iter().map(String::as_str));
    w.segment("AK9", &ak9)?;
    w.end_transaction()?;
    w.end_group()?;
    w.end_interchange()?;
    w.finish()
}

/// Writes a TA1 in its own interchange (no functional group).
pub fn write_ta1<W: Write>(
    out: W,
    interchange: &InterchangeHeader,
    ta1: &Ta1,
) -> Result<W, X12Error> {
    let mut w = X12Writer::new(out, Delimiters::default());
    w.begin_interchange(interchange)?;
    w.ta1(&[
        &ta1.control_number,
        &ta1.date,
        &ta1.time,
        &ta1.status,
        &ta1.note_code,
    ])?;
    w.end_interchange()?;
    w.finish()
}

/// The TA1 answering a received interchange: accepted, or rejected with a note code derived
/// from the envelope error.
pub fn ta1_for<R: BufRead>(input: R) -> Ta1 {
    let mut rd = X12Reader::new(input);
    let mut isa = None;
    let result = loop {
        match rd.next_segment() {
            Ok(Some(seg)) => {
                if seg.id() == "ISA" {
                    isa = rd.interchange().cloned();
                }
            }
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    let isa = isa.unwrap_or_default();
    let note = match &result {
        Ok(()) => "000",
        Err(e) if e.reason.starts_with("IEA02") => "001",
        Err(e) if e.reason.starts_with("IEA01") => "021",
        Err(e) if e.segment_id == "ISA" => "024",
        Err(e) if e.reason.contains("no IEA") => "023",
        Err(_) => "024",
    };
    Ta1 {
        control_number: isa.control_number,
        date: isa.date,
        time: isa.time,
        // Errors inside transaction sets are for the 999; the interchange itself is fine.
        status: match &result {
            Ok(()) => "A".into(),
            Err(e) if !matches!(e.segment_id.as_str(), "ISA" | "IEA" | "GS" | "GE" | "?") => {
                "A".into()
            }
            Err(_) => "R".into(),
        },
        note_code: match &result {
            Err(e) if !matches!(e.segment_id.as_str(), "ISA" | "IEA" | "GS" | "GE" | "?") => {
                "000".into()
            }
            _ => note.into(),
        },
    }
}
