//! 837 Professional claims (005010X222A1) from canonical [`ClaimSubmission`]s, and a reader of
//! the same layout back into canonical claims (used for round trips and by tests).
//!
//! Claims are grouped into one transaction set: one 2000A billing-provider HL per billing
//! provider, one 2000B subscriber HL per subscriber/payer/priority under it, and a 2000C patient
//! HL per dependent patient under the subscriber, each HL pointing at its parent.
//!
//! Not written (no canonical data for them): the 2310C service facility (needs an address),
//! 2420A line-level rendering providers (need a name), claim-level DTP dates other than the
//! lines' DTP*472.

use std::collections::HashMap;
use std::io::{BufRead, Write};

use revcycle_connector_abi::canonical::v1::{
    Address, Adjustment, BillingProvider, ClaimSubmission, CoveragePriority, Demographics,
    LineAdjudication, PayerRef, PersonName, PriorPayerAdjudication, ProviderRef, Sex,
    SubmissionReceipt, Subscriber, SubscriberRelationship,
};
use rust_decimal::Decimal;

use crate::X12Error;
use crate::reader::{Delimiters, Segment, X12Reader};
use crate::util::{digits, iso_date, money, parse_decimal, text, x12_amount, x12_date};
use crate::writer::{GroupHeader, InterchangeHeader, X12Writer};

/// The implementation guide this module writes (ST03, GS08).
pub const VERSION: &str = "005010X222A1";

/// Loop 1000A: who sends the file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Submitter {
    pub name: String,
    /// NM109, the submitter's ETIN at the receiver.
    pub id: String,
    pub contact_name: String,
    pub phone: String,
    pub email: Option<String>,
}

/// Loop 1000B: who receives it (clearinghouse or payer).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Receiver {
    pub name: String,
    pub id: String,
}

/// Everything about an 837P file except the claims.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch837 {
    pub interchange: InterchangeHeader,
    /// GS02/GS03, GS04 (`CCYYMMDD`, also BHT04), GS05 (`HHMM`, also BHT05), GS06.
    /// `functional_id` and `version` are set by the writer (`HC`, [`VERSION`]).
    pub group: GroupHeader,
    /// ST02.
    pub transaction_control_number: String,
    /// BHT03, the originator's batch reference.
    pub reference: String,
    pub submitter: Submitter,
    pub receiver: Receiver,
    /// SBR09 / 2320 SBR09 (`CI` commercial, `MB` Medicare Part B, `MC` Medicaid...).
    pub claim_filing_indicator: String,
}

impl Batch837 {
    /// A batch with the usual defaults: `*`, `^`, `:`, `~` delimiters, commercial filing.
    pub fn new(
        interchange: InterchangeHeader,
        group: GroupHeader,
        submitter: Submitter,
        receiver: Receiver,
    ) -> Self {
        Batch837 {
            transaction_control_number: "0001".into(),
            reference: format!("{:09}", interchange.control_number),
            interchange,
            group,
            submitter,
            receiver,
            claim_filing_indicator: "CI".into(),
        }
    }
}

/// What was written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary837 {
    /// ISA13.
    pub interchange_control_number: String,
    /// SE01 of the transaction.
    pub segments: u32,
    pub claim_control_numbers: Vec<String>,
}

impl Summary837 {
    /// The canonical receipt for these claims.
    pub fn receipt(&self, transport_reference: Option<String>) -> SubmissionReceipt {
        SubmissionReceipt {
            interchange_control_number: Some(self.interchange_control_number.clone()),
            transport_reference,
            claim_control_numbers: self.claim_control_numbers.clone(),
            ..SubmissionReceipt::default()
        }
    }
}

/// Writes one interchange (ISA/GS/ST...SE/GE/IEA) with all `claims` in one 837P transaction.
pub fn write_837p<W: Write>(
    out: W,
    batch: &Batch837,
    claims: &[ClaimSubmission],
    delimiters: Delimiters,
    newlines: bool,
) -> Result<(W, Summary837), X12Error> {
    let mut w = X12Writer::new(out, delimiters).with_newlines(newlines);
    w.begin_interchange(&batch.interchange)?;
    let mut group = batch.group.clone();
    group.functional_id = "HC".into();
    group.version = VERSION.into();
    w.begin_group(&group)?;
    let segments = write_837p_transaction(&mut w, batch, claims)?;
    w.end_group()?;
    w.end_interchange()?;
    let out = w.finish()?;
    Ok((
        out,
        Summary837 {
            interchange_control_number: format!("{:09}", batch.interchange.control_number),
            segments,
            claim_control_numbers: claims
                .iter()
                .map(|c| c.claim_control_number.clone())
                .collect(),
        },
    ))
}

/// The 837P as a string with default delimiters, one segment per line.
pub fn to_837p_string(batch: &Batch837, claims: &[ClaimSubmission]) -> Result<String, X12Error> {
    let (bytes, _) = write_837p(Vec::new(), batch, claims, Delimiters::default(), true)?;
    Ok(String::from_utf8(bytes).expect("X12 output is ASCII"))
}

fn priority_code(p: CoveragePriority) -> &'static str {
    match p {
        CoveragePriority::Primary => "P",
        CoveragePriority::Secondary => "S",
        CoveragePriority::Tertiary => "T",
    }
}

/// Individual relationship code (SBR02/PAT01): 18 self, 01 spouse, 19 child, G8 other.
fn relationship_code(r: SubscriberRelationship) -> &'static str {
    match r {
        SubscriberRelationship::SelfInsured => "18",
        SubscriberRelationship::Spouse => "01",
        SubscriberRelationship::Child => "19",
        SubscriberRelationship::Other => "G8",
    }
}

fn sex_code(s: Sex) -> &'static str {
    match s {
        Sex::Male => "M",
        Sex::Female => "F",
        _ => "U",
    }
}

fn is_self(c: &ClaimSubmission) -> bool {
    c.patient.is_none() && c.relationship == SubscriberRelationship::SelfInsured
}

fn key(parts: &[&str]) -> String {
    parts.join("\u{1f}")
}

fn name_key(n: &PersonName) -> String {
    key(&[
        &n.family,
        &n.given.join(" "),
        n.suffix.as_deref().unwrap_or(""),
    ])
}

struct Grouped<'a> {
    providers: Vec<(&'a BillingProvider, Vec<SubscriberGroup<'a>>)>,
}

struct SubscriberGroup<'a> {
    first: &'a ClaimSubmission,
    own: Vec<&'a ClaimSubmission>,
    patients: Vec<(&'a ClaimSubmission, Vec<&'a ClaimSubmission>)>,
}

fn group_claims(claims: &[ClaimSubmission]) -> Grouped<'_> {
    let mut providers: Vec<(&BillingProvider, Vec<SubscriberGroup<'_>>)> = Vec::new();
    let mut bp_index: HashMap<String, usize> = HashMap::new();
    let mut sub_index: HashMap<(usize, String), usize> = HashMap::new();
    for c in claims {
        let bp = &c.billing_provider;
        let bk = key(&[
            &bp.npi,
            &bp.tin,
            &bp.name,
            bp.taxonomy_code.as_deref().unwrap_or(""),
        ]);
        let bi = *bp_index.entry(bk).or_insert_with(|| {
            providers.push((bp, Vec::new()));
            providers.len() - 1
        });
        let s = &c.subscriber;
        let sk = key(&[
            s.member_id.as_deref().unwrap_or(""),
            &name_key(&s.name),
            s.birth_date.as_deref().unwrap_or(""),
            &c.payer.name,
            c.payer.payer_id.as_deref().unwrap_or(""),
            priority_code(c.priority),
            c.group_number.as_deref().unwrap_or(""),
            c.claim_filing_indicator.as_deref().unwrap_or(""),
            if is_self(c) { "self" } else { "dependent" },
        ]);
        let subs = &mut providers[bi].1;
        let si = *sub_index.entry((bi, sk)).or_insert_with(|| {
            subs.push(SubscriberGroup {
                first: c,
                own: Vec::new(),
                patients: Vec::new(),
            });
            subs.len() - 1
        });
        let sg = &mut subs[si];
        if is_self(c) {
            sg.own.push(c);
        } else {
            let pk = |x: &ClaimSubmission| {
                let p = x.patient.as_ref();
                key(&[
                    &p.map(|p| name_key(&p.name)).unwrap_or_default(),
                    p.and_then(|p| p.birth_date.as_deref()).unwrap_or(""),
                    relationship_code(x.relationship),
                ])
            };
            let k = pk(c);
            match sg.patients.iter_mut().find(|(f, _)| pk(f) == k) {
                Some((_, list)) => list.push(c),
                None => sg.patients.push((c, vec![c])),
            }
        }
    }
    Grouped { providers }
}

struct Tx<'w, W: Write> {
    w: &'w mut X12Writer<W>,
}

impl<W: Write> Tx<'_, W> {
    fn seg(&mut self, id: &str, els: &[&str]) -> Result<(), X12Error> {
        self.w.segment(id, els)
    }

    fn err(&self, id: &str, reason: impl Into<String>) -> X12Error {
        X12Error::new(self.w.segment_number() + 1, id, reason)
    }

    fn comp(&self, parts: &[&str]) -> String {
        self.w.composite(parts)
    }

    fn amount(&self, id: &str, what: &str, v: &str) -> Result<String, X12Error> {
        x12_amount(v).ok_or_else(|| self.err(id, format!("{what} is not a valid amount")))
    }

    fn date(&self, id: &str, what: &str, v: &str) -> Result<String, X12Error> {
        x12_date(v).ok_or_else(|| self.err(id, format!("{what} is not an ISO date")))
    }

    fn address(&mut self, a: &Address) -> Result<(), X12Error> {
        let l1 = text(a.lines.first().map(String::as_str).unwrap_or(""));
        let l2 = text(a.lines.get(1).map(String::as_str).unwrap_or(""));
        if l1.is_empty() {
            return Err(self.err("N3", "address has no street line (N301)"));
        }
        self.seg("N3", &[&l1, &l2])?;
        let country = a.country.as_deref().filter(|c| *c != "US").unwrap_or("");
        self.seg(
            "N4",
            &[
                &text(&a.city),
                &text(&a.state),
                &digits(&a.postal_code),
                &text(country),
            ],
        )
    }

    /// NM1 for a person: NM103 family, NM104 first, NM105 middle, NM107 suffix.
    fn person(
        &mut self,
        entity: &str,
        name: &PersonName,
        id_qual: &str,
        id: Option<&str>,
    ) -> Result<(), X12Error> {
        let family = text(&name.family);
        if family.is_empty() {
            return Err(self.err("NM1", format!("NM1*{entity} has no family name (NM103)")));
        }
        let first = text(name.given.first().map(String::as_str).unwrap_or(""));
        let middle = text(&name.given.get(1..).unwrap_or(&[]).join(" "));
        let suffix = text(name.suffix.as_deref().unwrap_or(""));
        let id = id.map(text).unwrap_or_default();
        let q = if id.is_empty() { "" } else { id_qual };
        self.seg(
            "NM1",
            &[entity, "1", &family, &first, &middle, "", &suffix, q, &id],
        )
    }

    fn dmg(&mut self, dob: Option<&str>, sex: Sex) -> Result<(), X12Error> {
        let Some(dob) = dob else {
            return Err(self.err("DMG", "birth date is required (DMG02)"));
        };
        let d = self.date("DMG", "DMG02 (birth date)", dob)?;
        self.seg("DMG", &["D8", &d, sex_code(sex)])
    }

    fn payer(&mut self, p: &PayerRef, nm1_entity: &str) -> Result<(), X12Error> {
        let name = text(&p.name);
        let id = p.payer_id.as_deref().map(text).unwrap_or_default();
        if name.is_empty() || id.is_empty() {
            return Err(self.err(
                "NM1",
                format!("NM1*{nm1_entity} needs the payer's name and id"),
            ));
        }
        self.seg("NM1", &[nm1_entity, "2", &name, "", "", "", "", "PI", &id])
    }

    fn cas(&mut self, adjustments: &[Adjustment]) -> Result<(), X12Error> {
        let mut groups: Vec<&str> = Vec::new();
        for a in adjustments {
            if !groups.contains(&a.group.as_str()) {
                groups.push(&a.group);
            }
        }
        for g in groups {
            if !crate::x835::ADJUSTMENT_GROUPS.contains(&g) {
                return Err(self.err("CAS", "CAS01 is not a claim adjustment group code"));
            }
            let of_group: Vec<&Adjustment> = adjustments.iter().filter(|a| a.group == g).collect();
            for chunk in of_group.chunks(6) {
                let mut els: Vec<String> = vec![g.to_string()];
                for a in chunk {
                    els.push(text(&a.reason));
                    els.push(self.amount("CAS", "CAS adjustment amount", &a.amount)?);
                    els.push(match &a.quantity {
                        Some(q) => self.amount("CAS", "CAS adjustment quantity", q)?,
                        None => String::new(),
                    });
                }
                let refs: Vec<&str> = els.iter().map(String::as_str).collect();
                self.seg("CAS", &refs)?;
            }
        }
        Ok(())
    }

    fn procedure(&self, code: &str, modifiers: &[String]) -> Result<String, X12Error> {
        if modifiers.len() > 4 {
            return Err(self.err("SV1", "more than four procedure modifiers"));
        }
        let code = text(code);
        if code.is_empty() {
            return Err(self.err("SV1", "procedure code is missing"));
        }
        let mods: Vec<String> = modifiers.iter().map(|m| text(m)).collect();
        let mut parts: Vec<&str> = vec!["HC", &code];
        parts.extend(mods.iter().map(String::as_str));
        Ok(self.comp(&parts))
    }
}

/// Writes one 837P transaction set (ST..SE) into an open functional group; returns SE01.
pub fn write_837p_transaction<W: Write>(
    w: &mut X12Writer<W>,
    batch: &Batch837,
    claims: &[ClaimSubmission],
) -> Result<u32, X12Error> {
    if claims.is_empty() {
        return Err(X12Error::new(0, "ST", "an 837P needs at least one claim"));
    }
    w.begin_transaction("837", &batch.transaction_control_number, Some(VERSION))?;
    let mut t = Tx { w };
    let g = &batch.group;
    t.seg(
        "BHT",
        &[
            "0019",
            "00",
            &text(&batch.reference),
            &g.date,
            &g.time,
            "CH",
        ],
    )?;
    // 1000A submitter, 1000B receiver.
    let s = &batch.submitter;
    t.seg(
        "NM1",
        &[
            "41",
            "2",
            &text(&s.name),
            "",
            "",
            "",
            "",
            "46",
            &text(&s.id),
        ],
    )?;
    let phone = digits(&s.phone);
    let email = s.email.as_deref().map(text).unwrap_or_default();
    let (q3, v3) = if email.is_empty() {
        ("", "")
    } else {
        ("EM", email.as_str())
    };
    t.seg("PER", &["IC", &text(&s.contact_name), "TE", &phone, q3, v3])?;
    t.seg(
        "NM1",
        &[
            "40",
            "2",
            &text(&batch.receiver.name),
            "",
            "",
            "",
            "",
            "46",
            &text(&batch.receiver.id),
        ],
    )?;

    let grouped = group_claims(claims);
    let mut hl = 0u32;
    for (bp, subscribers) in &grouped.providers {
        hl += 1;
        let bp_hl = hl.to_string();
        t.seg("HL", &[&bp_hl, "", "20", "1"])?;
        if let Some(tax) = &bp.taxonomy_code {
            t.seg("PRV", &["BI", "PXC", &text(tax)])?;
        }
        let npi = digits(&bp.npi);
        if npi.len() != 10 {
            return Err(t.err("NM1", "billing provider NPI must have 10 digits"));
        }
        t.seg(
            "NM1",
            &["85", "2", &text(&bp.name), "", "", "", "", "XX", &npi],
        )?;
        t.address(&bp.address)?;
        let tin = digits(&bp.tin);
        if tin.len() != 9 {
            return Err(t.err("REF", "billing provider TIN must have 9 digits"));
        }
        t.seg("REF", &["EI", &tin])?;
        if let Some(phone) = bp.phone.as_deref().map(digits).filter(|p| !p.is_empty()) {
            t.seg("PER", &["IC", &text(&bp.name), "TE", &phone])?;
        }
        for sg in subscribers {
            hl += 1;
            let sub_hl = hl.to_string();
            let c = sg.first;
            let has_children = if sg.patients.is_empty() { "0" } else { "1" };
            t.seg("HL", &[&sub_hl, &bp_hl, "22", has_children])?;
            let self_rel = if is_self(c) { "18" } else { "" };
            let filing = claim_filing_indicator(batch, c.claim_filing_indicator.as_deref());
            t.seg(
                "SBR",
                &[
                    priority_code(c.priority),
                    self_rel,
                    &text(c.group_number.as_deref().unwrap_or("")),
                    "",
                    "",
                    "",
                    "",
                    "",
                    &filing,
                ],
            )?;
            let sub = &c.subscriber;
            let Some(member) = sub.member_id.as_deref() else {
                return Err(t.err("NM1", "subscriber member id is required (NM109)"));
            };
            t.person("IL", &sub.name, "MI", Some(member))?;
            if let Some(a) = &sub.address {
                t.address(a)?;
            } else if is_self(c) {
                return Err(t.err(
                    "N3",
                    "the subscriber's address is required when they are the patient",
                ));
            }
            if is_self(c) {
                t.dmg(sub.birth_date.as_deref(), sub.sex)?;
            }
            t.payer(&c.payer, "PR")?;
            for claim in &sg.own {
                write_claim(&mut t, batch, claim)?;
            }
            for (first, list) in &sg.patients {
                hl += 1;
                t.seg("HL", &[&hl.to_string(), &sub_hl, "23", "0"])?;
                let rel = match first.relationship {
                    SubscriberRelationship::SelfInsured => "G8",
                    r => relationship_code(r),
                };
                t.seg("PAT", &[rel])?;
                let Some(p) = &first.patient else {
                    return Err(t.err(
                        "NM1",
                        "the patient is not the subscriber but has no demographics",
                    ));
                };
                t.person("QC", &p.name, "", None)?;
                let Some(a) = &p.address else {
                    return Err(t.err("N3", "the patient's address is required (loop 2010CA)"));
                };
                t.address(a)?;
                t.dmg(p.birth_date.as_deref(), p.sex)?;
                for claim in list {
                    write_claim(&mut t, batch, claim)?;
                }
            }
        }
    }
    t.w.end_transaction()
}

mod claim;
mod read;

use claim::{claim_filing_indicator, write_claim};
pub use read::read_837p;
