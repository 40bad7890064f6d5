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

fn yes(v: Option<bool>) -> bool {
    v.unwrap_or(true)
}

fn write_claim<W: Write>(
    t: &mut Tx<'_, W>,
    batch: &Batch837,
    c: &ClaimSubmission,
) -> Result<(), X12Error> {
    let pcn = text(&c.claim_control_number);
    if pcn.is_empty() || pcn.len() > 38 {
        return Err(t.err(
            "CLM",
            "CLM01 (claim control number) must have 1 to 38 characters",
        ));
    }
    let total = t.amount("CLM", "CLM02 (total charge)", &c.total_charge)?;
    let mut sum = Decimal::ZERO;
    for l in &c.lines {
        sum += parse_decimal(l.charge.trim())
            .ok_or_else(|| t.err("SV1", "SV102 (line charge) is not a valid amount"))?;
    }
    if parse_decimal(&total) != Some(sum) {
        return Err(t.err(
            "CLM",
            "CLM02 does not equal the sum of the line charges (SV102)",
        ));
    }
    if c.lines.is_empty() || c.lines.len() > 50 {
        return Err(t.err("LX", "a claim needs 1 to 50 service lines"));
    }
    let freq = if c.frequency_code.is_empty() {
        "1"
    } else {
        c.frequency_code.as_str()
    };
    let pos = text(&c.place_of_service);
    if pos.len() != 2 {
        return Err(t.err(
            "CLM",
            "CLM05-1 (place of service) must be a 2-character code",
        ));
    }
    let clm05 = t.comp(&[&pos, "B", freq]);
    t.seg(
        "CLM",
        &[
            &pcn,
            &total,
            "",
            "",
            &clm05,
            "Y",
            if yes(c.accepts_assignment) { "A" } else { "C" },
            if yes(c.benefits_assigned) { "Y" } else { "N" },
            if yes(c.release_of_information) {
                "Y"
            } else {
                "I"
            },
        ],
    )?;
    if matches!(freq, "7" | "8") {
        let Some(orig) = c.original_claim_number.as_deref().filter(|o| !o.is_empty()) else {
            return Err(t.err(
                "REF",
                "frequency 7/8 needs the original claim number (REF*F8)",
            ));
        };
        t.seg("REF", &["F8", &text(orig)])?;
    }
    if let Some(pa) = c.prior_authorization.as_deref().filter(|p| !p.is_empty()) {
        t.seg("REF", &["G1", &text(pa)])?;
    }
    if c.diagnoses.is_empty() || c.diagnoses.len() > 12 {
        return Err(t.err("HI", "a claim needs 1 to 12 diagnosis codes"));
    }
    let codes: Vec<String> = c
        .diagnoses
        .iter()
        .map(|d| text(d).replace('.', "").to_ascii_uppercase())
        .collect();
    let his: Vec<String> = codes
        .iter()
        .enumerate()
        .map(|(i, d)| t.comp(&[if i == 0 { "ABK" } else { "ABF" }, d]))
        .collect();
    let refs: Vec<&str> = his.iter().map(String::as_str).collect();
    t.seg("HI", &refs)?;
    // 2310A referring provider.
    if let Some(r) = &c.referring_provider {
        provider_nm1(t, "DN", r)?;
    }
    // 2310B rendering provider, when not the billing provider.
    if let Some(r) = &c.rendering_provider
        && digits(&r.npi) != digits(&c.billing_provider.npi)
    {
        provider_nm1(t, "82", r)?;
        if let Some(tax) = &r.taxonomy_code {
            t.seg("PRV", &["PE", "PXC", &text(tax)])?;
        }
    }
    // 2320/2330A/2330B other payers.
    for p in &c.prior_payers {
        write_other_payer(t, batch, c, p)?;
    }
    // 2400 lines.
    for (i, l) in c.lines.iter().enumerate() {
        let n = (i + 1).to_string();
        t.seg("LX", &[&n])?;
        let proc = t.procedure(&l.procedure_code, &l.modifiers)?;
        let charge = t.amount("SV1", "SV102 (line charge)", &l.charge)?;
        let units = t.amount("SV1", "SV104 (units)", &l.units)?;
        let line_pos = l
            .place_of_service
            .as_deref()
            .map(text)
            .filter(|p| *p != pos)
            .unwrap_or_default();
        if l.diagnosis_pointers.is_empty() || l.diagnosis_pointers.len() > 4 {
            return Err(t.err("SV1", "a line needs 1 to 4 diagnosis pointers"));
        }
        if l.diagnosis_pointers
            .iter()
            .any(|&p| p == 0 || p as usize > c.diagnoses.len())
        {
            return Err(t.err("SV1", "a diagnosis pointer does not point into the HI list"));
        }
        let ptrs: Vec<String> = l.diagnosis_pointers.iter().map(|p| p.to_string()).collect();
        let ptr_refs: Vec<&str> = ptrs.iter().map(String::as_str).collect();
        let ptr = t.comp(&ptr_refs);
        t.seg("SV1", &[&proc, &charge, "UN", &units, &line_pos, "", &ptr])?;
        let Some(date) = l.service_date.as_deref() else {
            return Err(t.err("DTP", "service line has no service date (DTP*472)"));
        };
        let d = t.date("DTP", "DTP03 (service date)", date)?;
        t.seg("DTP", &["472", "D8", &d])?;
        if let Some(lcn) = l.line_control_number.as_deref().filter(|v| !v.is_empty()) {
            t.seg("REF", &["6R", &text(lcn)])?;
        }
        if let Some(ndc) = l.ndc.as_deref().filter(|v| !v.is_empty()) {
            t.seg("LIN", &["", "N4", &digits(ndc)])?;
            t.seg("CTP", &["", "", "", &units, "UN"])?;
        }
        // 2430 line adjudication by each earlier payer.
        let line_no = l.line_number.unwrap_or(i as u32 + 1);
        for p in &c.prior_payers {
            for la in p
                .line_adjudications
                .iter()
                .filter(|a| a.line_number == line_no)
            {
                write_line_adjudication(t, p, la)?;
            }
        }
    }
    Ok(())
}

fn provider_nm1<W: Write>(
    t: &mut Tx<'_, W>,
    entity: &str,
    p: &ProviderRef,
) -> Result<(), X12Error> {
    let npi = digits(&p.npi);
    if npi.len() != 10 {
        return Err(t.err("NM1", format!("NM1*{entity} NPI must have 10 digits")));
    }
    let name = text(p.name.as_deref().unwrap_or(""));
    if name.is_empty() {
        return Err(t.err("NM1", format!("NM1*{entity} needs a name (NM103)")));
    }
    let first = p.first_name.as_deref().map(text).unwrap_or_default();
    let kind = if first.is_empty() && entity != "DN" {
        "2"
    } else {
        "1"
    };
    t.seg(
        "NM1",
        &[entity, kind, &name, &first, "", "", "", "XX", &npi],
    )
}

/// SBR09: the payer's own claim filing indicator when given, else the file's.
fn claim_filing_indicator(batch: &Batch837, own: Option<&str>) -> String {
    own.map(text)
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| batch.claim_filing_indicator.clone())
}

fn write_other_payer<W: Write>(
    t: &mut Tx<'_, W>,
    batch: &Batch837,
    c: &ClaimSubmission,
    p: &PriorPayerAdjudication,
) -> Result<(), X12Error> {
    let filing = claim_filing_indicator(batch, p.claim_filing_indicator.as_deref());
    t.seg(
        "SBR",
        &[
            priority_code(p.priority),
            relationship_code(p.relationship),
            &text(p.group_number.as_deref().unwrap_or("")),
            "",
            "",
            "",
            "",
            "",
            &filing,
        ],
    )?;
    t.cas(&p.claim_adjustments)?;
    let paid = t.amount("AMT", "AMT02 (payer paid amount)", &p.paid_amount)?;
    t.seg("AMT", &["D", &paid])?;
    if let Some(pr) = p
        .patient_responsibility
        .as_deref()
        .filter(|v| !v.is_empty())
    {
        let pr = t.amount("AMT", "AMT02 (remaining patient liability)", pr)?;
        t.seg("AMT", &["EAF", &pr])?;
    }
    t.seg(
        "OI",
        &[
            "",
            "",
            if yes(c.benefits_assigned) { "Y" } else { "N" },
            "",
            "",
            if yes(c.release_of_information) {
                "Y"
            } else {
                "I"
            },
        ],
    )?;
    // 2330A other subscriber.
    let member = p.subscriber.member_id.as_deref();
    if member.is_none() {
        return Err(t.err(
            "NM1",
            "other subscriber member id is required (2330A NM109)",
        ));
    }
    t.person("IL", &p.subscriber.name, "MI", member)?;
    if let Some(a) = &p.subscriber.address {
        t.address(a)?;
    }
    // 2330B other payer.
    t.payer(&p.payer, "PR")?;
    if let Some(d) = p.paid_date.as_deref()
        && p.line_adjudications.is_empty()
    {
        let d = t.date("DTP", "DTP03 (adjudication date)", d)?;
        t.seg("DTP", &["573", "D8", &d])?;
    }
    if let Some(n) = p.payer_claim_number.as_deref().filter(|v| !v.is_empty()) {
        t.seg("REF", &["F8", &text(n)])?;
    }
    Ok(())
}

fn write_line_adjudication<W: Write>(
    t: &mut Tx<'_, W>,
    p: &PriorPayerAdjudication,
    la: &LineAdjudication,
) -> Result<(), X12Error> {
    let payer_id = p.payer.payer_id.as_deref().map(text).unwrap_or_default();
    let paid = t.amount("SVD", "SVD02 (paid amount)", &la.paid_amount)?;
    let proc = t.procedure(&la.procedure_code, &la.modifiers)?;
    let units = t.amount("SVD", "SVD05 (paid units)", &la.paid_units)?;
    t.seg("SVD", &[&payer_id, &paid, &proc, "", &units])?;
    t.cas(&la.adjustments)?;
    let Some(date) = la.adjudication_date.as_deref().or(p.paid_date.as_deref()) else {
        return Err(t.err("DTP", "line adjudication has no date (2430 DTP*573)"));
    };
    let d = t.date("DTP", "DTP03 (adjudication date)", date)?;
    t.seg("DTP", &["573", "D8", &d])
}

// ----- reading -------------------------------------------------------------------------------

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
