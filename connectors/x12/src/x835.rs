//! 835 Health Care Claim Payment/Advice (005010X221A1) -> canonical [`Remittance`].
//!
//! [`Reader835`] is a streaming pull parser: it yields the remittance header, then each claim
//! payment as soon as its loop ends, then provider adjustments and a summary, so a file of any
//! size is posted in bounded memory. [`parse_835`] collects everything into [`Remittance`]s.
//!
//! Every transaction is balanced on read: BPR02 must equal the sum of CLP04 less the sum of the
//! PLB adjustment amounts, exactly (decimal arithmetic), or the transaction is rejected at its
//! SE segment.

use std::collections::VecDeque;
use std::io::BufRead;

use revcycle_connector_abi::canonical::v1::{
    Adjustment, ClaimPayment, PersonName, ProviderAdjustment, Remittance, SCHEMA_VERSION,
    ServiceLinePayment,
};
use rust_decimal::Decimal;

use crate::X12Error;
use crate::reader::{Segment, X12Reader};
use crate::util::{money, opt_amount, opt_quantity, req_amount, req_date};

/// CLP02 claim status codes of 005010X221A1.
pub const CLAIM_STATUS_CODES: [&str; 10] = ["1", "2", "3", "4", "19", "20", "21", "22", "23", "25"];

/// Why a file whose amounts cannot be added up (beyond 96-bit decimals) is refused.
const AMOUNTS_OUT_OF_RANGE: &str = "amounts too large to balance the remittance";

/// CAS01 claim adjustment group codes.
pub const ADJUSTMENT_GROUPS: [&str; 5] = ["CO", "CR", "OA", "PI", "PR"];

/// What [`Reader835`] yields, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event835 {
    /// The remittance header (payer, payee, BPR, TRN) with no claims yet.
    Header(Remittance),
    /// One claim payment (loop 2100 with its 2110 lines).
    Claim(ClaimPayment),
    /// One PLB adjustment (one reason/amount pair of a PLB segment).
    ProviderAdjustment(ProviderAdjustment),
    /// The transaction ended (SE) and balanced.
    End(Summary835),
}

/// Totals of one balanced 835 transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary835 {
    /// ST02.
    pub control_number: String,
    pub claims: u64,
    pub service_lines: u64,
    /// BPR02.
    pub payment_amount: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Loop {
    Outside,
    Header,
    Payer,
    Payee,
    Lx,
    Claim,
    Line,
    Summary,
}

impl Loop {
    fn name(self) -> &'static str {
        match self {
            Loop::Outside => "outside a transaction set",
            Loop::Header => "the 835 header",
            Loop::Payer => "loop 1000A (payer)",
            Loop::Payee => "loop 1000B (payee)",
            Loop::Lx => "loop 2000 (header number)",
            Loop::Claim => "loop 2100 (claim payment)",
            Loop::Line => "loop 2110 (service payment)",
            Loop::Summary => "the 835 summary (PLB)",
        }
    }
}

/// Streaming 835 reader. See the module docs.
pub struct Reader835<R> {
    rd: X12Reader<R>,
    m: Machine835,
}

impl<R: BufRead> Reader835<R> {
    pub fn new(input: R) -> Self {
        Self::from_reader(X12Reader::new(input))
    }

    /// Wraps a configured reader (e.g. one with a release character).
    pub fn from_reader(rd: X12Reader<R>) -> Self {
        Reader835 {
            rd,
            m: Machine835::default(),
        }
    }

    /// The underlying segment reader (envelope headers, bytes read).
    pub fn reader(&self) -> &X12Reader<R> {
        &self.rd
    }

    /// The next event, `None` at the end of input.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Event835>, X12Error> {
        loop {
            if let Some(ev) = self.m.pending.pop_front() {
                return Ok(Some(ev));
            }
            let Some(seg) = self.rd.next_segment()? else {
                return Ok(None);
            };
            self.m.handle(&seg)?;
        }
    }
}

/// The 835 loop and balancing rules, fed one segment at a time (envelope segments included).
/// [`Reader835`] drives it from a reader; other callers (acknowledgments) can feed it directly.
pub struct Machine835 {
    state: Loop,
    header: Option<Remittance>,
    header_sent: bool,
    saw_bpr: bool,
    claim: Option<ClaimPayment>,
    line: Option<ServiceLinePayment>,
    member_from_insured: bool,
    pending: VecDeque<Event835>,
    bpr02: Decimal,
    sum_paid: Decimal,
    sum_plb: Decimal,
    claims: u64,
    lines: u64,
}

impl Default for Machine835 {
    fn default() -> Self {
        Machine835 {
            state: Loop::Outside,
            header: None,
            header_sent: false,
            saw_bpr: false,
            claim: None,
            line: None,
            member_from_insured: false,
            pending: VecDeque::new(),
            bpr02: Decimal::ZERO,
            sum_paid: Decimal::ZERO,
            sum_plb: Decimal::ZERO,
            claims: 0,
            lines: 0,
        }
    }
}

fn new_remittance() -> Remittance {
    Remittance {
        schema_version: SCHEMA_VERSION,
        ..Remittance::default()
    }
}

fn not_allowed(seg: &Segment<'_>, state: Loop) -> X12Error {
    seg.error(format!("{} is not allowed in {}", seg.id(), state.name()))
}

fn name_of(seg: &Segment<'_>) -> PersonName {
    let given = [seg.get(4), seg.get(5)]
        .into_iter()
        .filter(|g| !g.is_empty())
        .map(|g| g.into_owned())
        .collect();
    PersonName {
        family: seg.get(3).into_owned(),
        given,
        prefix: seg.opt(6),
        suffix: seg.opt(7),
    }
}

/// CAS: group and up to six reason/amount/quantity triplets.
pub(crate) fn adjustments(seg: &Segment<'_>) -> Result<Vec<Adjustment>, X12Error> {
    let group = seg.get(1);
    if !ADJUSTMENT_GROUPS.contains(&group.as_ref()) {
        return Err(seg.error("CAS01 is not a claim adjustment group code"));
    }
    if seg.len() > 19 {
        return Err(seg.error("CAS has more than six adjustment triplets"));
    }
    let mut out = Vec::new();
    for k in 0..6 {
        let (r, a, q) = (2 + 3 * k, 3 + 3 * k, 4 + 3 * k);
        let reason = seg.get(r);
        if reason.is_empty() {
            if !seg.element(a).is_empty() || !seg.element(q).is_empty() {
                return Err(seg.error(format!("CAS{a:02} is present without a reason code")));
            }
            continue;
        }
        out.push(Adjustment {
            group: group.to_string(),
            reason: reason.into_owned(),
            amount: money(req_amount(seg, a)?),
            quantity: opt_quantity(seg, q)?,
        });
    }
    if out.is_empty() {
        return Err(seg.error("CAS02 (reason code) is missing"));
    }
    Ok(out)
}

impl Machine835 {
    /// Takes the next event produced so far.
    pub fn pop_event(&mut self) -> Option<Event835> {
        self.pending.pop_front()
    }

    fn header_mut(&mut self) -> &mut Remittance {
        self.header.get_or_insert_with(new_remittance)
    }

    fn send_header(&mut self, seg: &Segment<'_>) -> Result<(), X12Error> {
        if self.header_sent {
            return Ok(());
        }
        let h = self.header.take().unwrap_or_else(new_remittance);
        if h.trace_number.is_empty() {
            return Err(seg.error("the 835 header has no TRN (reassociation trace number)"));
        }
        self.pending.push_back(Event835::Header(h));
        self.header_sent = true;
        Ok(())
    }

    fn finish_line(&mut self) {
        if let Some(line) = self.line.take() {
            self.lines += 1;
            if let Some(c) = self.claim.as_mut() {
                c.service_lines.push(line);
            }
        }
    }

    fn finish_claim(&mut self) {
        self.finish_line();
        if let Some(c) = self.claim.take() {
            self.claims += 1;
            self.pending.push_back(Event835::Claim(c));
        }
    }

    /// Applies one segment.
    pub fn handle(&mut self, seg: &Segment<'_>) -> Result<(), X12Error> {
        use Loop::*;
        let id = seg.id();
        let state = self.state;
        match id {
            "ISA" | "GS" | "GE" | "IEA" => {
                if id == "GS" && seg.get(1) != "HP" {
                    return Err(seg.error("functional group is not HP (claim payment/advice)"));
                }
                return Ok(());
            }
            "ST" => {
                if seg.get(1) != "835" {
                    return Err(seg.error("transaction set is not an 835"));
                }
                self.state = Header;
                self.header = Some(new_remittance());
                self.header_sent = false;
                self.saw_bpr = false;
                self.claim = None;
                self.line = None;
                self.bpr02 = Decimal::ZERO;
                self.sum_paid = Decimal::ZERO;
                self.sum_plb = Decimal::ZERO;
                self.claims = 0;
                self.lines = 0;
                return Ok(());
            }
            "SE" => {
                if !self.saw_bpr {
                    return Err(seg.error("the 835 has no BPR segment"));
                }
                self.send_header(seg)?;
                self.finish_claim();
                // Hostile amounts can overflow even a 96-bit decimal: no balance, not a panic.
                if self.sum_paid.checked_sub(self.sum_plb) != Some(self.bpr02) {
                    return Err(seg.error(
                        "BPR02 does not equal the sum of CLP04 less the PLB adjustment amounts",
                    ));
                }
                self.pending.push_back(Event835::End(Summary835 {
                    control_number: seg.get(2).into_owned(),
                    claims: self.claims,
                    service_lines: self.lines,
                    payment_amount: money(self.bpr02),
                }));
                self.state = Outside;
                return Ok(());
            }
            _ => {}
        }
        if state == Header && !self.saw_bpr && id != "BPR" {
            return Err(seg.error("BPR must be the first segment after ST"));
        }
        match (id, state) {
            ("BPR", Header) => {
                if self.saw_bpr {
                    return Err(not_allowed(seg, state));
                }
                self.saw_bpr = true;
                let amount = req_amount(seg, 2)?;
                self.bpr02 = amount;
                let method = seg.opt(4);
                let date = if seg.element(16).is_empty() {
                    None
                } else {
                    Some(req_date(seg, 16)?)
                };
                let h = self.header_mut();
                h.payment_amount = money(amount);
                h.payment_method = method;
                h.payment_date = date;
            }
            ("TRN", Header) => {
                let trace = seg.get(2);
                if trace.is_empty() {
                    return Err(seg.error("TRN02 (trace number) is missing"));
                }
                let payer = crate::payer_id::from_trn03(&seg.get(3));
                let h = self.header_mut();
                h.trace_number = trace.into_owned();
                h.payer_identifiers.extend(payer);
            }
            ("CUR" | "REF" | "DTM", Header) => {}
            ("N1", Header | Payer | Payee) => match seg.get(1).as_ref() {
                "PR" if state == Header => {
                    self.state = Payer;
                    let name = seg.get(2).into_owned();
                    let id = seg.opt(4);
                    let alias = crate::payer_id::from_n1(&seg.get(3), &seg.get(4));
                    let h = self.header_mut();
                    h.payer_identifiers.extend(alias);
                    h.payer.name = name;
                    if h.payer.payer_id.is_none() {
                        h.payer.payer_id = id;
                    }
                }
                "PE" if state == Payer => {
                    self.state = Payee;
                    let qual = seg.get(3);
                    let idv = seg.opt(4);
                    let h = self.header_mut();
                    match qual.as_ref() {
                        "XX" => h.payee_npi = idv,
                        "FI" => h.payee_tin = idv,
                        _ => {}
                    }
                }
                _ => return Err(seg.error("N1 loop out of order or with an unexpected N101")),
            },
            ("N2" | "N3" | "N4" | "PER", Payer) | ("N2" | "N3" | "N4" | "RDM", Payee) => {}
            ("REF", Payer) => {
                let alias = crate::payer_id::from_ref(&seg.get(1), &seg.get(2));
                self.header_mut().payer_identifiers.extend(alias);
                if seg.get(1) == "2U" {
                    let id = seg.opt(2);
                    self.header_mut().payer.payer_id = id;
                }
            }
            ("REF", Payee) => {
                if seg.get(1) == "TJ" {
                    let tin = seg.opt(2);
                    let h = self.header_mut();
                    if h.payee_tin.is_none() {
                        h.payee_tin = tin;
                    }
                }
            }
            ("LX", Payer | Payee | Lx | Claim | Line) => {
                self.send_header(seg)?;
                self.finish_claim();
                if seg.get(1).parse::<u64>().is_err() {
                    return Err(seg.error("LX01 is not a number"));
                }
                self.state = Lx;
            }
            ("TS3" | "TS2", Lx) => {}
            ("CLP", Payer | Payee | Lx | Claim | Line) => {
                self.send_header(seg)?;
                self.finish_claim();
                self.state = Claim;
                let ccn = seg.get(1);
                if ccn.is_empty() {
                    return Err(seg.error("CLP01 (claim control number) is missing"));
                }
                let status = seg.get(2);
                if !CLAIM_STATUS_CODES.contains(&status.as_ref()) {
                    return Err(seg.error("CLP02 is not a claim status code"));
                }
                let charge = req_amount(seg, 3)?;
                let paid = req_amount(seg, 4)?;
                let pr = opt_amount(seg, 5)?;
                self.sum_paid = self
                    .sum_paid
                    .checked_add(paid)
                    .ok_or_else(|| seg.error(AMOUNTS_OUT_OF_RANGE))?;
                self.member_from_insured = false;
                self.claim = Some(ClaimPayment {
                    claim_control_number: ccn.into_owned(),
                    status_code: status.into_owned(),
                    total_charge: money(charge),
                    paid_amount: money(paid),
                    patient_responsibility: pr.map(money),
                    claim_filing_indicator: seg.opt(6),
                    payer_claim_number: seg.opt(7),
                    facility_type_code: seg.opt(8),
                    frequency_code: seg.opt(9),
                    ..ClaimPayment::default()
                });
            }
            ("CAS", Claim) => {
                let adj = adjustments(seg)?;
                self.claim_mut().adjustments.extend(adj);
            }
            ("NM1", Claim) => {
                let qual = seg.get(1);
                let id_qual = seg.get(8);
                let idv = seg.opt(9);
                let from_insured = self.member_from_insured;
                let c = self.claim_mut();
                match qual.as_ref() {
                    "QC" => {
                        c.patient_name = Some(name_of(seg));
                        if !from_insured && idv.is_some() {
                            c.member_id = idv;
                        }
                    }
                    "IL" => {
                        if idv.is_some() {
                            c.member_id = idv;
                            self.member_from_insured = true;
                        }
                    }
                    "82" => {
                        if id_qual == "XX" {
                            c.rendering_provider_npi = idv;
                        }
                    }
                    "74" | "PR" | "TT" | "GB" => {}
                    _ => return Err(seg.error("NM101 is not an entity allowed in loop 2100")),
                }
            }
            ("MIA", Claim) => {
                let codes: Vec<String> = [5, 20, 21, 22, 23]
                    .into_iter()
                    .filter_map(|i| seg.opt(i))
                    .collect();
                self.claim_mut().remark_codes.extend(codes);
            }
            ("MOA", Claim) => {
                let codes: Vec<String> = (3..=7).filter_map(|i| seg.opt(i)).collect();
                self.claim_mut().remark_codes.extend(codes);
            }
            ("DTM", Claim | Line) => {
                let qual = seg.get(1);
                let date = req_date(seg, 2)?;
                if state == Line && (qual == "472" || (qual == "150")) {
                    let l = self.line_mut();
                    if l.service_date.is_none() || qual == "472" {
                        l.service_date = Some(date);
                    }
                }
            }
            ("REF", Claim) | ("PER" | "QTY", Claim) => {}
            ("AMT", Claim) => {
                req_amount(seg, 2)?;
            }
            ("SVC", Claim | Line) => {
                self.finish_line();
                self.state = Line;
                let proc = seg.element(1);
                let code = proc.component(2);
                if code.is_empty() {
                    return Err(seg.error("SVC01-2 (procedure code) is missing"));
                }
                let modifiers = (3..=6)
                    .map(|j| proc.component(j))
                    .filter(|m| !m.is_empty())
                    .map(|m| m.into_owned())
                    .collect();
                let charge = req_amount(seg, 2)?;
                let paid = req_amount(seg, 3)?;
                let units = opt_quantity(seg, 5)?;
                let original = seg.element(6);
                self.line = Some(ServiceLinePayment {
                    procedure_code: code.into_owned(),
                    modifiers,
                    original_procedure_code: (!original.is_empty())
                        .then(|| original.component(2).into_owned()),
                    charge: money(charge),
                    paid_amount: money(paid),
                    paid_units: Some(units.unwrap_or_else(|| "1".to_string())),
                    ..ServiceLinePayment::default()
                });
            }
            ("CAS", Line) => {
                let adj = adjustments(seg)?;
                self.line_mut().adjustments.extend(adj);
            }
            ("REF", Line) => {
                if seg.get(1) == "6R" {
                    let v = seg.opt(2);
                    self.line_mut().line_control_number = v;
                }
            }
            ("AMT", Line) => {
                let amount = req_amount(seg, 2)?;
                if seg.get(1) == "B6" {
                    self.line_mut().allowed_amount = Some(money(amount));
                }
            }
            ("QTY", Line) => {}
            ("LQ", Line) => {
                if seg.get(1) == "HE" {
                    let code = seg.get(2);
                    if code.is_empty() {
                        return Err(seg.error("LQ02 (remark code) is missing"));
                    }
                    self.line_mut().remark_codes.push(code.into_owned());
                }
            }
            ("PLB", Payer | Payee | Lx | Claim | Line | Summary) => {
                self.send_header(seg)?;
                self.finish_claim();
                self.state = Summary;
                let provider = seg.get(1);
                if provider.is_empty() {
                    return Err(seg.error("PLB01 (provider identifier) is missing"));
                }
                let date = req_date(seg, 2)?;
                if seg.len() > 14 {
                    return Err(seg.error("PLB has more than six adjustment pairs"));
                }
                let mut any = false;
                for k in 0..6 {
                    let (r, a) = (3 + 2 * k, 4 + 2 * k);
                    let reason = seg.element(r);
                    if reason.is_empty() {
                        if !seg.element(a).is_empty() {
                            return Err(seg.error(format!("PLB{a:02} has no reason (PLB{r:02})")));
                        }
                        continue;
                    }
                    let code = reason.component(1);
                    if code.is_empty() {
                        return Err(seg.error(format!("PLB{r:02}-1 (reason code) is missing")));
                    }
                    let amount = req_amount(seg, a)?;
                    self.sum_plb = self
                        .sum_plb
                        .checked_add(amount)
                        .ok_or_else(|| seg.error(AMOUNTS_OUT_OF_RANGE))?;
                    any = true;
                    let reference = reason.component(2);
                    self.pending
                        .push_back(Event835::ProviderAdjustment(ProviderAdjustment {
                            provider_id: provider.to_string(),
                            fiscal_period_date: date.clone(),
                            reason_code: code.into_owned(),
                            reference: (!reference.is_empty()).then(|| reference.into_owned()),
                            amount: money(amount),
                        }));
                }
                if !any {
                    return Err(seg.error("PLB has no adjustment"));
                }
            }
            (_, Outside) => return Err(seg.error("segment outside an 835 transaction set")),
            _ => return Err(not_allowed(seg, state)),
        }
        Ok(())
    }

    fn claim_mut(&mut self) -> &mut ClaimPayment {
        self.claim.get_or_insert_with(ClaimPayment::default)
    }

    fn line_mut(&mut self) -> &mut ServiceLinePayment {
        self.line.get_or_insert_with(ServiceLinePayment::default)
    }
}

/// Parses every 835 transaction of `input` into a [`Remittance`] (collects all claims; use
/// [`Reader835`] to stream large files).
pub fn parse_835<R: BufRead>(input: R) -> Result<Vec<Remittance>, X12Error> {
    let mut rd = Reader835::new(input);
    let mut out: Vec<Remittance> = Vec::new();
    let mut current: Option<Remittance> = None;
    while let Some(ev) = rd.next()? {
        match ev {
            Event835::Header(h) => current = Some(h),
            Event835::Claim(c) => current.get_or_insert_with(new_remittance).claims.push(c),
            Event835::ProviderAdjustment(p) => current
                .get_or_insert_with(new_remittance)
                .provider_adjustments
                .push(p),
            Event835::End(_) => out.extend(current.take()),
        }
    }
    Ok(out)
}

/// Parses an 835 held in memory.
pub fn parse_835_bytes(bytes: &[u8]) -> Result<Vec<Remittance>, X12Error> {
    parse_835(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An ISA of exactly 106 characters, then the group and transaction around `body`.
    fn interchange(body: &[&str]) -> String {
        let mut s = String::from(
            "ISA*00*          *00*          *ZZ*A              *ZZ*B              \
             *240410*0930*^*00501*000000001*0*P*:~\nGS*HP*A*B*20240410*0930*1*X*005010X221A1~\n",
        );
        for seg in body {
            s.push_str(seg);
            s.push_str("~\n");
        }
        s.push_str(&format!(
            "SE*{}*1~\nGE*1*1~\nIEA*1*000000001~\n",
            body.len() + 1
        ));
        s
    }

    // Hostile input (found reviewing the 835 balancing for the x12_835 fuzz target, which aborts
    // on it without the fix): eight CLP04 of 28 nines overflowed the running sum of paid amounts
    // (rust_decimal's `+` panics), so a payer's file could crash the import.
    #[test]
    fn fuzz_claim_amounts_overflowing_the_sum_are_an_error() {
        let mut body = vec![
            "ST*835*1",
            "BPR*I*0*C*CHK",
            "TRN*1*T*1",
            "N1*PR*P",
            "N1*PE*Q*XX*1",
        ];
        body.extend(["CLP*C*1*1*9999999999999999999999999999"; 8]);
        let err = parse_835_bytes(interchange(&body).as_bytes()).unwrap_err();
        assert!(err.to_string().contains(AMOUNTS_OUT_OF_RANGE), "{err}");
    }

    // The same through PLB amounts, and through a difference that overflows only at SE.
    #[test]
    fn fuzz_plb_amounts_overflowing_the_sum_are_an_error() {
        let plb = "PLB*1*20241231*L6*9999999999999999999999999999*L6*9999999999999999999999999999\
                   *L6*9999999999999999999999999999*L6*9999999999999999999999999999\
                   *L6*9999999999999999999999999999*L6*9999999999999999999999999999";
        let body = [
            "ST*835*1",
            "BPR*I*0*C*CHK",
            "TRN*1*T*1",
            "N1*PR*P",
            "N1*PE*Q*XX*1",
            "CLP*C*1*1*0",
            plb,
            plb,
        ];
        let err = parse_835_bytes(interchange(&body).as_bytes()).unwrap_err();
        assert!(err.to_string().contains(AMOUNTS_OUT_OF_RANGE), "{err}");

        let body = [
            "ST*835*1",
            "BPR*I*0*C*CHK",
            "TRN*1*T*1",
            "N1*PR*P",
            "N1*PE*Q*XX*1",
            "CLP*C*1*1*-9999999999999999999999999999",
            "CLP*C*1*1*-9999999999999999999999999999",
            "CLP*C*1*1*-9999999999999999999999999999",
            "CLP*C*1*1*-9999999999999999999999999999",
            "PLB*1*20241231*L6*9999999999999999999999999999*L6*9999999999999999999999999999\
             *L6*9999999999999999999999999999*L6*9999999999999999999999999999",
        ];
        let err = parse_835_bytes(interchange(&body).as_bytes()).unwrap_err();
        assert!(err.to_string().contains("BPR02 does not equal"), "{err}");
    }
}
