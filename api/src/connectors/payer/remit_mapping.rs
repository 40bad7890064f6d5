//! A canonical remittance (what the plugin read from an 835) as core's remittance input, value
//! by value through core's own parsers: amounts, units, codes and dates are refused exactly as
//! a `POST /v1/remittances` body holding the same text would be.

use revcycle_connector_abi::canonical::v1 as canonical;
use revcycle_core::codes::date::parse_date;
use revcycle_core::codes::{Modifier, Money, ProcedureCode, Units};
use revcycle_core::model::remittance::{
    Adjustment, AdjustmentGroup, ClaimPayment, PaymentMethod, ProviderAdjustment, RemittanceInput,
    ServicePayment, SignedMoney,
};
use uuid::Uuid;

/// A value of the remittance that core cannot store (an amount, code or date out of range).
/// It names nothing: the value may be PHI-adjacent and the caller gives the place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Unmappable;

type Mapped<T> = Result<T, Unmappable>;

fn money(s: &str) -> Mapped<SignedMoney> {
    Money::signed_parse(s)
        .map(SignedMoney)
        .map_err(|_| Unmappable)
}

fn units(s: Option<&str>) -> Mapped<Option<Units>> {
    s.map(|u| Units::parse(u).map_err(|_| Unmappable))
        .transpose()
}

fn adjustments(adj: &[canonical::Adjustment]) -> Mapped<Vec<Adjustment>> {
    adj.iter()
        .map(|a| {
            Ok(Adjustment {
                // Exactly as written (a body's `group` is not trimmed or upper-cased).
                group: AdjustmentGroup::ALL
                    .into_iter()
                    .find(|g| g.as_str() == a.group)
                    .ok_or(Unmappable)?,
                reason: a.reason.clone(),
                amount: money(&a.amount)?,
                quantity: units(a.quantity.as_deref())?,
            })
        })
        .collect()
}

fn line(l: &canonical::ServiceLinePayment) -> Mapped<ServicePayment> {
    Ok(ServicePayment {
        // A control number the claim could not have been sent with matches no line.
        line_control_number: l
            .line_control_number
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty() && v.len() <= 50)
            .map(str::to_string),
        procedure_code: ProcedureCode::parse(&l.procedure_code).map_err(|_| Unmappable)?,
        modifiers: l
            .modifiers
            .iter()
            .map(|m| Modifier::parse(m).map_err(|_| Unmappable))
            .collect::<Mapped<_>>()?,
        charge: money(&l.charge)?,
        paid: money(&l.paid_amount)?,
        units: units(l.paid_units.as_deref())?,
        service_date: l
            .service_date
            .as_deref()
            .map(|d| parse_date(d).map_err(|_| Unmappable))
            .transpose()?,
        adjustments: adjustments(&l.adjustments)?,
        remarks: l.remark_codes.clone(),
    })
}

fn claim(c: &canonical::ClaimPayment) -> Mapped<ClaimPayment> {
    Ok(ClaimPayment {
        patient_control_number: c.claim_control_number.clone(),
        status_code: c.status_code.clone(),
        total_charge: money(&c.total_charge)?,
        paid: money(&c.paid_amount)?,
        patient_responsibility: c.patient_responsibility.as_deref().map(money).transpose()?,
        payer_claim_number: c.payer_claim_number.clone(),
        adjustments: adjustments(&c.adjustments)?,
        lines: c.service_lines.iter().map(line).collect::<Mapped<_>>()?,
    })
}

/// The remittance as core stores it, for `payer` (the nil id while the payer is not known).
/// A remittance without a BPR16 date is dated `today`; a payment method core does not know
/// is `NON`.
pub(super) fn remittance_input(
    r: &canonical::Remittance,
    payer: Uuid,
    today: chrono::NaiveDate,
) -> Mapped<RemittanceInput> {
    Ok(RemittanceInput {
        payer_id: payer,
        trace_number: r.trace_number.clone(),
        payment_date: match r.payment_date.as_deref() {
            Some(d) => parse_date(d).map_err(|_| Unmappable)?,
            None => today,
        },
        payment_method: r
            .payment_method
            .as_deref()
            .and_then(PaymentMethod::parse)
            .unwrap_or(PaymentMethod::NON),
        total_paid: money(&r.payment_amount)?,
        claims: r.claims.iter().map(claim).collect::<Mapped<_>>()?,
        provider_adjustments: r
            .provider_adjustments
            .iter()
            .map(|p| {
                Ok(ProviderAdjustment {
                    reason: p.reason_code.clone(),
                    reference: p.reference.clone(),
                    amount: money(&p.amount)?,
                })
            })
            .collect::<Mapped<_>>()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn today() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 12, 6).unwrap()
    }

    fn sample() -> canonical::Remittance {
        serde_json::from_value(json!({
            "trace_number": "EFT0001", "payment_method": "CHK", "payment_amount": "96",
            "payment_date": "2026-11-20",
            "payer": {"name": "ACME"},
            "claims": [{"claim_control_number": "PCN1", "status_code": "1",
                "total_charge": "200", "paid_amount": "96.00", "patient_responsibility": "24",
                "payer_claim_number": "PAYER-1",
                "adjustments": [{"group": "CO", "reason": "45", "amount": "80"}],
                "service_lines": [{"line_control_number": " 1-abc ", "procedure_code": "99214",
                    "modifiers": ["25"], "charge": "200.00", "paid_amount": "96",
                    "paid_units": "1", "service_date": "2026-11-02",
                    "adjustments": [{"group": "PR", "reason": "2", "amount": "24.00",
                        "quantity": "1"}],
                    "remark_codes": ["N130"]}]}],
            "provider_adjustments": [{"provider_id": "1234567893", "reason_code": "L6",
                "reference": "R1", "amount": "-1.50"}]
        }))
        .unwrap()
    }

    /// The typed mapping gives what the earlier mapping (the canonical remittance re-keyed as
    /// JSON and read by serde as a `POST /v1/remittances` body) gave.
    #[test]
    fn maps_as_the_rest_body_of_the_same_values_reads() {
        let payer = Uuid::now_v7();
        let typed = remittance_input(&sample(), payer, today()).unwrap();
        let as_body: RemittanceInput = serde_json::from_value(json!({
            "payer_id": payer, "trace_number": "EFT0001", "payment_date": "2026-11-20",
            "payment_method": "CHK", "total_paid": "96",
            "claims": [{"patient_control_number": "PCN1", "status_code": "1",
                "total_charge": "200", "paid": "96.00", "patient_responsibility": "24",
                "payer_claim_number": "PAYER-1",
                "adjustments": [{"group": "CO", "reason": "45", "amount": "80",
                    "quantity": null}],
                "lines": [{"line_control_number": "1-abc", "procedure_code": "99214",
                    "modifiers": ["25"], "charge": "200.00", "paid": "96", "units": "1",
                    "service_date": "2026-11-02",
                    "adjustments": [{"group": "PR", "reason": "2", "amount": "24.00",
                        "quantity": "1"}],
                    "remarks": ["N130"]}]}],
            "provider_adjustments": [{"reason": "L6", "reference": "R1", "amount": "-1.50"}]
        }))
        .unwrap();
        assert_eq!(typed, as_body);
    }

    #[test]
    fn defaults_and_refusals() {
        let mut r = sample();
        r.payment_date = None;
        r.payment_method = Some("XYZ".into());
        r.claims[0].service_lines[0].line_control_number = Some("x".repeat(51));
        let m = remittance_input(&r, Uuid::nil(), today()).unwrap();
        assert_eq!(m.payment_date, today());
        assert_eq!(m.payment_method, PaymentMethod::NON);
        assert_eq!(m.claims[0].lines[0].line_control_number, None);
        let refused = |f: &dyn Fn(&mut canonical::Remittance)| {
            let mut r = sample();
            f(&mut r);
            remittance_input(&r, Uuid::nil(), today())
        };
        assert_eq!(
            refused(&|r| r.payment_amount = "1.234".into()),
            Err(Unmappable)
        );
        assert_eq!(
            refused(&|r| r.payment_date = Some("2026-13-01".into())),
            Err(Unmappable)
        );
        assert_eq!(
            refused(&|r| r.claims[0].adjustments[0].group = "XX".into()),
            Err(Unmappable)
        );
        assert_eq!(
            refused(&|r| r.claims[0].service_lines[0].paid_units = Some("0".into())),
            Err(Unmappable)
        );
        assert_eq!(
            refused(&|r| r.claims[0].service_lines[0].procedure_code = "9921".into()),
            Err(Unmappable)
        );
        assert_eq!(
            refused(&|r| r.claims[0].service_lines[0].modifiers = vec!["QQQ".into()]),
            Err(Unmappable)
        );
    }
}
