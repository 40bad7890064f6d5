//! Writing off a denial: the amount the practice gives up collecting becomes write-off entries
//! on the claim's ledger (an adjustment, not a payment: the claim's balance and the A/R drop by
//! exactly that amount), the step is recorded in the claim's history, and a denial with
//! nothing left open is `written_off`. A claim whose balance the write-off settles is closed.
//! One transaction (the caller's, with the request's audit event).

use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::access::OrgId;
use crate::billing::denials::DenialStatus;
use crate::billing::denials::write_off::{
    WRITE_OFF_GROUPS, allocate, check_amount, group_allowed, open_amount,
};
use crate::billing::ledger::{self as ledger_rules, Balances, EntryKind, LedgerEntry, Side};
use crate::billing::lifecycle::{self, Transition};
use crate::codes::is_known_carc;
use crate::error::{CoreError, CoreResult};
use crate::model::claim::{Claim, ClaimStatus};
use crate::model::common::{now, utc};
use crate::model::denial::{Denial, DenialNote, WriteOffInput};
use crate::store::accounts::{BalanceView, LedgerEntryView};
use crate::store::denials::{self, Change};
use crate::store::{DbConnection, KeyRing, billing, claims, ledger};
use crate::validation::{Errors, Rules};

/// A write-off as recorded: the ledger entries it appended and what is left of the denial.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DenialWriteOff {
    /// The denial after the write-off (`written_off` once nothing of it is open).
    pub denial: Denial,
    /// The write-off entries (kind `write_off`, insurance side, negative), one per claim line
    /// the amount was taken from.
    pub entries: Vec<LedgerEntryView>,
    /// Everything written off this denial so far.
    #[schema(value_type = String, example = "120.00")]
    pub written_off: Decimal,
    /// What of the denial may still be written off.
    #[schema(value_type = String, example = "80.00")]
    pub open_amount: Decimal,
    /// The claim's balance after it.
    pub claim_balance: BalanceView,
    /// The claim's status after it (`closed` when the write-off settled its balance).
    pub claim_status: ClaimStatus,
    /// The note, when one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<DenialNote>,
}

impl Rules for WriteOffInput {
    fn check(&self, e: &mut Errors) {
        e.check(
            !(self.amount.is_negative() || self.amount.is_zero()),
            "/amount",
            "must be greater than zero",
        );
        let groups: Vec<&str> = WRITE_OFF_GROUPS.iter().map(|g| g.as_str()).collect();
        e.check(
            group_allowed(self.group),
            "/group",
            format!("a write-off is booked under {}", groups.join(", ")),
        );
        e.check(
            is_known_carc(self.carc.trim()),
            "/carc",
            "must be a claim adjustment reason code (CARC)",
        );
        if let Some(n) = &self.note {
            super::steps::check_text("/note", n, e);
        }
    }
}

/// The ledger reference that ties a write-off entry to its denial (no PHI: an id).
pub fn reference(denial_id: Uuid) -> String {
    format!("denial:{denial_id}")
}

/// What was written off the denial so far, from the claim's entries.
fn written_off(entries: &[LedgerEntry], denial_id: Uuid) -> Decimal {
    let r = reference(denial_id);
    -entries
        .iter()
        .filter(|e| e.kind == EntryKind::WriteOff && e.reference.as_deref() == Some(&r))
        .map(|e| e.amount)
        .sum::<Decimal>()
}

/// The lines that still owe where the denial is (its line, or every line of the claim for a
/// claim-level denial), with the payer's part of each, in line order.
fn owed_lines(claim: &Claim, denial: &Denial, b: &Balances) -> Vec<(Uuid, Decimal)> {
    claim
        .lines
        .iter()
        .filter(|l| denial.claim_line_id.is_none_or(|d| d == l.id))
        .map(|l| {
            let owed = b
                .lines
                .get(&(claim.id, Some(l.id)))
                .map(|s| s.insurance)
                .unwrap_or_default();
            (l.id, owed.max(Decimal::ZERO))
        })
        .collect()
}

/// What the payer still owes where the denial is: its line's part, or for a claim-level denial
/// the claim's (claim-level adjustments included).
fn still_owed(claim: &Claim, denial: &Denial, b: &Balances) -> Decimal {
    let lines: Decimal = owed_lines(claim, denial, b).iter().map(|l| l.1).sum();
    match denial.claim_line_id {
        Some(_) => lines,
        None => lines.min(b.claim(claim.id).insurance),
    }
}

/// Writes off `input.amount` of the denial (at most its open amount: 422 at `/amount`
/// otherwise). With `expected`, only from that version of the denial (412).
#[allow(clippy::too_many_arguments)]
pub fn write_off(
    c: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    id: Uuid,
    expected: Option<i32>,
    actor: &str,
    input: &WriteOffInput,
) -> CoreResult<DenialWriteOff> {
    let mut e = Errors::new();
    input.check(&mut e);
    e.finish()?;
    let d = super::steps::open_at(c, org, id, expected)?;
    // Two write-offs of one claim must not both see the same open amount.
    claims::lock_for_update(c, org, d.claim_id)?;
    let claim = claims::get(c, org, d.claim_id)?;
    let entries = ledger::for_claim(c, org, claim.id)?;
    let done = written_off(&entries, d.id);
    let balances = ledger_rules::balances(&entries);
    let open = open_amount(d.amount, done, still_owed(&claim, &d, &balances));
    let amount = input.amount.as_decimal();
    check_amount(amount, open).map_err(|r| CoreError::invalid("/amount", r.to_string()))?;

    let carc = input.carc.trim().to_ascii_uppercase();
    let new: Vec<_> = allocate(amount, &owed_lines(&claim, &d, &balances))
        .into_iter()
        .map(|(line, part)| {
            let mut w = ledger_rules::write_off(
                claim.id,
                Some(line),
                claim.patient_id,
                claim.payer_id,
                Side::Insurance,
                part,
                Some(carc.clone()),
            );
            w.group = Some(input.group);
            w.reference = Some(reference(d.id));
            w
        })
        .collect();
    let at = now();
    let appended = ledger::append(c, org, &new, at)?;

    let note = match &input.note {
        Some(text) => {
            let mut n = denials::add_note(c, keyring, org, id, actor, text)?;
            n.patient_id = d.patient_id;
            Some(n)
        }
        None => None,
    };
    let remaining = open - amount;
    let to = if remaining.is_zero() {
        DenialStatus::WrittenOff
    } else {
        d.status
    };
    if to != d.status {
        crate::billing::denials::status::check(d.status, to).map_err(|e| {
            CoreError::TransitionRefused {
                message: e.to_string(),
                allowed_next: e.allowed.iter().map(|s| s.as_str()).collect(),
            }
        })?;
    }
    // The version moves even when the status does not: the denial changed.
    let updated = denials::update(c, org, id, d.version, &Change::Status(to))?;
    let entry_ids: Vec<Uuid> = appended.iter().map(|e| e.id).collect();
    denials::record_event(
        c,
        org,
        &updated,
        "written_off",
        actor,
        json!({
            "amount": format!("{amount:.2}"), "group": input.group.as_str(), "carc": carc,
            "entry_ids": entry_ids, "note_id": note.as_ref().map(|n| n.id),
            "from": d.status.as_str(), "to": to.as_str(),
        }),
    )?;

    let all = ledger::for_claim(c, org, claim.id)?;
    let balance = ledger_rules::balances(&all).claim(claim.id);
    let mut claim_status = claim.status;
    if balance.total().is_zero() && lifecycle::check(claim.status, ClaimStatus::Closed).is_ok() {
        let t = Transition::new(
            claim.status,
            ClaimStatus::Closed,
            utc(at),
            actor,
            Some("the denied balance was written off".into()),
        )
        .map_err(|e| CoreError::refused(&e))?;
        billing::record_transition(c, org, &claim, &t, None)?;
        claim_status = ClaimStatus::Closed;
    }
    Ok(DenialWriteOff {
        denial: updated,
        entries: appended.iter().map(LedgerEntryView::from).collect(),
        written_off: crate::store::ledger::cents(done + amount),
        open_amount: crate::store::ledger::cents(remaining),
        claim_balance: balance.into(),
        claim_status,
        note,
    })
}
