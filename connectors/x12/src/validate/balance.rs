//! 835 balancing (005010X221A1 section 1.10.2.1), checked per service line, per claim and
//! per transaction, with exact decimals:
//!
//! - a service line: SVC02 (charge) less the line's CAS amounts is SVC03 (paid);
//! - a claim: CLP03 (charge) less the CAS amounts of the claim and of its lines is CLP04;
//! - the transaction: the CLP04s less the PLB adjustment amounts are BPR02.
//!
//! Amounts that are not decimals are left to the element checks; a claim or line with one
//! is not balanced.

use std::str::FromStr;

use rust_decimal::Decimal;

use crate::X12Error;
use crate::reader::Segment;

struct Line {
    index: usize,
    number: usize,
    position: usize,
    charge: Option<Decimal>,
    paid: Option<Decimal>,
    adjusted: Option<Decimal>,
}

struct Claim {
    index: usize,
    number: usize,
    position: usize,
    charge: Option<Decimal>,
    paid: Option<Decimal>,
    adjusted: Option<Decimal>,
    lines: usize,
    line: Option<Line>,
}

pub(super) struct Balance835 {
    t: usize,
    bpr: Option<(usize, usize, Option<Decimal>)>,
    paid: Option<Decimal>,
    plb: Option<Decimal>,
    claims: usize,
    claim: Option<Claim>,
    pub(super) errors: Vec<X12Error>,
}

fn amount(seg: &Segment<'_>, i: usize) -> Option<Decimal> {
    let v = seg.get(i);
    if v.is_empty() {
        return Some(Decimal::ZERO);
    }
    Decimal::from_str(&v).ok()
}

fn add(a: Option<Decimal>, b: Option<Decimal>) -> Option<Decimal> {
    a?.checked_add(b?)
}

fn sub(a: Option<Decimal>, b: Option<Decimal>) -> Option<Decimal> {
    a?.checked_sub(b?)
}

fn cas_total(seg: &Segment<'_>) -> Option<Decimal> {
    (0..6).try_fold(Decimal::ZERO, |sum, k| {
        sum.checked_add(amount(seg, 3 + 3 * k)?)
    })
}

impl Balance835 {
    pub(super) fn new(t: usize) -> Self {
        Balance835 {
            t,
            bpr: None,
            paid: Some(Decimal::ZERO),
            plb: Some(Decimal::ZERO),
            claims: 0,
            claim: None,
            errors: Vec::new(),
        }
    }

    fn error(
        &mut self,
        number: usize,
        position: usize,
        id: &str,
        reason: String,
        rule: &str,
        pointer: String,
    ) {
        self.errors.push(
            X12Error::new(number, id, reason)
                .in_transaction(self.t, position)
                .with_rule(rule)
                .with_pointer(pointer),
        );
    }

    fn finish_line(&mut self) {
        let Some(c) = self.claim.as_mut() else { return };
        let Some(l) = c.line.take() else { return };
        c.adjusted = add(c.adjusted, l.adjusted);
        let expected = sub(l.charge, l.adjusted);
        if let (Some(expected), Some(paid)) = (expected, l.paid)
            && expected != paid
        {
            let (ci, cp) = (c.index, c.position);
            let reason = format!(
                "SVC at segment {} (service line {} of the CLP at segment {cp}) does not balance: \
                 SVC02 less the line's CAS amounts is {expected:.2}, SVC03 is {paid:.2}",
                l.position,
                l.index + 1,
            );
            let pointer = format!(
                "/transactions/{}/claims/{ci}/service_lines/{}",
                self.t, l.index
            );
            self.error(
                l.number,
                l.position,
                "SVC",
                reason,
                "balance.service_line",
                pointer,
            );
        }
    }

    fn finish_claim(&mut self) {
        self.finish_line();
        let Some(c) = self.claim.take() else { return };
        let expected = sub(c.charge, c.adjusted);
        if let (Some(expected), Some(paid)) = (expected, c.paid)
            && expected != paid
        {
            let reason = format!(
                "CLP at segment {} (claim {}) does not balance: CLP03 less the CAS amounts of \
                 the claim and its service lines is {expected:.2}, CLP04 is {paid:.2}",
                c.position,
                c.index + 1,
            );
            let pointer = format!("/transactions/{}/claims/{}", self.t, c.index);
            self.error(
                c.number,
                c.position,
                "CLP",
                reason,
                "balance.claim",
                pointer,
            );
        }
    }

    pub(super) fn segment(&mut self, seg: &Segment<'_>) {
        let position = seg.transaction_position().map_or(0, |(_, p)| p);
        match seg.id() {
            "BPR" => self.bpr = Some((seg.number(), position, amount(seg, 2))),
            "LX" => self.finish_claim(),
            "CLP" => {
                self.finish_claim();
                let paid = amount(seg, 4);
                self.paid = add(self.paid, paid);
                self.claim = Some(Claim {
                    index: self.claims,
                    number: seg.number(),
                    position,
                    charge: amount(seg, 3),
                    paid,
                    adjusted: Some(Decimal::ZERO),
                    lines: 0,
                    line: None,
                });
                self.claims += 1;
            }
            "SVC" => {
                self.finish_line();
                if let Some(c) = self.claim.as_mut() {
                    c.line = Some(Line {
                        index: c.lines,
                        number: seg.number(),
                        position,
                        charge: amount(seg, 2),
                        paid: amount(seg, 3),
                        adjusted: Some(Decimal::ZERO),
                    });
                    c.lines += 1;
                }
            }
            "CAS" => {
                let total = cas_total(seg);
                if let Some(c) = self.claim.as_mut() {
                    match c.line.as_mut() {
                        Some(l) => l.adjusted = add(l.adjusted, total),
                        None => c.adjusted = add(c.adjusted, total),
                    }
                }
            }
            "PLB" => {
                self.finish_claim();
                let total = (0..6).try_fold(Decimal::ZERO, |sum, k| {
                    sum.checked_add(amount(seg, 4 + 2 * k)?)
                });
                self.plb = add(self.plb, total);
            }
            "SE" => {
                self.finish_claim();
                let Some((number, bpr_pos, Some(bpr02))) = self.bpr else {
                    return;
                };
                if let Some(found) = sub(self.paid, self.plb)
                    && found != bpr02
                {
                    let reason = format!(
                        "BPR at segment {bpr_pos} does not balance: BPR02 is {bpr02:.2}, the claims' \
                         CLP04 less the PLB adjustment amounts add up to {found:.2}"
                    );
                    let pointer = format!("/transactions/{}/segments/{bpr_pos}/BPR02", self.t);
                    self.error(
                        number,
                        bpr_pos,
                        "BPR",
                        reason,
                        "balance.transaction",
                        pointer,
                    );
                }
            }
            _ => {}
        }
    }
}
