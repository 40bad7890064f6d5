//! What the ledger says people owe: a claim's ledger and balance, a patient's balance and
//! statement, patient payments, and the receivables reports (A/R aging, denials, KPIs). Every
//! amount here is a fold over ledger entries; nothing is stored as a balance.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::billing::{TransitionRecord, history};
use super::denials::{self, StepsOf};
use super::ledger::{self, cents};
use super::{DbConnection, claims, patients};
use crate::access::OrgId;
use crate::billing::aging::{self, AgingBasis, AgingGroup, BUCKET_LABELS};
use crate::billing::ledger::{Balances, EntryKind, LedgerEntry, Split};
use crate::billing::patient_payments::{
    ApplyTo, OpenItem, PatientPaymentError, apply_patient_payment,
};
use crate::codes::Money;
use crate::error::{CoreError, CoreResult};
use crate::model::claim::{Claim, ClaimStatus};
use crate::model::common::{MAX_REFERENCE_LEN, now};

/// Days in A/R divides the receivables by the average daily charges of this many days.
const DAYS_IN_AR_WINDOW: i64 = 90;
/// Decimal places of a KPI rate.
const RATE_DECIMALS: u32 = 4;

/// One ledger entry as the API shows it. Amounts follow the ledger's sign convention: the
/// change in what is owed to the practice (charges positive, payments and adjustments negative).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LedgerEntryView {
    pub id: Uuid,
    pub posted_at: DateTime<Utc>,
    /// charge, insurance_payment, contractual_adjustment, patient_responsibility_transfer,
    /// other_adjustment, payer_initiated_reduction, correction, write_off, patient_payment,
    /// refund, reversal, provider_adjustment.
    #[schema(value_type = String, example = "insurance_payment")]
    pub kind: EntryKind,
    /// insurance, patient, insurance_to_patient (a transfer) or provider (PLB).
    #[schema(value_type = String, example = "insurance")]
    pub side: crate::billing::ledger::Side,
    pub claim_id: Option<Uuid>,
    pub claim_line_id: Option<Uuid>,
    pub patient_id: Option<Uuid>,
    pub payer_id: Option<Uuid>,
    #[schema(value_type = String, example = "-96.00")]
    pub amount: Decimal,
    /// CAS group (CO, PR, OA, PI, CR).
    #[schema(value_type = Option<String>, example = "CO")]
    pub group: Option<crate::model::remittance::AdjustmentGroup>,
    pub carc: Option<String>,
    pub remarks: Vec<String>,
    pub provider_adjustment_reason: Option<String>,
    pub reference: Option<String>,
    pub remittance_id: Option<Uuid>,
    pub trace_number: Option<String>,
    /// The entry a reversal negates.
    pub reverses: Option<Uuid>,
}

impl From<&LedgerEntry> for LedgerEntryView {
    fn from(e: &LedgerEntry) -> Self {
        LedgerEntryView {
            id: e.id,
            posted_at: e.posted_at,
            kind: e.kind,
            side: e.side,
            claim_id: e.claim_id,
            claim_line_id: e.claim_line_id,
            patient_id: e.patient_id,
            payer_id: e.payer_id,
            amount: cents(e.amount),
            group: e.group,
            carc: e.carc.clone(),
            remarks: e.remarks.clone(),
            provider_adjustment_reason: e.provider_adjustment_reason.clone(),
            reference: e.reference.clone(),
            remittance_id: e.remittance_id,
            trace_number: e.trace_number.clone(),
            reverses: e.reverses,
        }
    }
}

/// Insurance and patient parts of a balance, and their sum.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BalanceView {
    /// Still expected from the payer.
    #[schema(value_type = String, example = "0.00")]
    pub insurance: Decimal,
    /// Owed by the patient.
    #[schema(value_type = String, example = "24.00")]
    pub patient: Decimal,
    #[schema(value_type = String, example = "24.00")]
    pub total: Decimal,
}

impl From<Split> for BalanceView {
    fn from(s: Split) -> Self {
        BalanceView {
            insurance: cents(s.insurance),
            patient: cents(s.patient),
            total: cents(s.total()),
        }
    }
}

/// A claim's ledger, balance and status history.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClaimLedger {
    pub claim_id: Uuid,
    pub patient_id: Uuid,
    pub status: ClaimStatus,
    pub balance: BalanceView,
    /// Oldest first.
    pub entries: Vec<LedgerEntryView>,
    /// Status changes, oldest first.
    pub transitions: Vec<TransitionRecord>,
    /// Steps taken on the claim's denials (created, assigned, noted, ...), oldest first;
    /// absent when the claim has none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub denial_history: Vec<crate::model::denial::DenialEvent>,
    /// Claim payments from the unmatched remittance queue posted to the claim by hand (who,
    /// when, which lines), oldest first; absent when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub matched_by_hand: Vec<super::unmatched::ClaimMatch>,
}

pub fn claim_ledger(
    conn: &mut DbConnection,
    org: OrgId,
    claim_id: Uuid,
) -> CoreResult<ClaimLedger> {
    let claim = claims::get(conn, org, claim_id)?;
    let entries = ledger::for_claim(conn, org, claim_id)?;
    let b = crate::billing::ledger::balances(&entries);
    Ok(ClaimLedger {
        claim_id,
        patient_id: claim.patient_id,
        status: claim.status,
        balance: b.claim(claim_id).into(),
        entries: entries.iter().map(LedgerEntryView::from).collect(),
        transitions: history(conn, org, claim_id)?,
        denial_history: denials::events(conn, org, StepsOf::Claim(claim_id))?,
        matched_by_hand: super::unmatched::decisions_of_claim(conn, org, claim_id)?,
    })
}

/// One claim's balance in a patient's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ClaimBalance {
    pub claim_id: Uuid,
    pub service_date: NaiveDate,
    pub status: ClaimStatus,
    pub balance: BalanceView,
}

/// What a patient owes, and what their insurance still owes on their claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PatientBalance {
    pub patient_id: Uuid,
    /// What the patient owes on all claims, less unapplied credit.
    #[schema(value_type = String, example = "24.00")]
    pub patient_due: Decimal,
    /// Still expected from payers on this patient's claims.
    #[schema(value_type = String, example = "0.00")]
    pub insurance_pending: Decimal,
    /// Unapplied patient payments (zero or negative).
    #[schema(value_type = String, example = "0.00")]
    pub account_credit: Decimal,
    /// Claims with entries, oldest date of service first.
    pub claims: Vec<ClaimBalance>,
}

fn require_patient(conn: &mut DbConnection, org: OrgId, patient_id: Uuid) -> CoreResult<()> {
    if patients::exists(conn, org, patient_id)? {
        Ok(())
    } else {
        Err(CoreError::NotFound {
            resource: "patient",
        })
    }
}

pub(crate) struct Account {
    pub(crate) entries: Vec<LedgerEntry>,
    pub(crate) balances: Balances,
    pub(crate) claims: Vec<Claim>,
}

pub(crate) fn account(
    conn: &mut DbConnection,
    org: OrgId,
    patient_id: Uuid,
) -> CoreResult<Account> {
    require_patient(conn, org, patient_id)?;
    let entries = ledger::for_patient(conn, org, patient_id)?;
    let balances = crate::billing::ledger::balances(&entries);
    let mut claims = claims::for_patient(conn, org, patient_id)?;
    claims.sort_by_key(|c| (c.service_date_from, c.id));
    Ok(Account {
        entries,
        balances,
        claims,
    })
}

pub fn patient_balance(
    conn: &mut DbConnection,
    org: OrgId,
    patient_id: Uuid,
) -> CoreResult<PatientBalance> {
    let a = account(conn, org, patient_id)?;
    Ok(balance_of(patient_id, &a))
}

fn balance_of(patient_id: Uuid, a: &Account) -> PatientBalance {
    let claims: Vec<ClaimBalance> = a
        .claims
        .iter()
        .filter(|c| a.balances.claims.contains_key(&c.id))
        .map(|c| ClaimBalance {
            claim_id: c.id,
            service_date: c.service_date_from,
            status: c.status,
            balance: a.balances.claim(c.id).into(),
        })
        .collect();
    let insurance: Decimal = claims.iter().map(|c| c.balance.insurance).sum();
    PatientBalance {
        patient_id,
        patient_due: cents(
            a.balances
                .patients
                .get(&patient_id)
                .copied()
                .unwrap_or_default(),
        ),
        insurance_pending: cents(insurance),
        account_credit: cents(
            a.balances
                .patient_accounts
                .get(&patient_id)
                .copied()
                .unwrap_or_default(),
        ),
        claims,
    }
}

/// A payment from the patient.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"amount": "40.00"}))]
pub struct PatientPaymentInput {
    /// Greater than zero.
    pub amount: Money,
    /// Apply to this claim only (any excess becomes account credit); without it the payment
    /// goes to open items oldest date of service first.
    pub claim_id: Option<Uuid>,
    /// A receipt or check number (no PHI).
    #[schema(max_length = 50)]
    pub reference: Option<String>,
}

impl crate::validation::Rules for PatientPaymentInput {
    fn check(&self, e: &mut crate::validation::Errors) {
        e.check(
            !(self.amount.is_negative() || self.amount.is_zero()),
            "/amount",
            PatientPaymentError::NotPositive.to_string(),
        );
        e.check(
            self.reference
                .as_ref()
                .is_none_or(|r| r.chars().count() <= MAX_REFERENCE_LEN),
            "/reference",
            format!("must be at most {MAX_REFERENCE_LEN} characters"),
        );
    }
}

/// What a patient payment did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PatientPaymentResult {
    pub patient_id: Uuid,
    #[schema(value_type = String, example = "40.00")]
    pub amount: Decimal,
    /// The entries posted: one per item paid, and one without a claim for any excess.
    pub entries: Vec<LedgerEntryView>,
    /// The part that became account credit.
    #[schema(value_type = String, example = "0.00")]
    pub unapplied: Decimal,
    /// The patient's balance after the payment.
    pub balance: PatientBalance,
}

pub fn patient_payment(
    conn: &mut DbConnection,
    org: OrgId,
    patient_id: Uuid,
    input: &PatientPaymentInput,
) -> CoreResult<PatientPaymentResult> {
    let mut e = crate::validation::Errors::new();
    crate::validation::Rules::check(input, &mut e);
    e.finish()?;
    let a = account(conn, org, patient_id)?;
    let to = match input.claim_id {
        Some(c) => {
            if !a.claims.iter().any(|x| x.id == c) {
                return Err(CoreError::invalid(
                    "/claim_id",
                    "no such claim for this patient",
                ));
            }
            ApplyTo::Claim(c)
        }
        None => ApplyTo::OldestFirst,
    };
    let open = open_items(&a);
    let planned =
        apply_patient_payment(patient_id, input.amount, to, &open, input.reference.clone())
            .map_err(|e| match e {
                PatientPaymentError::NotPositive => CoreError::invalid("/amount", e.to_string()),
                PatientPaymentError::ClaimNotOpen => CoreError::invalid("/claim_id", e.to_string()),
            })?;
    let stored = ledger::append(conn, org, &planned, now())?;
    let unapplied: Decimal = stored
        .iter()
        .filter(|e| e.claim_id.is_none())
        .map(|e| -e.amount)
        .sum();
    let after = account(conn, org, patient_id)?;
    Ok(PatientPaymentResult {
        patient_id,
        amount: input.amount.as_decimal(),
        entries: stored.iter().map(LedgerEntryView::from).collect(),
        unapplied: cents(unapplied),
        balance: balance_of(patient_id, &after),
    })
}

/// The patient's open items: per claim line (in line order, then the claim-level bucket), with
/// the claim's first date of service.
fn open_items(a: &Account) -> Vec<OpenItem> {
    let mut out = Vec::new();
    for c in &a.claims {
        let lines = c.lines.iter().map(|l| Some(l.id)).chain([None]);
        for line in lines {
            if let Some(s) = a.balances.lines.get(&(c.id, line))
                && s.patient > Decimal::ZERO
            {
                out.push(OpenItem {
                    claim_id: c.id,
                    claim_line_id: line,
                    payer_id: c.payer_id,
                    service_date: c.service_date_from,
                    patient_balance: s.patient,
                });
            }
        }
    }
    out
}

/// The kind an entry counts as: a reversal counts as the kind it reverses.
pub(crate) fn effective_kinds(entries: &[LedgerEntry]) -> BTreeMap<Uuid, EntryKind> {
    let kinds: BTreeMap<Uuid, EntryKind> = entries.iter().map(|e| (e.id, e.kind)).collect();
    entries
        .iter()
        .map(|e| {
            let k = match (e.kind, e.reverses) {
                (EntryKind::Reversal, Some(r)) => kinds.get(&r).copied().unwrap_or(e.kind),
                (k, _) => k,
            };
            (e.id, k)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Reports

/// One row of the aging report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AgingRowView {
    /// The payer id or patient id.
    pub key: Uuid,
    /// Amounts per bucket, in `buckets` order.
    #[schema(value_type = Vec<String>, example = json!(["200.00", "0.00", "0.00", "0.00", "0.00"]))]
    pub amounts: Vec<Decimal>,
    #[schema(value_type = String, example = "200.00")]
    pub total: Decimal,
    pub claims: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AgingReportView {
    pub as_of: NaiveDate,
    /// `service` (date of service) or `submission` (first submission; date of service when
    /// never submitted).
    pub basis: String,
    /// `payer` (the insurance part of each claim) or `patient` (the patient part).
    pub group_by: String,
    #[schema(example = json!(["0-30", "31-60", "61-90", "91-120", "120+"]))]
    pub buckets: Vec<String>,
    pub rows: Vec<AgingRowView>,
    #[schema(value_type = Vec<String>)]
    pub totals: Vec<Decimal>,
    #[schema(value_type = String, example = "200.00")]
    pub total: Decimal,
}

fn end_of(d: NaiveDate) -> DateTime<Utc> {
    let t = d.and_hms_micro_opt(23, 59, 59, 999_999).unwrap_or_default();
    DateTime::from_naive_utc_and_offset(t, Utc)
}

/// Open balances as of the end of `as_of` (entries posted later are not counted), aged.
pub fn ar_aging(
    conn: &mut DbConnection,
    org: OrgId,
    as_of: NaiveDate,
    group: AgingGroup,
    basis: AgingBasis,
) -> CoreResult<AgingReportView> {
    // The database sums each claim's entries; only the open claims come back.
    let open = super::report_queries::open_claims(conn, org, end_of(as_of).naive_utc())?;
    let r = aging::aging(&open, as_of, basis, group);
    Ok(AgingReportView {
        as_of,
        basis: match basis {
            AgingBasis::DateOfService => "service",
            AgingBasis::SubmissionDate => "submission",
        }
        .into(),
        group_by: match group {
            AgingGroup::Payer => "payer",
            AgingGroup::Patient => "patient",
        }
        .into(),
        buckets: BUCKET_LABELS.iter().map(|s| s.to_string()).collect(),
        rows: r
            .rows
            .iter()
            .map(|row| AgingRowView {
                key: row.key,
                amounts: row.buckets.iter().copied().map(cents).collect(),
                total: cents(row.total),
                claims: row.claims,
            })
            .collect(),
        totals: r.totals.iter().copied().map(cents).collect(),
        total: cents(r.total),
    })
}

/// Count and amount of denied adjustments under one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DenialGroup {
    pub key: String,
    pub count: usize,
    #[schema(value_type = String, example = "200.00")]
    pub amount: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DenialsReport {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Denied adjustments (CAS on denied lines or claims) in remittances posted in the period.
    pub count: usize,
    /// Distinct claims with a denial.
    pub claims: usize,
    #[schema(value_type = String, example = "200.00")]
    pub amount: Decimal,
    /// By claim adjustment reason code, largest amount first.
    pub by_carc: Vec<DenialGroup>,
    /// By payer id.
    pub by_payer: Vec<DenialGroup>,
    /// By procedure code (`claim` for claim-level denials).
    pub by_procedure_code: Vec<DenialGroup>,
}

/// The denials report's groups per list when the caller gives no limit.
pub const DENIAL_GROUP_LIMIT: i64 = 20;

/// The denials report: outright denials (CAS on denied lines or claims, not the partial
/// denials of paid lines) of the remittances posted from `from` 00:00 to `to` 23:59:59 UTC
/// (either open-ended), aggregated by the database. Each list holds the `limit` groups with
/// the largest amount (then the key).
pub fn denials(
    conn: &mut DbConnection,
    org: OrgId,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    limit: i64,
) -> CoreResult<DenialsReport> {
    use super::report_queries::{DenialKey, posted_denials};
    // An open end is a day both engines store: 1900-01-01, 9999-12-31.
    let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
    let start = from
        .unwrap_or(day(1900, 1, 1))
        .and_time(chrono::NaiveTime::MIN);
    let end = end_of(to.unwrap_or(day(9999, 12, 31))).naive_utc();
    let total = posted_denials(conn, org, start, end, None, 1)?;
    let mut list = |key| -> CoreResult<Vec<DenialGroup>> {
        Ok(posted_denials(conn, org, start, end, Some(key), limit)?
            .into_iter()
            .map(|g| DenialGroup {
                key: g.key,
                count: usize::try_from(g.denials).unwrap_or_default(),
                amount: g.amount,
            })
            .collect())
    };
    let (by_carc, by_payer, by_procedure_code) = (
        list(DenialKey::Carc)?,
        list(DenialKey::Payer)?,
        list(DenialKey::ProcedureCode)?,
    );
    let t = total.first();
    Ok(DenialsReport {
        from,
        to,
        count: t.map_or(0, |t| usize::try_from(t.denials).unwrap_or_default()),
        claims: t.map_or(0, |t| usize::try_from(t.claims).unwrap_or_default()),
        amount: t.map_or(Decimal::new(0, 2), |t| t.amount),
        by_carc,
        by_payer,
        by_procedure_code,
    })
}

/// A rate with what it was computed from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Rate {
    /// numerator / denominator to four decimal places; null when the denominator is zero.
    #[schema(value_type = Option<String>, example = "0.9500")]
    pub value: Option<Decimal>,
    #[schema(value_type = String, example = "19")]
    pub numerator: Decimal,
    #[schema(value_type = String, example = "20")]
    pub denominator: Decimal,
}

impl Rate {
    pub(crate) fn of(numerator: Decimal, denominator: Decimal) -> Rate {
        let value = (!denominator.is_zero()).then(|| {
            let mut v = (numerator / denominator).round_dp(RATE_DECIMALS);
            v.rescale(RATE_DECIMALS);
            v
        });
        Rate {
            value,
            numerator,
            denominator,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Kpis {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub clean_claim_rate: Rate,
    pub denial_rate: Rate,
    /// Total A/R at the end of `to` over the average daily charges of the 90 days ending then.
    pub days_in_ar: Rate,
    pub net_collection_rate: Rate,
}

pub fn kpis(
    conn: &mut DbConnection,
    org: OrgId,
    from: NaiveDate,
    to: NaiveDate,
) -> CoreResult<Kpis> {
    // Counted and summed by the database.
    let start = from.and_hms_opt(0, 0, 0).unwrap_or_default();
    let end = end_of(to).naive_utc();
    let (submitted, clean) = super::report_queries::clean_claims(conn, org, start, end)?;
    let (adjudicated, denied) = super::report_queries::adjudicated_claims(conn, org, start, end)?;
    let window_start = end - Duration::days(DAYS_IN_AR_WINDOW);
    let ar = super::report_queries::receivables(conn, org, end)?;
    let super::report_queries::Collections {
        payments,
        charges,
        contractual,
        window_charges,
    } = super::report_queries::collections(conn, org, start, end, window_start)?;
    let daily = (window_charges / Decimal::from(DAYS_IN_AR_WINDOW)).round_dp(2);
    Ok(Kpis {
        from,
        to,
        clean_claim_rate: Rate::of(Decimal::from(clean), Decimal::from(submitted)),
        denial_rate: Rate::of(Decimal::from(denied), Decimal::from(adjudicated)),
        days_in_ar: Rate::of(cents(ar), daily),
        net_collection_rate: Rate::of(cents(payments), cents(charges - contractual)),
    })
}
