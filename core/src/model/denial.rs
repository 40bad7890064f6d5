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
    "follow_up_on": null, "resubmission_claim_id": null, "appeal_deadline": "2027-05-19",
    "appeal_due_soon": false, "version": 1, "created_at": "2026-11-03T14:05:00Z", "updated_at": "2026-11-03T14:05:00Z"}))]
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
    /// The corrected (frequency 7) or void (8) claim made from this denial, if any; the
    /// payer paying it in full resolves the denial.
    pub resubmission_claim_id: Option<Uuid>,
    /// The last day to send a first appeal: the remittance date plus the payer's appeal window
    /// (`appeal_limit_days`) when the denial was found.
    pub appeal_deadline: NaiveDate,
    /// Still to be appealed (open or in progress) and the deadline at most 14 days away or
    /// passed.
    pub appeal_due_soon: bool,
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

/// An appeal of a denial: one level sent to the payer, and its outcome once decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DenialAppeal {
    pub id: Uuid,
    pub denial_id: Uuid,
    pub claim_id: Uuid,
    /// 1 for the first appeal (a redetermination, for Medicare), then 2, ...
    pub level: i32,
    pub sent_on: NaiveDate,
    /// The last day it was due.
    pub deadline: NaiveDate,
    /// Sent after its deadline (with a stated reason).
    pub late: bool,
    /// The note holding the reason for a late appeal (encrypted, with the denial's notes).
    pub late_note_id: Option<Uuid>,
    /// `upheld`, `overturned` or `partially`; absent while the payer has not decided.
    pub outcome: Option<crate::billing::denials::appeals::AppealOutcome>,
    pub decided_on: Option<NaiveDate>,
    /// Who recorded the decision (`remittance:<id>` when an 835 paying the claim did).
    pub decided_by: Option<String>,
    pub actor: String,
    pub version: i32,
    pub created_at: DateTime<Utc>,
}

/// A denial with its notes and its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DenialDetail {
    #[serde(flatten)]
    pub denial: Denial,
    /// Oldest first.
    pub notes: Vec<DenialNote>,
    /// Its appeals, first level first.
    pub appeals: Vec<DenialAppeal>,
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

/// Write off (part of) a denial: the practice gives up collecting the amount from the payer.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"amount": "120.00", "group": "CO", "carc": "29",
    "note": "Filed 40 days past the payer's limit; no proof of timely filing"}))]
pub struct WriteOffInput {
    /// Greater than zero and at most the denial's open amount.
    #[schema(value_type = String, example = "120.00")]
    pub amount: crate::codes::Money,
    /// The adjustment group the write-off is booked under: `CO`, `OA` or `PI` (never `PR`: that
    /// is the patient's to pay, not a write-off).
    #[schema(value_type = String, example = "CO")]
    pub group: AdjustmentGroup,
    /// The reason, as a claim adjustment reason code of the shipped CARC list
    /// (`GET /v1/codes/carc/{code}`), e.g. `29` (timely filing), `197` (no authorization).
    #[schema(min_length = 1, max_length = 5, example = "29")]
    pub carc: String,
    /// Why, in the biller's words (PHI: stored encrypted as a note on the denial).
    // `workflows::denials::NOTE_MAX_CHARS`.
    #[schema(min_length = 1, max_length = 4000)]
    pub note: Option<String>,
}
