//! Payment plans: a patient pays (part of) their balance in monthly installments. The plan
//! records the agreement; payments are ordinary patient payments on the ledger, and a plan's
//! progress (paid to date, next installment) is derived from those posted since it began.

use chrono::{DateTime, Months, NaiveDate, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ledger::{self, cents};
use super::schema::payment_plans;
use super::sql_types::DbDecimal;
use super::{DbConnection, new_id, parse_id};
use crate::access::OrgId;
use crate::billing::ledger::EntryKind;
use crate::codes::Money;
use crate::error::{CoreError, CoreResult};
use crate::model::common::{now, utc};

/// Longest plan: five years of monthly installments.
pub const MAX_INSTALLMENTS: i32 = 60;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"installments": 3, "first_due": "2027-01-15"}))]
pub struct PaymentPlanInput {
    /// Number of monthly installments, 2 to 60.
    #[schema(minimum = 2, maximum = 60)]
    pub installments: i32,
    /// Due date of the first installment; the others fall on the same day of later months.
    pub first_due: NaiveDate,
    /// The amount the plan covers (default: everything the patient owes now); at most what
    /// they owe.
    pub amount: Option<Money>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Installment {
    /// 1-based.
    pub number: i32,
    pub due: NaiveDate,
    #[schema(value_type = String, example = "8.00")]
    pub amount: Decimal,
    /// Whether patient payments since the plan began cover this installment and those before.
    pub paid: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PaymentPlan {
    pub id: Uuid,
    pub patient_id: Uuid,
    #[schema(value_type = String, example = "24.00")]
    pub total: Decimal,
    pub installments: i32,
    /// Every installment but the last; the last takes the remaining cents.
    #[schema(value_type = String, example = "8.00")]
    pub installment_amount: Decimal,
    pub first_due: NaiveDate,
    /// `monthly`.
    pub frequency: String,
    /// `active` or `completed` (paid in full).
    pub status: String,
    pub schedule: Vec<Installment>,
    /// Patient payments posted since the plan began, at most `total`.
    #[schema(value_type = String, example = "0.00")]
    pub paid_to_date: Decimal,
    #[schema(value_type = String, example = "24.00")]
    pub remaining: Decimal,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Split `total` into `n` installments of whole cents: equal, the last taking the remainder.
pub fn split(total: Decimal, n: i32) -> (Decimal, Decimal) {
    let n = Decimal::from(n.max(1));
    let each = (total / n).trunc_with_scale(2);
    let last = total - each * (n - Decimal::ONE);
    (cents(each), cents(last))
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = payment_plans)]
struct PlanRow {
    id: String,
    patient_id: String,
    total: DbDecimal,
    installments: i32,
    installment_amount: DbDecimal,
    first_due: NaiveDate,
    frequency: String,
    status: String,
    version: i32,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
}

impl PlanRow {
    fn into_model(self, paid_since: Decimal) -> CoreResult<PaymentPlan> {
        let total = cents(self.total.0);
        let (each, last) = split(total, self.installments);
        let paid_to_date = cents(paid_since.min(total).max(Decimal::ZERO));
        let mut cumulative = Decimal::ZERO;
        let schedule = (1..=self.installments)
            .map(|k| {
                let amount = if k == self.installments { last } else { each };
                cumulative += amount;
                let due = self
                    .first_due
                    .checked_add_months(Months::new(u32::try_from(k - 1).unwrap_or(0)))
                    .unwrap_or(self.first_due);
                Installment {
                    number: k,
                    due,
                    amount,
                    paid: paid_to_date >= cumulative,
                }
            })
            .collect();
        let status = if paid_to_date >= total {
            "completed".to_string()
        } else {
            self.status
        };
        Ok(PaymentPlan {
            id: parse_id(&self.id)?,
            patient_id: parse_id(&self.patient_id)?,
            total,
            installments: self.installments,
            installment_amount: cents(self.installment_amount.0),
            first_due: self.first_due,
            frequency: self.frequency,
            status,
            schedule,
            paid_to_date,
            remaining: cents(total - paid_to_date),
            version: self.version,
            created_at: utc(self.created_at),
            updated_at: utc(self.updated_at),
        })
    }
}

/// Net patient payments (less refunds, reversals included) posted at or after `since`.
fn paid_since(entries: &[crate::billing::ledger::LedgerEntry], since: DateTime<Utc>) -> Decimal {
    let kinds: std::collections::BTreeMap<Uuid, EntryKind> =
        entries.iter().map(|e| (e.id, e.kind)).collect();
    -entries
        .iter()
        .filter(|e| e.posted_at >= since)
        .filter(|e| {
            let k = match (e.kind, e.reverses) {
                (EntryKind::Reversal, Some(r)) => kinds.get(&r).copied(),
                (k, _) => Some(k),
            };
            matches!(k, Some(EntryKind::PatientPayment | EntryKind::Refund))
        })
        .map(|e| e.amount)
        .sum::<Decimal>()
}

impl crate::validation::Rules for PaymentPlanInput {
    fn check(&self, e: &mut crate::validation::Errors) {
        e.check(
            (2..=MAX_INSTALLMENTS).contains(&self.installments),
            "/installments",
            format!("must be 2 to {MAX_INSTALLMENTS}"),
        );
        e.check(
            self.amount.is_none_or(|a| a.as_decimal() > Decimal::ZERO),
            "/amount",
            "must be greater than zero",
        );
    }
}

/// Agree a plan over what the patient owes now. One active plan per patient (409 otherwise).
pub fn create(
    conn: &mut DbConnection,
    org: OrgId,
    patient_id: Uuid,
    input: &PaymentPlanInput,
) -> CoreResult<PaymentPlan> {
    let mut e = crate::validation::Errors::new();
    crate::validation::Rules::check(input, &mut e);
    e.finish()?;
    let balance = super::accounts::patient_balance(conn, org, patient_id)?;
    let due = balance.patient_due;
    let total = match input.amount {
        Some(a) if a.as_decimal() <= Decimal::ZERO => {
            return Err(CoreError::invalid("/amount", "must be greater than zero"));
        }
        Some(a) if a.as_decimal() > due => {
            return Err(CoreError::invalid(
                "/amount",
                format!("must not exceed what the patient owes ({due})"),
            ));
        }
        Some(a) => a.as_decimal(),
        None if due <= Decimal::ZERO => {
            return Err(CoreError::invalid(
                "",
                "the patient owes nothing to put on a plan",
            ));
        }
        None => due,
    };
    if list(conn, org, patient_id)?
        .iter()
        .any(|p| p.status == "active")
    {
        return Err(CoreError::Conflict(
            "the patient already has an active payment plan".into(),
        ));
    }
    let (each, _) = split(total, input.installments);
    let id = new_id();
    let t = now();
    diesel::insert_into(payment_plans::table)
        .values((
            payment_plans::id.eq(id.to_string()),
            payment_plans::org_id.eq(org.as_str()),
            payment_plans::patient_id.eq(patient_id.to_string()),
            payment_plans::total.eq(DbDecimal(cents(total))),
            payment_plans::installments.eq(input.installments),
            payment_plans::installment_amount.eq(DbDecimal(each)),
            payment_plans::first_due.eq(input.first_due),
            payment_plans::frequency.eq("monthly"),
            payment_plans::status.eq("active"),
            payment_plans::version.eq(1),
            payment_plans::created_at.eq(t),
            payment_plans::updated_at.eq(t),
        ))
        .execute(conn)?;
    list(conn, org, patient_id)?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or_else(|| CoreError::Internal("the new payment plan was not found".into()))
}

/// A patient's plans, oldest first, with their progress.
pub fn list(conn: &mut DbConnection, org: OrgId, patient_id: Uuid) -> CoreResult<Vec<PaymentPlan>> {
    if !super::patients::exists(conn, org, patient_id)? {
        return Err(CoreError::NotFound {
            resource: "patient",
        });
    }
    let rows: Vec<PlanRow> = payment_plans::table
        .filter(payment_plans::org_id.eq(org.as_str()))
        .filter(payment_plans::patient_id.eq(patient_id.to_string()))
        .order(payment_plans::id.asc())
        .select(PlanRow::as_select())
        .load(conn)?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let entries = ledger::for_patient(conn, org, patient_id)?;
    rows.into_iter()
        .map(|r| {
            let paid = paid_since(&entries, utc(r.created_at));
            r.into_model(paid)
        })
        .collect()
}

/// Active plans whose first installment is due by `today`, in every org, each with the highest
/// installment number already considered for `payment_plan.installment_due`.
pub fn falling_due(
    conn: &mut DbConnection,
    today: NaiveDate,
) -> CoreResult<Vec<(OrgId, PaymentPlan, i32)>> {
    let rows: Vec<(String, i32, PlanRow)> = payment_plans::table
        .filter(payment_plans::status.eq("active"))
        .filter(payment_plans::first_due.le(today))
        .order(payment_plans::id.asc())
        .select((
            payment_plans::org_id,
            payment_plans::due_announced,
            PlanRow::as_select(),
        ))
        .load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for (org, announced, row) in rows {
        let org = OrgId(parse_id(&org)?);
        let entries = ledger::for_patient(conn, org, parse_id(&row.patient_id)?)?;
        let paid = paid_since(&entries, utc(row.created_at));
        out.push((org, row.into_model(paid)?, announced));
    }
    Ok(out)
}

/// Moves a plan's announced installment number from `from` to `to`; false when another
/// server moved it first.
pub fn mark_announced(
    conn: &mut DbConnection,
    org: OrgId,
    plan: Uuid,
    from: i32,
    to: i32,
) -> CoreResult<bool> {
    let n = diesel::update(payment_plans::table)
        .filter(payment_plans::org_id.eq(org.as_str()))
        .filter(payment_plans::id.eq(plan.to_string()))
        .filter(payment_plans::due_announced.eq(from))
        .set(payment_plans::due_announced.eq(to))
        .execute(conn)?;
    Ok(n == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_keeps_every_cent() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(split(d("100.00"), 3), (d("33.33"), d("33.34")));
        assert_eq!(split(d("24.00"), 3), (d("8.00"), d("8.00")));
        assert_eq!(split(d("0.05"), 2), (d("0.02"), d("0.03")));
    }
}
