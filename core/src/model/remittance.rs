//! A payer's remittance advice (the structured form of an X12 835), stored as received.
//! Posting it to claims and the ledger is the billing engine's job.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::common::{MAX_REFERENCE_LEN, text};
use crate::codes::{Modifier, Money, ProcedureCode, Units};
use crate::validation::Errors;

/// CAS segments carry at most six reason/amount triplets; we allow that many per level.
const MAX_ADJUSTMENTS: usize = 99;
const MAX_CLAIM_PAYMENTS: usize = 10_000;
/// Longest patient control number an 835 returns (CLP01).
const MAX_CLP_CONTROL_NUMBER_LEN: usize = 38;
/// A provider adjustment reason (PLB03-1) is a two-character code.
const PLB_REASON_LEN: usize = 2;
/// A claim adjustment reason code (CARC) has one to five characters.
const MAX_CARC_LEN: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum AdjustmentGroup {
    /// Contractual obligation.
    CO,
    /// Patient responsibility.
    PR,
    /// Other adjustment.
    OA,
    /// Payer-initiated reduction.
    PI,
    /// Correction and reversal.
    CR,
}

/// BPR04 payment method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum PaymentMethod {
    ACH,
    CHK,
    BOP,
    FWT,
    NON,
}

impl PaymentMethod {
    /// The method of a BPR04 code, exactly as the JSON value is written (`ACH`, `CHK`...).
    pub fn parse(code: &str) -> Option<PaymentMethod> {
        Some(match code {
            "ACH" => PaymentMethod::ACH,
            "CHK" => PaymentMethod::CHK,
            "BOP" => PaymentMethod::BOP,
            "FWT" => PaymentMethod::FWT,
            "NON" => PaymentMethod::NON,
            _ => return None,
        })
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            PaymentMethod::ACH => "ACH",
            PaymentMethod::CHK => "CHK",
            PaymentMethod::BOP => "BOP",
            PaymentMethod::FWT => "FWT",
            PaymentMethod::NON => "NON",
        }
    }
}

/// One CAS adjustment: group, claim adjustment reason code (CARC) and amount.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"group": "CO", "reason": "45", "amount": "80.00"}))]
pub struct Adjustment {
    pub group: AdjustmentGroup,
    #[schema(pattern = "^[A-Z0-9]{1,5}$")]
    pub reason: String,
    /// Positive reduces payment; negative increases it (as in the 835).
    pub amount: SignedMoney,
    pub quantity: Option<Units>,
}

/// A money amount that may be negative (reversals and recoupments).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "-24.00", pattern = "^-?[0-9]{1,10}(\\.[0-9]{1,2})?$")]
pub struct SignedMoney(pub Money);

impl TryFrom<String> for SignedMoney {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Money::signed_parse(&s)
            .map(SignedMoney)
            .map_err(|e| e.to_string())
    }
}

impl From<SignedMoney> for String {
    fn from(m: SignedMoney) -> String {
        m.0.to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServicePayment {
    /// REF*6R: the line item control number the claim was sent with; matches the line back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 50, example = "1-7c1e9a03b5d4")]
    pub line_control_number: Option<String>,
    pub procedure_code: ProcedureCode,
    #[serde(default)]
    pub modifiers: Vec<Modifier>,
    pub charge: SignedMoney,
    pub paid: SignedMoney,
    pub units: Option<Units>,
    #[serde(default, deserialize_with = "crate::codes::date::de_opt")]
    pub service_date: Option<NaiveDate>,
    #[serde(default)]
    pub adjustments: Vec<Adjustment>,
    /// Remittance advice remark codes (RARC, LQ*HE).
    #[serde(default)]
    pub remarks: Vec<String>,
}

/// One CLP loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"patient_control_number": "C01JD4Q8W3M5XK2P9RTA", "status_code": "1",
    "total_charge": "200.00", "paid": "96.00", "patient_responsibility": "24.00",
    "payer_claim_number": "PCN-2026-000981",
    "adjustments": [{"group": "CO", "reason": "45", "amount": "80.00"},
                    {"group": "PR", "reason": "2", "amount": "24.00"}]}))]
pub struct ClaimPayment {
    /// CLP01: our patient control number.
    pub patient_control_number: String,
    /// CLP02 claim status code (1 processed as primary, 2 secondary, 3 tertiary, 4 denied,
    /// 19-23 forwarded/reversal, 25 predetermination).
    #[schema(example = "1")]
    pub status_code: String,
    pub total_charge: SignedMoney,
    pub paid: SignedMoney,
    pub patient_responsibility: Option<SignedMoney>,
    /// CLP07: the payer's claim control number.
    pub payer_claim_number: Option<String>,
    #[serde(default)]
    pub adjustments: Vec<Adjustment>,
    #[serde(default)]
    pub lines: Vec<ServicePayment>,
}

/// PLB provider-level adjustment (interest, recoupment, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderAdjustment {
    /// PLB03-1 adjustment reason code, e.g. L6 interest, WO overpayment recovery.
    #[schema(example = "L6")]
    pub reason: String,
    pub reference: Option<String>,
    pub amount: SignedMoney,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"payer_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a02",
    "trace_number": "EFT-20261115-0042", "payment_date": "2026-11-15", "payment_method": "ACH",
    "total_paid": "80.00",
    "claims": [{"patient_control_number": "PCN0000001", "status_code": "1",
        "total_charge": "150.00", "paid": "80.00", "patient_responsibility": "20.00",
        "payer_claim_number": "2026111500042",
        "lines": [{"procedure_code": "99214", "modifiers": ["25"], "charge": "150.00",
            "paid": "80.00", "units": "1", "service_date": "2026-11-02",
            "adjustments": [{"group": "CO", "reason": "45", "amount": "50.00"},
                            {"group": "PR", "reason": "2", "amount": "20.00"}]}]}]}))]
pub struct RemittanceInput {
    pub payer_id: Uuid,
    /// TRN02: check or EFT trace number; unique per payer.
    #[schema(max_length = 50)]
    pub trace_number: String,
    #[serde(deserialize_with = "crate::codes::date::de")]
    pub payment_date: NaiveDate,
    pub payment_method: PaymentMethod,
    /// BPR02: total actual provider payment.
    pub total_paid: SignedMoney,
    pub claims: Vec<ClaimPayment>,
    #[serde(default)]
    pub provider_adjustments: Vec<ProviderAdjustment>,
}

impl RemittanceInput {
    pub fn validate(&self) -> Result<(), crate::error::CoreError> {
        let mut e = Errors::new();
        crate::validation::Rules::check(self, &mut e);
        e.finish()
    }
}

impl crate::validation::Rules for RemittanceInput {
    fn check(&self, e: &mut Errors) {
        text(e, "/trace_number", &self.trace_number, MAX_REFERENCE_LEN);
        e.check(
            self.claims.len() <= MAX_CLAIM_PAYMENTS,
            "/claims",
            format!("at most {MAX_CLAIM_PAYMENTS} claim payments per remittance"),
        );
        for (i, c) in self.claims.iter().enumerate() {
            let at = format!("/claims/{i}");
            text(
                e,
                &format!("{at}/patient_control_number"),
                &c.patient_control_number,
                MAX_CLP_CONTROL_NUMBER_LEN,
            );
            let status_ok = matches!(
                c.status_code.as_str(),
                "1" | "2" | "3" | "4" | "19" | "20" | "21" | "22" | "23" | "25"
            );
            e.check(
                status_ok,
                format!("{at}/status_code"),
                "is not an X12 835 CLP02 claim status code",
            );
            check_adjustments(&c.adjustments, &format!("{at}/adjustments"), e);
            for (j, l) in c.lines.iter().enumerate() {
                if let Some(lcn) = &l.line_control_number {
                    e.check(
                        lcn.chars().count() <= MAX_REFERENCE_LEN,
                        format!("{at}/lines/{j}/line_control_number"),
                        format!("must be at most {MAX_REFERENCE_LEN} characters"),
                    );
                }
                check_adjustments(&l.adjustments, &format!("{at}/lines/{j}/adjustments"), e);
            }
        }
        for (i, p) in self.provider_adjustments.iter().enumerate() {
            text(
                e,
                &format!("/provider_adjustments/{i}/reason"),
                &p.reason,
                PLB_REASON_LEN,
            );
        }
    }
}

fn check_adjustments(adjs: &[Adjustment], at: &str, e: &mut Errors) {
    e.check(adjs.len() <= MAX_ADJUSTMENTS, at, "too many adjustments");
    for (k, a) in adjs.iter().enumerate() {
        let ok = (1..=MAX_CARC_LEN).contains(&a.reason.len())
            && a.reason
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        e.check(
            ok,
            format!("{at}/{k}/reason"),
            "must be a claim adjustment reason code (CARC)",
        );
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Remittance {
    pub id: Uuid,
    pub payer_id: Uuid,
    pub trace_number: String,
    #[serde(deserialize_with = "crate::codes::date::de")]
    pub payment_date: NaiveDate,
    pub payment_method: PaymentMethod,
    pub total_paid: SignedMoney,
    pub claims: Vec<ClaimPayment>,
    pub provider_adjustments: Vec<ProviderAdjustment>,
    /// `received` until the billing engine posts it.
    pub status: String,
    /// The recorded X12 file (835) the remittance came in, when it came in one.
    pub exchange_id: Option<Uuid>,
    /// That file's name, when the import or the inbox gave one.
    pub file_name: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The part of a remittance kept in the `body` column (header fields have their own columns).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RemittanceBody {
    pub claims: Vec<ClaimPayment>,
    pub provider_adjustments: Vec<ProviderAdjustment>,
}

/// Which remittances a list returns (its query string).
#[derive(Debug, Default, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RemittanceFilter {
    pub payer_id: Option<Uuid>,
    pub trace_number: Option<String>,
}
