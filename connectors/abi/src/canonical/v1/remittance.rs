//! Remittance advice (835).

use serde::{Deserialize, Serialize};

use super::*;

/// Payment of one service line (835 loop 2110).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceLinePayment {
    /// REF*6R: the line control number sent on the claim.
    pub line_control_number: Option<String>,
    pub procedure_code: String,
    pub modifiers: Vec<String>,
    /// SVC06 when the payer adjudicated a different code.
    pub original_procedure_code: Option<String>,
    pub charge: String,
    pub paid_amount: String,
    pub paid_units: Option<String>,
    /// AMT*B6.
    pub allowed_amount: Option<String>,
    pub service_date: Option<String>,
    pub adjustments: Vec<Adjustment>,
    /// RARC codes (LQ*HE).
    pub remark_codes: Vec<String>,
}

/// Payment of one claim (835 loop 2100, CLP).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClaimPayment {
    /// CLP01: the claim control number we sent.
    pub claim_control_number: String,
    /// CLP02: 1 primary, 2 secondary, 3 tertiary, 4 denied, 19-23 forwarded/reversal...
    pub status_code: String,
    /// CLP03.
    pub total_charge: String,
    /// CLP04.
    pub paid_amount: String,
    /// CLP05.
    pub patient_responsibility: Option<String>,
    /// CLP06.
    pub claim_filing_indicator: Option<String>,
    /// CLP07.
    pub payer_claim_number: Option<String>,
    /// CLP08.
    pub facility_type_code: Option<String>,
    /// CLP09.
    pub frequency_code: Option<String>,
    pub patient_name: Option<PersonName>,
    pub member_id: Option<String>,
    pub rendering_provider_npi: Option<String>,
    /// Claim-level CAS.
    pub adjustments: Vec<Adjustment>,
    /// Claim-level remark codes (MOA).
    pub remark_codes: Vec<String>,
    pub service_lines: Vec<ServiceLinePayment>,
}

/// A provider-level adjustment (PLB), not tied to a claim.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProviderAdjustment {
    /// PLB01.
    pub provider_id: String,
    /// PLB02.
    pub fiscal_period_date: String,
    /// PLB03-1 (e.g. `WO`, `L6`, `FB`).
    pub reason_code: String,
    /// PLB03-2.
    pub reference: Option<String>,
    /// PLB04; positive reduces the payment.
    pub amount: String,
}

/// One id a payer gave itself in a file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PayerIdentifier {
    /// What kind of id: `ein` (employer id number), `payer_id` (payer or clearinghouse
    /// payer id), `cms_plan_id` (CMS national plan id), `naic` (NAIC company code), `hin`
    /// (health industry number) or `submitter_id`.
    pub qualifier: String,
    pub value: String,
    /// Where it was read, e.g. `TRN03`, `N1*PR N104`, `REF*2U` (element names only).
    pub source: String,
}

/// A remittance advice (one 835 transaction).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Remittance {
    #[serde(default = "schema_version")]
    pub schema_version: u32,
    pub payer: PayerRef,
    /// Every id the remittance gives its payer by, in file order (an 835's TRN03, N1*PR
    /// N103/N104 and 1000A REFs), so the host can find the payer by any id it knows.
    pub payer_identifiers: Vec<PayerIdentifier>,
    pub payee_npi: Option<String>,
    pub payee_tin: Option<String>,
    /// TRN02: check or EFT trace number.
    pub trace_number: String,
    /// BPR04: `ACH`, `CHK`, `NON`...
    pub payment_method: Option<String>,
    /// BPR02.
    pub payment_amount: String,
    /// BPR16.
    pub payment_date: Option<String>,
    pub claims: Vec<ClaimPayment>,
    pub provider_adjustments: Vec<ProviderAdjustment>,
}
