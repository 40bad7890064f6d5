//! Appealing a denial and recording the payer's decision. An appeal is due by its deadline
//! (the first level: the remittance date plus the payer's appeal window; a later level: the
//! decision on the one before plus the window); one sent after it needs a stated reason. The
//! denial (and its claim, where the lifecycle allows) moves to `appealed`; an outcome moves it
//! on ([`AppealOutcome::denial_status`]). A later 835 paying the claim in full records the
//! appeal as overturned by itself ([`super::resolution`]). One transaction each.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::access::OrgId;
use crate::billing::denials::DenialStatus;
use crate::billing::denials::appeals::{AppealOutcome, MAX_APPEAL_LEVEL, deadline};
use crate::billing::denials::status::check;
use crate::billing::lifecycle::{self, Transition};
use crate::error::{CoreError, CoreResult};
use crate::model::claim::ClaimStatus;
use crate::model::common::{now, utc};
use crate::model::denial::{Denial, DenialAppeal, DenialNote};
use crate::store::denial_appeals::{self, NewAppeal};
use crate::store::denials::{self, Change};
use crate::store::{DbConnection, KeyRing, billing, claims, payers};
use crate::validation::{Errors, Rules};

/// Send an appeal of a denial.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"sent_on": "2026-12-04",
    "note": "Authorization PA-5521 was on file; approval letter attached"}))]
pub struct AppealInput {
    /// The level sent: the next one (1 for the first appeal) when left out.
    #[schema(minimum = 1, maximum = 5)]
    pub level: Option<i32>,
    /// The day the appeal was sent (not in the future).
    pub sent_on: NaiveDate,
    /// Why an appeal after its deadline should be heard (good cause); required then, refused
    /// otherwise. PHI-prone: stored encrypted as a note on the denial.
    #[schema(min_length = 1, max_length = 4000)]
    pub late_reason: Option<String>,
    /// What was argued or sent (PHI: stored encrypted as a note on the denial).
    #[schema(min_length = 1, max_length = 4000)]
    pub note: Option<String>,
}

impl Rules for AppealInput {
    fn check(&self, e: &mut Errors) {
        e.check(
            self.level
                .is_none_or(|l| (1..=MAX_APPEAL_LEVEL).contains(&l)),
            "/level",
            format!("must be between 1 and {MAX_APPEAL_LEVEL}"),
        );
        if let Some(r) = &self.late_reason {
            super::steps::check_text("/late_reason", r, e);
        }
        if let Some(n) = &self.note {
            super::steps::check_text("/note", n, e);
        }
    }
}

/// The payer's decision on the pending appeal.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"outcome": "upheld", "decided_on": "2027-01-15",
    "note": "Payer upholds: authorization was for another date of service"}))]
pub struct AppealOutcomeInput {
    pub outcome: AppealOutcome,
    /// The day of the payer's decision (not before the appeal was sent, not in the future).
    pub decided_on: NaiveDate,
    /// PHI: stored encrypted as a note on the denial.
    #[schema(min_length = 1, max_length = 4000)]
    pub note: Option<String>,
}

impl Rules for AppealOutcomeInput {
    fn check(&self, e: &mut Errors) {
        if let Some(n) = &self.note {
            super::steps::check_text("/note", n, e);
        }
    }
}

/// A denial after an appeal step, with the appeal.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DenialAppealed {
    pub denial: Denial,
    pub appeal: DenialAppeal,
    /// The claim's status after the step.
    pub claim_status: ClaimStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<DenialNote>,
}

fn refused(e: crate::billing::denials::StatusRefused) -> CoreError {
    CoreError::TransitionRefused {
        message: e.to_string(),
        allowed_next: e.allowed.iter().map(|s| s.as_str()).collect(),
    }
}

fn note(
    c: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    d: &Denial,
    actor: &str,
    text: Option<&str>,
) -> CoreResult<Option<DenialNote>> {
    let Some(text) = text else { return Ok(None) };
    let mut n = denials::add_note(c, keyring, org, d.id, actor, text)?;
    n.patient_id = d.patient_id;
    Ok(Some(n))
}

/// Moves the claim to `to` when the lifecycle allows it (recorded in its history); the status
/// it ends in.
fn move_claim(
    c: &mut DbConnection,
    org: OrgId,
    claim_id: Uuid,
    to: ClaimStatus,
    actor: &str,
    reason: String,
) -> CoreResult<ClaimStatus> {
    let claim = claims::get(c, org, claim_id)?;
    if claim.status == to || lifecycle::check(claim.status, to).is_err() {
        return Ok(claim.status);
    }
    let t = Transition::new(claim.status, to, utc(now()), actor, Some(reason))
        .map_err(|e| CoreError::refused(&e))?;
    billing::record_transition(c, org, &claim, &t, None)?;
    Ok(to)
}

/// Records an appeal sent on `input.sent_on` (at most `today`), checked against its deadline.
#[allow(clippy::too_many_arguments)]
pub fn appeal(
    c: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    id: Uuid,
    expected: Option<i32>,
    actor: &str,
    input: &AppealInput,
    today: NaiveDate,
) -> CoreResult<DenialAppealed> {
    let mut e = Errors::new();
    input.check(&mut e);
    e.finish()?;
    let d = super::steps::open_at(c, org, id, expected)?;
    let earlier = denial_appeals::of_denial(c, org, id)?;
    if earlier.iter().any(|a| a.outcome.is_none()) {
        return Err(CoreError::Conflict(
            "an appeal of this denial is waiting for the payer's decision".into(),
        ));
    }
    let level = i32::try_from(earlier.len()).unwrap_or(i32::MAX) + 1;
    let due = match earlier.last() {
        None => d.appeal_deadline,
        Some(prev) => {
            let window = payers::get(c, org, d.payer_id)?.appeal_limit_days;
            deadline(prev.decided_on.unwrap_or(prev.sent_on), window)
        }
    };
    let mut e = Errors::new();
    if input.level.is_some_and(|l| l != level) {
        e.add(
            "/level",
            format!("the next level of this denial's appeal is {level}"),
        );
    }
    if input.sent_on > today {
        e.add("/sent_on", "must not be in the future");
    } else if input.sent_on > due && input.late_reason.is_none() {
        e.add(
            "/sent_on",
            format!("the appeal deadline {due} has passed: give late_reason to appeal anyway"),
        );
    }
    if input.sent_on <= due && input.late_reason.is_some() {
        e.add(
            "/late_reason",
            format!("only an appeal sent after its deadline ({due}) gives a late reason"),
        );
    }
    e.finish()?;

    // Open denials are taken in progress on the way.
    if d.status == DenialStatus::Open {
        check(DenialStatus::Open, DenialStatus::InProgress).map_err(refused)?;
        check(DenialStatus::InProgress, DenialStatus::Appealed).map_err(refused)?;
    } else {
        check(d.status, DenialStatus::Appealed).map_err(refused)?;
    }
    let late_note = note(c, keyring, org, &d, actor, input.late_reason.as_deref())?;
    let note = note(c, keyring, org, &d, actor, input.note.as_deref())?;
    let appeal = denial_appeals::insert(
        c,
        org,
        &NewAppeal {
            denial_id: d.id,
            claim_id: d.claim_id,
            level,
            sent_on: input.sent_on,
            deadline: due,
            late_note_id: late_note.as_ref().map(|n| n.id),
        },
        actor,
    )?;
    let updated = denials::update(
        c,
        org,
        id,
        d.version,
        &Change::Status(DenialStatus::Appealed),
    )?;
    let claim_status = move_claim(
        c,
        org,
        d.claim_id,
        ClaimStatus::Appealed,
        actor,
        format!("appeal level {level} of a denial sent"),
    )?;
    denials::record_event(
        c,
        org,
        &updated,
        "appealed",
        actor,
        json!({
            "appeal_id": appeal.id, "level": level, "sent_on": input.sent_on, "deadline": due,
            "late": appeal.late, "late_note_id": appeal.late_note_id,
            "note_id": note.as_ref().map(|n| n.id),
            "from": d.status.as_str(), "to": DenialStatus::Appealed.as_str(),
        }),
    )?;
    Ok(DenialAppealed {
        denial: updated,
        appeal,
        claim_status,
        note: note.or(late_note),
    })
}

/// Records the payer's decision on the denial's pending appeal.
#[allow(clippy::too_many_arguments)]
pub fn decide(
    c: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    id: Uuid,
    expected: Option<i32>,
    actor: &str,
    input: &AppealOutcomeInput,
    today: NaiveDate,
) -> CoreResult<DenialAppealed> {
    let mut e = Errors::new();
    input.check(&mut e);
    e.finish()?;
    let d = super::steps::open_at(c, org, id, expected)?;
    let pending = match (d.status, denial_appeals::pending(c, org, id)?) {
        (DenialStatus::Appealed, Some(a)) => a,
        _ => {
            return Err(CoreError::Conflict(
                "the denial has no appeal waiting for a decision".into(),
            ));
        }
    };
    let mut e = Errors::new();
    if input.decided_on > today {
        e.add("/decided_on", "must not be in the future");
    } else if input.decided_on < pending.sent_on {
        e.add(
            "/decided_on",
            format!(
                "must not be before the appeal was sent ({})",
                pending.sent_on
            ),
        );
    }
    e.finish()?;
    let to = input.outcome.denial_status();
    check(d.status, to).map_err(refused)?;
    let appeal = denial_appeals::decide(c, org, &pending, input.outcome, input.decided_on, actor)?;
    let note = note(c, keyring, org, &d, actor, input.note.as_deref())?;
    let updated = denials::update(c, org, id, d.version, &Change::Status(to))?;
    // Upheld: the claim returns to where it was before the appeal (denied, partially paid).
    // Otherwise the payer's payment moves it.
    let before_appeal = billing::history(c, org, d.claim_id)?
        .into_iter()
        .rev()
        .find(|t| t.to == ClaimStatus::Appealed)
        .map(|t| t.from);
    let claim_status = if let (AppealOutcome::Upheld, Some(back)) = (input.outcome, before_appeal) {
        move_claim(
            c,
            org,
            d.claim_id,
            back,
            actor,
            format!("appeal level {} upheld", appeal.level),
        )?
    } else {
        claims::get(c, org, d.claim_id)?.status
    };
    denials::record_event(
        c,
        org,
        &updated,
        "appeal_decided",
        actor,
        json!({
            "appeal_id": appeal.id, "level": appeal.level, "outcome": input.outcome.as_str(),
            "decided_on": input.decided_on, "note_id": note.as_ref().map(|n| n.id),
            "from": d.status.as_str(), "to": to.as_str(),
        }),
    )?;
    Ok(DenialAppealed {
        denial: updated,
        appeal,
        claim_status,
        note,
    })
}
