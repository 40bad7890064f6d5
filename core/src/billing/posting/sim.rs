//! A test-only stand-in for the store: applies a plan to an in-memory ledger and claim list.

use super::*;
use crate::billing::ledger::{Balances, charge_entries_for};
use chrono::{DateTime, Utc};

pub(crate) struct Books {
    pub ledger: Vec<LedgerEntry>,
    pub claims: Vec<PostingClaim>,
    next_id: u128,
}

impl Books {
    pub(crate) fn new(claims: Vec<PostingClaim>) -> Books {
        let mut b = Books {
            ledger: Vec::new(),
            claims: Vec::new(),
            next_id: 1_000_000,
        };
        for c in &claims {
            for e in charge_entries_for(c.claim_id, c.patient_id, c.payer_id, &c.lines) {
                b.append(e);
            }
        }
        b.claims = claims;
        b.refresh();
        b
    }

    pub(crate) fn append(&mut self, e: NewLedgerEntry) -> Uuid {
        self.next_id += 1;
        let id = Uuid::from_u128(self.next_id);
        let at = DateTime::<Utc>::from_timestamp(1_790_000_000, 0).unwrap();
        self.ledger.push(e.post(id, at));
        id
    }

    pub(crate) fn balances(&self) -> Balances {
        crate::billing::ledger::balances(&self.ledger)
    }

    fn refresh(&mut self) {
        let b = self.balances();
        for c in &mut self.claims {
            c.insurance_balance = b.claim(c.claim_id).insurance;
        }
    }

    pub(crate) fn apply(&mut self, remittance_id: Uuid, plan: &PostingPlan) {
        let ids: Vec<Uuid> = plan
            .entries
            .iter()
            .map(|e| self.append(e.clone()))
            .collect();
        for cp in &plan.claim_postings {
            let c = self
                .claims
                .iter_mut()
                .find(|c| c.claim_id == cp.claim_id)
                .unwrap();
            assert_eq!(c.status, cp.status_before);
            c.status = cp.status_after;
            if cp.payer_claim_number.is_some() {
                c.payer_claim_number = cp.payer_claim_number.clone();
            }
            let n = self.ledger.len() - ids.len();
            c.postings.push(PriorPosting {
                remittance_id,
                status_before: cp.status_before,
                reverses_remittance: cp.reverses_remittance,
                entries: cp
                    .entries
                    .clone()
                    .map(|i| self.ledger[n + i].clone())
                    .collect(),
            });
        }
        self.refresh();
    }

    pub(crate) fn status(&self, claim_id: Uuid) -> ClaimStatus {
        self.claims
            .iter()
            .find(|c| c.claim_id == claim_id)
            .unwrap()
            .status
    }
}
