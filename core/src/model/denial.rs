//! A denial work item: one denied adjustment (CAS group and CARC) of a posted 835, its root
//! cause, and how far the biller has worked it.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::billing::denials::{DenialCategory, DenialStatus};
use crate::model::remittance::AdjustmentGroup;

/// A denied claim or line, as the work queue shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0b01",
    "claim_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a07", "claim_line_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a08",
    "level": "line", "patient_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a03",
    "payer_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a02", "remittance_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a0a",
    "procedure_code": "93000", "group": "CO", "carc": "97", "rarcs": ["M15"], "amount": "50.00",
    "category": "bundling", "avoidable": true, "partial": false, "status": "open", "assignee": null,
    "follow_up_on": null, "version": 1, "created_at": "2026-11-03T14:05:00Z", "updated_at": "2026-11-03T14:05:00Z"}))]
pub struct Denial {
    pub id: Uuid,
    pub claim_id: Uuid,
    /// The denied line; absent for a claim-level denial.
    pub claim_line_id: Option<Uuid>,
    /// `line` or `claim`: where in the 835 the adjustment was (SVC or CLP).
    pub level: String,
    pub patient_id: Uuid,
    pub payer_id: Uuid,
    pub remittance_id: Uuid,
    /// The line's procedure code, for a line-level denial.
    pub procedure_code: Option<String>,
    /// CAS01.
    #[schema(value_type = String, example = "CO")]
    pub group: AdjustmentGroup,
    /// CAS02 (the claim adjustment reason code).
    pub carc: String,
    /// The remark codes (LQ*HE, MOA) that came with it.
    pub rarcs: Vec<String>,
    #[schema(value_type = String, example = "50.00")]
    pub amount: Decimal,
    pub category: DenialCategory,
    /// Whether a front-end check, a correct code or an authorization would have prevented it.
    pub avoidable: bool,
    /// False: the line (or claim) was denied outright and the amount stays with the payer.
    /// True: a denial reason on a line that was otherwise paid; the amount was posted as an
    /// adjustment.
    pub partial: bool,
    pub status: DenialStatus,
    /// Who works it (a user's subject), if anyone.
    pub assignee: Option<String>,
    /// When to look at it again.
    pub follow_up_on: Option<NaiveDate>,
    pub version: i32,
    /// When the posting found it (the queue's age counts from here).
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl crate::model::Versioned for Denial {
    fn id(&self) -> Uuid {
        self.id
    }
    fn version(&self) -> i32 {
        self.version
    }
}

/// A biller's note on a denial. The text is PHI: stored encrypted, never logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DenialNote {
    pub id: Uuid,
    /// Whose record the note is about (for the audit trail; not in the body).
    #[serde(skip)]
    pub patient_id: Uuid,
    pub denial_id: Uuid,
    pub author: String,
    pub text: String,
    pub created_at: DateTime<Utc>,
}

/// One step taken on a denial, as the claim's history keeps it (no PHI: a note is named by
/// its id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DenialEvent {
    pub id: Uuid,
    pub denial_id: Uuid,
    pub claim_id: Uuid,
    /// `created`, `assigned`, `noted`, `follow_up_set` or `status_changed`.
    pub action: String,
    pub actor: String,
    /// What changed: `{"from": "open", "to": "in_progress"}`, `{"assignee": "..."}`,
    /// `{"follow_up_on": "2026-12-01"}`, `{"note_id": "..."}`.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    pub at: DateTime<Utc>,
}

/// A denial with its notes and its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DenialDetail {
    #[serde(flatten)]
    pub denial: Denial,
    /// Oldest first.
    pub notes: Vec<DenialNote>,
    /// Oldest first.
    pub history: Vec<DenialEvent>,
}

impl crate::model::Versioned for DenialDetail {
    fn id(&self) -> Uuid {
        self.denial.id
    }
    fn version(&self) -> i32 {
        self.denial.version
    }
}
