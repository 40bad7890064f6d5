//! Payment plan installments falling due: `payment_plan.installment_due` once per installment
//! whose due date has come while it is unpaid, whichever server looks first.

use chrono::NaiveDate;

use crate::error::CoreResult;
use crate::model::event::{EventData, InstallmentDue};
use crate::store::{DbConnection, events, payment_plans, write_transaction};

/// Announces every installment that fell due unpaid by `today` and was not announced yet;
/// returns how many. Installments paid by their due date are passed over silently.
pub fn announce(conn: &mut DbConnection, today: NaiveDate) -> CoreResult<usize> {
    let mut announced = 0;
    for (org, plan, considered) in payment_plans::falling_due(conn, today)? {
        if plan.status != "active" {
            continue;
        }
        let due_by = plan
            .schedule
            .iter()
            .filter(|i| i.due <= today)
            .map(|i| i.number)
            .max()
            .unwrap_or(0);
        if due_by <= considered {
            continue;
        }
        announced += write_transaction(conn, |c| {
            // Claimed first: a second server finds the number moved and announces nothing.
            if !payment_plans::mark_announced(c, org, plan.id, considered, due_by)? {
                return Ok(0);
            }
            let mut n = 0;
            for i in plan
                .schedule
                .iter()
                .filter(|i| i.number > considered && i.number <= due_by && !i.paid)
            {
                let data = EventData::PaymentPlanInstallmentDue(InstallmentDue {
                    payment_plan_id: plan.id,
                    patient_id: plan.patient_id,
                    installment: i.number,
                    due: i.due,
                    amount: i.amount,
                    remaining: plan.remaining,
                });
                events::emit(c, org, &data)?;
                n += 1;
            }
            Ok(n)
        })?;
    }
    Ok(announced)
}
