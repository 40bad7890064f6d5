//! Patient statements as a practice mails them: who to pay and how, the account, every open
//! service with what each insurer paid, adjusted and left to the patient (with the reason
//! code's meaning), what insurance still owes, the payment plan's next installment, and a
//! remittance coupon.
//!
//! A preview (`GET /v1/patients/{id}/statement`) is built on demand and never numbered.
//! Issuing stores the statement with the org's next statement number; a statement run issues
//! one to every patient who owes something and had none within the profile's cycle. An issued
//! statement is stored without the patient's name and address (those stay encrypted with the
//! patient and are filled in when it is shown).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::access::OrgId;
use crate::billing::ledger::EntryKind;
use crate::codes::carc_description;
use crate::error::{CoreError, CoreResult};
use crate::model::claim::ClaimStatus;
use crate::model::common::Address;
use crate::store::accounts::{account, effective_kinds};
use crate::store::charge_master::Descriptions;
use crate::store::ledger::cents;
use crate::store::statements::{self as rows, DEFAULT_DUE_DAYS, NewStatement, StatementProfile};
use crate::store::{DbConnection, KeyRing, ledger, new_id, patients, payers, payment_plans};

/// `preview` (built on request, not numbered) or `issued` (numbered and stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatementStatus {
    Preview,
    Issued,
}

/// The practice's block at the top of the statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PracticeBlock {
    pub name: String,
    pub address: Address,
    /// For billing questions.
    pub phone: Option<String>,
}

/// Where payments are mailed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RemitTo {
    pub name: String,
    pub address: Address,
}

/// How the patient may pay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PaymentOptions {
    pub online_url: Option<String>,
    pub phone: Option<String>,
    /// Checks by mail to the remit-to address.
    pub mail: bool,
}

/// One reason an amount was adjusted or left to the patient: the 835's group and claim
/// adjustment reason code, and what the code means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AdjustmentReason {
    /// CAS group (CO, PR, OA, PI, CR); absent for the practice's own adjustments.
    #[schema(example = "PR")]
    pub group: Option<String>,
    /// Claim adjustment reason code.
    #[schema(example = "96")]
    pub carc: Option<String>,
    #[schema(example = "Non-covered charge")]
    pub description: String,
    /// Positive: the amount taken off (adjustments) or assigned to the patient.
    #[schema(value_type = String, example = "50.00")]
    pub amount: Decimal,
}

/// What one insurer did with a service line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InsurerActivity {
    pub payer_id: Uuid,
    #[schema(example = "Acme Health")]
    pub payer_name: String,
    #[schema(value_type = String, example = "72.00")]
    pub paid: Decimal,
    /// Taken off by contract or the payer's decision: not owed by the patient.
    pub adjustments: Vec<AdjustmentReason>,
    /// Assigned to the patient (deductible, coinsurance, copay, a denied service).
    pub patient_responsibility: Vec<AdjustmentReason>,
    /// Whether the payer paid nothing on the line and adjusted it all (a denial).
    pub denied: bool,
}

/// One service line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatementLine {
    /// Absent for amounts the payer adjusted on the claim as a whole.
    pub line_id: Option<Uuid>,
    pub service_date: NaiveDate,
    /// Absent for claim-level amounts.
    #[schema(example = "99214")]
    pub procedure_code: Option<String>,
    pub modifiers: Vec<String>,
    /// The practice's description from its charge master, or the code when it has none.
    #[schema(example = "Office visit, established patient")]
    pub description: String,
    #[schema(value_type = String, example = "150.00")]
    pub charge: Decimal,
    /// Each insurer's payments, adjustments and patient responsibility, by payer.
    pub insurance: Vec<InsurerActivity>,
    /// The practice's own adjustments and write-offs (positive).
    #[schema(value_type = String, example = "0.00")]
    pub practice_adjustments: Decimal,
    /// Still expected from insurance.
    #[schema(value_type = String, example = "0.00")]
    pub insurance_pending: Decimal,
    #[schema(value_type = String, example = "0.00")]
    pub patient_paid: Decimal,
    #[schema(value_type = String, example = "18.00")]
    pub patient_due: Decimal,
}

/// One claim of the statement: a visit the patient owes on or insurance has not settled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatementItem {
    pub claim_id: Uuid,
    pub service_date: NaiveDate,
    pub status: ClaimStatus,
    /// The insurer billed (absent when self-pay).
    pub payer_name: Option<String>,
    /// The procedure codes billed.
    pub procedures: Vec<String>,
    #[schema(value_type = String, example = "200.00")]
    pub charges: Decimal,
    #[schema(value_type = String, example = "96.00")]
    pub insurance_paid: Decimal,
    /// Contractual and other adjustments and write-offs (positive: what was taken off).
    #[schema(value_type = String, example = "80.00")]
    pub adjustments: Decimal,
    /// What payers assigned to the patient (deductible, coinsurance, copay, denials).
    #[schema(value_type = String, example = "24.00")]
    pub patient_responsibility: Decimal,
    #[schema(value_type = String, example = "0.00")]
    pub patient_paid: Decimal,
    /// Billed to insurance and not yet settled by it.
    #[schema(value_type = String, example = "0.00")]
    pub insurance_pending: Decimal,
    #[schema(value_type = String, example = "24.00")]
    pub patient_due: Decimal,
    pub lines: Vec<StatementLine>,
}

/// The next installment of the patient's payment plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NextInstallment {
    pub number: i32,
    pub due: NaiveDate,
    /// What is left to pay of it (and of any earlier one not fully paid).
    #[schema(value_type = String, example = "8.00")]
    pub amount: Decimal,
}

/// The patient's active payment plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlanSummary {
    pub plan_id: Uuid,
    pub installments: i32,
    #[schema(value_type = String, example = "24.00")]
    pub total: Decimal,
    #[schema(value_type = String, example = "16.00")]
    pub remaining: Decimal,
    pub next_installment: Option<NextInstallment>,
}

/// The detachable part the patient mails back with a check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Coupon {
    pub account_number: String,
    /// Absent on a preview.
    pub statement_number: Option<i64>,
    #[schema(value_type = String, example = "24.00")]
    pub amount_due: Decimal,
    pub due_date: NaiveDate,
    pub remit_to: Option<RemitTo>,
}

/// A patient statement.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Statement {
    /// The issued statement's id (absent on a preview).
    pub id: Option<Uuid>,
    pub status: StatementStatus,
    /// Sequential per organization (absent on a preview).
    pub statement_number: Option<i64>,
    pub patient_id: Uuid,
    /// The patient's account number on statements and coupons: derived from the patient's
    /// record id, so it never changes.
    #[schema(example = "8F3A-91C2-0B4D")]
    pub account_number: String,
    pub statement_date: NaiveDate,
    /// The statement date plus the profile's `due_days`.
    pub due_date: NaiveDate,
    pub patient_name: String,
    /// Shown when the caller may see addresses.
    pub address: Option<Address>,
    /// From the statement profile (absent until one is set).
    pub practice: Option<PracticeBlock>,
    pub remit_to: Option<RemitTo>,
    pub payment_options: Option<PaymentOptions>,
    pub message: Option<String>,
    /// Claims with a patient balance or a balance insurance still owes, oldest service first.
    pub items: Vec<StatementItem>,
    #[schema(value_type = String, example = "200.00")]
    pub charges: Decimal,
    #[schema(value_type = String, example = "96.00")]
    pub insurance_paid: Decimal,
    #[schema(value_type = String, example = "80.00")]
    pub adjustments: Decimal,
    #[schema(value_type = String, example = "0.00")]
    pub patient_paid: Decimal,
    /// What insurance still owes on these claims (not billed to the patient yet).
    #[schema(value_type = String, example = "0.00")]
    pub insurance_pending: Decimal,
    /// Unapplied credit on the account (zero or negative), counted in `patient_due`.
    #[schema(value_type = String, example = "0.00")]
    pub account_credit: Decimal,
    /// The patient's balance (zero when credit covers it).
    #[schema(value_type = String, example = "24.00")]
    pub patient_due: Decimal,
    /// What to pay by the due date: the balance, or with a payment plan the installment due
    /// plus whatever the plan does not cover.
    #[schema(value_type = String, example = "24.00")]
    pub amount_due: Decimal,
    pub payment_plan: Option<PlanSummary>,
    pub coupon: Coupon,
}

/// The account number printed for a patient: the random tail of the record id, grouped.
pub fn account_number(patient_id: Uuid) -> String {
    let hex = patient_id.simple().to_string().to_ascii_uppercase();
    let t = &hex[20..];
    format!("{}-{}-{}", &t[..4], &t[4..8], &t[8..])
}

fn reason(
    group: Option<crate::model::remittance::AdjustmentGroup>,
    carc: Option<&str>,
) -> (Option<String>, Option<String>) {
    (
        group.map(|g| g.as_str().to_string()),
        carc.map(str::to_string),
    )
}

fn describe(group: Option<&str>, carc: Option<&str>, fallback: &str) -> String {
    match carc.and_then(carc_description) {
        Some(d) => d.to_string(),
        None => match (group, carc) {
            (_, Some(c)) => format!("Adjustment reason {c}"),
            _ => fallback.to_string(),
        },
    }
}

#[derive(Default)]
struct PayerAcc {
    paid: Decimal,
    adjustments: BTreeMap<(Option<String>, Option<String>), Decimal>,
    patient: BTreeMap<(Option<String>, Option<String>), Decimal>,
}

fn reasons(
    m: &BTreeMap<(Option<String>, Option<String>), Decimal>,
    fallback: &str,
) -> Vec<AdjustmentReason> {
    m.iter()
        .filter(|(_, a)| !a.is_zero())
        .map(|((g, c), a)| AdjustmentReason {
            description: describe(g.as_deref(), c.as_deref(), fallback),
            group: g.clone(),
            carc: c.clone(),
            amount: cents(*a),
        })
        .collect()
}

/// Builds the statement of `patient_id` as of `today` (not stored, not numbered).
pub fn build(
    conn: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    patient_id: Uuid,
    today: NaiveDate,
) -> CoreResult<Statement> {
    let a = account(conn, org, patient_id)?;
    let p = patients::get(conn, keyring, org, patient_id)?;
    let profile = rows::profile(conn, org)?;
    let descriptions = Descriptions::load(conn, org)?;
    let kinds = effective_kinds(&a.entries);
    let mut payer_names: BTreeMap<Uuid, String> = BTreeMap::new();
    let payer_ids: BTreeSet<Uuid> = a
        .entries
        .iter()
        .filter_map(|e| e.payer_id)
        .chain(a.claims.iter().filter_map(|c| c.payer_id))
        .collect();
    for id in payer_ids {
        payer_names.insert(id, payers::get(conn, org, id)?.name);
    }
    let mut items = Vec::new();
    for c in &a.claims {
        let split = a.balances.claim(c.id);
        if split.patient <= Decimal::ZERO && split.insurance <= Decimal::ZERO {
            continue;
        }
        let mut lines = Vec::new();
        let line_ids = c.lines.iter().map(|l| Some(l.id)).chain([None]);
        for line_id in line_ids {
            let entries: Vec<_> = a
                .entries
                .iter()
                .filter(|e| e.claim_id == Some(c.id) && e.claim_line_id == line_id)
                .collect();
            let claim_line = line_id.and_then(|id| c.lines.iter().find(|l| l.id == id));
            if claim_line.is_none() && entries.is_empty() {
                continue;
            }
            let mut charge = Decimal::ZERO;
            let mut practice = Decimal::ZERO;
            let mut patient_paid = Decimal::ZERO;
            let mut by_payer: BTreeMap<Uuid, PayerAcc> = BTreeMap::new();
            for e in entries {
                let kind = kinds.get(&e.id).copied().unwrap_or(e.kind);
                let key = reason(e.group, e.carc.as_deref());
                let payer = e.payer_id.or(c.payer_id);
                match (kind, payer) {
                    (EntryKind::Charge, _) => charge += e.amount,
                    (EntryKind::PatientPayment | EntryKind::Refund, _) => patient_paid -= e.amount,
                    (EntryKind::WriteOff, _) => practice -= e.amount,
                    (EntryKind::InsurancePayment, Some(p)) => {
                        by_payer.entry(p).or_default().paid -= e.amount
                    }
                    (EntryKind::PatientResponsibilityTransfer, Some(p)) => {
                        *by_payer
                            .entry(p)
                            .or_default()
                            .patient
                            .entry(key)
                            .or_default() += e.amount
                    }
                    (
                        EntryKind::ContractualAdjustment
                        | EntryKind::OtherAdjustment
                        | EntryKind::PayerInitiatedReduction
                        | EntryKind::Correction,
                        Some(p),
                    ) => {
                        *by_payer
                            .entry(p)
                            .or_default()
                            .adjustments
                            .entry(key)
                            .or_default() -= e.amount
                    }
                    // Payer amounts on a self-pay claim: the practice's own adjustment.
                    (
                        EntryKind::InsurancePayment
                        | EntryKind::ContractualAdjustment
                        | EntryKind::OtherAdjustment
                        | EntryKind::PayerInitiatedReduction
                        | EntryKind::Correction,
                        None,
                    ) => practice -= e.amount,
                    (EntryKind::PatientResponsibilityTransfer, None) => {}
                    (EntryKind::Reversal | EntryKind::ProviderAdjustment, _) => {}
                }
            }
            let insurance: Vec<InsurerActivity> = by_payer
                .into_iter()
                .map(|(id, acc)| {
                    let adjustments = reasons(&acc.adjustments, "Adjustment");
                    let patient_responsibility = reasons(&acc.patient, "Patient responsibility");
                    let denied = acc.paid.is_zero()
                        && (!adjustments.is_empty() || !patient_responsibility.is_empty());
                    InsurerActivity {
                        payer_id: id,
                        payer_name: payer_names.get(&id).cloned().unwrap_or_default(),
                        paid: cents(acc.paid),
                        adjustments,
                        patient_responsibility,
                        denied,
                    }
                })
                .filter(|i| {
                    !i.paid.is_zero()
                        || !i.adjustments.is_empty()
                        || !i.patient_responsibility.is_empty()
                })
                .collect();
            let split = a
                .balances
                .lines
                .get(&(c.id, line_id))
                .copied()
                .unwrap_or_default();
            let (code, modifiers, service_date) = match claim_line {
                Some(l) => (
                    Some(l.line.procedure_code.as_str().to_string()),
                    l.line
                        .modifiers
                        .iter()
                        .map(|m| m.as_str().to_string())
                        .collect::<Vec<_>>(),
                    l.line.service_date.unwrap_or(c.service_date_from),
                ),
                None => (None, Vec::new(), c.service_date_from),
            };
            let description = match &code {
                Some(code) => descriptions
                    .of(code, &modifiers)
                    .map(str::to_string)
                    .unwrap_or_else(|| code.clone()),
                None => "Claim-level adjustments".to_string(),
            };
            lines.push(StatementLine {
                line_id,
                service_date,
                procedure_code: code,
                modifiers,
                description,
                charge: cents(charge),
                insurance,
                practice_adjustments: cents(practice),
                insurance_pending: cents(split.insurance),
                patient_paid: cents(patient_paid),
                patient_due: cents(split.patient),
            });
        }
        let sum = |f: &dyn Fn(&StatementLine) -> Decimal| cents(lines.iter().map(f).sum());
        let item = StatementItem {
            claim_id: c.id,
            service_date: c.service_date_from,
            status: c.status,
            payer_name: c.payer_id.and_then(|p| payer_names.get(&p).cloned()),
            procedures: c
                .lines
                .iter()
                .map(|l| l.line.procedure_code.as_str().to_string())
                .collect(),
            charges: sum(&|l| l.charge),
            insurance_paid: sum(&|l| l.insurance.iter().map(|i| i.paid).sum()),
            adjustments: sum(&|l| {
                l.practice_adjustments
                    + l.insurance
                        .iter()
                        .flat_map(|i| &i.adjustments)
                        .map(|r| r.amount)
                        .sum::<Decimal>()
            }),
            patient_responsibility: sum(&|l| {
                l.insurance
                    .iter()
                    .flat_map(|i| &i.patient_responsibility)
                    .map(|r| r.amount)
                    .sum()
            }),
            patient_paid: sum(&|l| l.patient_paid),
            insurance_pending: cents(split.insurance),
            patient_due: cents(split.patient.max(Decimal::ZERO)),
            lines,
        };
        items.push(item);
    }
    let credit = a
        .balances
        .patient_accounts
        .get(&patient_id)
        .copied()
        .unwrap_or_default();
    let owed: Decimal = items.iter().map(|i| i.patient_due).sum::<Decimal>() + credit;
    let patient_due = cents(owed.max(Decimal::ZERO));
    let plan = payment_plans::list(conn, org, patient_id)?
        .into_iter()
        .rev()
        .find(|p| p.status == "active")
        .map(|p| {
            let mut cumulative = Decimal::ZERO;
            let next = p.schedule.iter().find_map(|i| {
                cumulative += i.amount;
                (!i.paid).then(|| NextInstallment {
                    number: i.number,
                    due: i.due,
                    amount: cents(cumulative - p.paid_to_date),
                })
            });
            PlanSummary {
                plan_id: p.id,
                installments: p.installments,
                total: p.total,
                remaining: p.remaining,
                next_installment: next,
            }
        });
    let due_days = profile.as_ref().map_or(DEFAULT_DUE_DAYS, |p| p.due_days);
    let due_date = today + Duration::days(i64::from(due_days));
    let amount_due = match &plan {
        // The installment falls due under the plan; anything the plan does not cover (new
        // charges since it began) is due in full.
        Some(plan) => {
            let installment = plan
                .next_installment
                .as_ref()
                .filter(|n| n.due <= due_date)
                .map_or(Decimal::ZERO, |n| n.amount);
            let outside = (patient_due - plan.remaining).max(Decimal::ZERO);
            cents((installment + outside).min(patient_due))
        }
        None => patient_due,
    };
    let account = account_number(patient_id);
    let (practice, remit_to, payment_options, message) = match profile {
        Some(StatementProfile {
            practice_name,
            practice_address,
            practice_phone,
            remit_to_name,
            remit_to_address,
            payment_url,
            payment_phone,
            message,
            ..
        }) => (
            Some(PracticeBlock {
                name: practice_name,
                address: practice_address,
                phone: practice_phone,
            }),
            Some(RemitTo {
                name: remit_to_name,
                address: remit_to_address,
            }),
            Some(PaymentOptions {
                online_url: payment_url,
                phone: payment_phone,
                mail: true,
            }),
            message,
        ),
        None => (None, None, None, None),
    };
    let total = |f: &dyn Fn(&StatementItem) -> Decimal| cents(items.iter().map(f).sum());
    Ok(Statement {
        id: None,
        status: StatementStatus::Preview,
        statement_number: None,
        patient_id,
        account_number: account.clone(),
        statement_date: today,
        due_date,
        patient_name: format!("{} {}", p.given_name, p.family_name),
        address: p.address,
        practice,
        remit_to: remit_to.clone(),
        payment_options,
        message,
        charges: total(&|i| i.charges),
        insurance_paid: total(&|i| i.insurance_paid),
        adjustments: total(&|i| i.adjustments),
        patient_paid: total(&|i| i.patient_paid),
        insurance_pending: total(&|i| i.insurance_pending),
        items,
        account_credit: cents(credit),
        patient_due,
        amount_due,
        payment_plan: plan,
        coupon: Coupon {
            account_number: account,
            statement_number: None,
            amount_due,
            due_date,
            remit_to,
        },
    })
}

/// Why an issue was refused or a patient skipped by a run.
fn refuse_unless_issuable(s: &Statement, has_profile: bool) -> CoreResult<()> {
    if !has_profile {
        return Err(CoreError::Conflict(
            "set the statement profile (PUT /v1/statement-profile) before issuing statements"
                .into(),
        ));
    }
    if s.patient_due <= Decimal::ZERO {
        return Err(CoreError::Conflict(
            "the patient owes nothing: there is no statement to issue".into(),
        ));
    }
    Ok(())
}

/// Numbers and stores a built statement. Call inside the issuing transaction, after
/// [`rows::lock_counter`].
fn store(
    conn: &mut DbConnection,
    org: OrgId,
    mut s: Statement,
    run_id: Option<Uuid>,
    actor: &str,
) -> CoreResult<Statement> {
    let number = rows::next_number(conn, org)?;
    let id = new_id();
    s.id = Some(id);
    s.status = StatementStatus::Issued;
    s.statement_number = Some(number);
    s.coupon.statement_number = Some(number);
    // The stored document carries no direct identifiers.
    let mut doc = s.clone();
    doc.patient_name = String::new();
    doc.address = None;
    let document = serde_json::to_string(&doc)
        .map_err(|_| CoreError::Internal("the statement does not serialise".into()))?;
    rows::insert(
        conn,
        org,
        &NewStatement {
            id,
            patient_id: s.patient_id,
            number,
            statement_date: s.statement_date,
            due_date: s.due_date,
            amount_due: s.amount_due,
            run_id,
            document,
            actor,
        },
    )?;
    Ok(s)
}

/// Issues the patient's statement: numbered and stored. Call inside one write transaction.
pub fn issue(
    conn: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    patient_id: Uuid,
    today: NaiveDate,
    actor: &str,
) -> CoreResult<Statement> {
    rows::lock_counter(conn, org)?;
    let has_profile = rows::profile(conn, org)?.is_some();
    let s = build(conn, keyring, org, patient_id, today)?;
    refuse_unless_issuable(&s, has_profile)?;
    store(conn, org, s, None, actor)
}

/// An issued statement, with the patient's current name and address filled in.
pub fn get(
    conn: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    id: Uuid,
) -> CoreResult<Statement> {
    let row = rows::get(conn, org, id)?;
    let mut s: Statement = serde_json::from_str(&row.document)
        .map_err(|_| CoreError::Internal("a stored statement does not parse".into()))?;
    let p = patients::get(conn, keyring, org, row.patient_id)?;
    s.patient_name = format!("{} {}", p.given_name, p.family_name);
    s.address = p.address;
    Ok(s)
}

/// One issued statement of a list: no names, no amounts per service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct IssuedStatement {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub statement_number: i64,
    pub statement_date: NaiveDate,
    pub due_date: NaiveDate,
    #[schema(value_type = String, example = "24.00")]
    pub amount_due: Decimal,
    pub run_id: Option<Uuid>,
}

impl From<&rows::StoredStatement> for IssuedStatement {
    fn from(s: &rows::StoredStatement) -> Self {
        IssuedStatement {
            id: s.id,
            patient_id: s.patient_id,
            statement_number: s.number,
            statement_date: s.statement_date,
            due_date: s.due_date,
            amount_due: s.amount_due,
            run_id: s.run_id,
        }
    }
}

/// A patient's issued statements, newest first.
pub fn list_for_patient(
    conn: &mut DbConnection,
    org: OrgId,
    patient_id: Uuid,
) -> CoreResult<Vec<IssuedStatement>> {
    if !patients::exists(conn, org, patient_id)? {
        return Err(CoreError::NotFound {
            resource: "patient",
        });
    }
    Ok(rows::for_patient(conn, org, patient_id)?
        .iter()
        .map(IssuedStatement::from)
        .collect())
}

/// How many patients a run skipped for one reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SkipCount {
    /// `issued_within_cycle` (a statement dated within the profile's `cycle_days`) or
    /// `nothing_due` (account credit covers the balance).
    #[schema(example = "issued_within_cycle")]
    pub reason: String,
    pub count: usize,
}

/// What a statement run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StatementRun {
    pub run_id: Uuid,
    pub statement_date: NaiveDate,
    pub cycle_days: i32,
    /// Patients with a patient balance considered.
    pub candidates: usize,
    pub issued: usize,
    pub skipped: usize,
    pub skipped_by_reason: Vec<SkipCount>,
    /// The statements issued, by statement number.
    pub statements: Vec<IssuedStatement>,
}

/// Issues a statement to every patient with a patient balance who had none within the
/// profile's cycle. One transaction: the run issues all its statements or none. `progress`
/// is told (done, total) after each patient.
pub fn run(
    conn: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    today: NaiveDate,
    actor: &str,
    progress: &mut dyn FnMut(usize, usize),
) -> CoreResult<StatementRun> {
    rows::lock_counter(conn, org)?;
    let Some(profile) = rows::profile(conn, org)? else {
        return Err(CoreError::Conflict(
            "set the statement profile (PUT /v1/statement-profile) before a statement run".into(),
        ));
    };
    let entries = ledger::all_until(conn, org, None)?;
    let balances = crate::billing::ledger::balances(&entries);
    let patient_of: BTreeMap<Uuid, Uuid> = entries
        .iter()
        .filter_map(|e| Some((e.claim_id?, e.patient_id?)))
        .collect();
    let owing: BTreeSet<Uuid> = balances
        .claims
        .iter()
        .filter(|(_, s)| s.patient > Decimal::ZERO)
        .filter_map(|(claim, _)| patient_of.get(claim).copied())
        .collect();
    let run_id = new_id();
    let cutoff = today - Duration::days(i64::from(profile.cycle_days));
    let mut skipped: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut issued = Vec::new();
    let total = owing.len();
    for (done, patient_id) in owing.iter().enumerate() {
        let recent = rows::last_issued(conn, org, *patient_id)?.is_some_and(|d| d > cutoff);
        if recent {
            *skipped.entry("issued_within_cycle").or_default() += 1;
        } else {
            let s = build(conn, keyring, org, *patient_id, today)?;
            if s.patient_due <= Decimal::ZERO {
                *skipped.entry("nothing_due").or_default() += 1;
            } else {
                let s = store(conn, org, s, Some(run_id), actor)?;
                issued.push(IssuedStatement {
                    id: s.id.unwrap_or(run_id),
                    patient_id: s.patient_id,
                    statement_number: s.statement_number.unwrap_or_default(),
                    statement_date: s.statement_date,
                    due_date: s.due_date,
                    amount_due: s.amount_due,
                    run_id: Some(run_id),
                });
            }
        }
        progress(done + 1, total);
    }
    Ok(StatementRun {
        run_id,
        statement_date: today,
        cycle_days: profile.cycle_days,
        candidates: total,
        issued: issued.len(),
        skipped: skipped.values().sum(),
        skipped_by_reason: skipped
            .into_iter()
            .map(|(reason, count)| SkipCount {
                reason: reason.to_string(),
                count,
            })
            .collect(),
        statements: issued,
    })
}
