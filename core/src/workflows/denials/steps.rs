//! Working a denial: assign it, add a note, set a follow-up date, move its status. Each step
//! runs in the caller's transaction (which holds the request's audit event) and records itself
//! in the claim's history. A closed denial (resolved, written off) takes no more steps but
//! notes. Note text is PHI: stored encrypted, never logged, never in the history.

use chrono::NaiveDate;
use serde_json::json;
use uuid::Uuid;

use crate::access::OrgId;
use crate::billing::denials::DenialStatus;
use crate::billing::denials::status::check;
use crate::error::{CoreError, CoreResult};
use crate::model::denial::{Denial, DenialDetail, DenialNote};
use crate::store::denials::{self, Change};
use crate::store::{DbConnection, KeyRing};
use crate::validation::Errors;

/// Longest assignee (a user's subject).
pub const ASSIGNEE_MAX_CHARS: usize = 200;
/// Longest note.
pub const NOTE_MAX_CHARS: usize = 4000;

/// An assignee is a subject: 1 to [`ASSIGNEE_MAX_CHARS`] characters, no control characters.
pub fn check_assignee(assignee: Option<&str>, e: &mut Errors) {
    let Some(a) = assignee else { return };
    if a.trim().is_empty() {
        e.add("/assignee", "must not be empty (send null to unassign)");
    } else if a.chars().count() > ASSIGNEE_MAX_CHARS {
        e.add(
            "/assignee",
            format!("must be at most {ASSIGNEE_MAX_CHARS} characters"),
        );
    } else if a.chars().any(char::is_control) {
        e.add("/assignee", "must not contain control characters");
    }
}

/// A note is 1 to [`NOTE_MAX_CHARS`] characters of text.
pub fn check_note(text: &str, e: &mut Errors) {
    check_text("/text", text, e);
}

/// A note's rule for a note at `pointer` (a step that takes a note with it).
pub fn check_text(pointer: &str, text: &str, e: &mut Errors) {
    if text.trim().is_empty() {
        e.add(pointer, "must not be empty");
    } else if text.chars().count() > NOTE_MAX_CHARS {
        e.add(
            pointer,
            format!("must be at most {NOTE_MAX_CHARS} characters"),
        );
    }
}

/// The denial at the version the caller read (412 when it changed since), not closed.
pub(crate) fn open_at(
    c: &mut DbConnection,
    org: OrgId,
    id: Uuid,
    expected: Option<i32>,
) -> CoreResult<Denial> {
    let d = denials::get(c, org, id)?;
    if let Some(v) = expected
        && v != d.version
    {
        return Err(CoreError::VersionMismatch { current: d.version });
    }
    if d.status.is_closed() {
        return Err(CoreError::Conflict(format!(
            "the denial is {}: it takes no more steps",
            d.status.as_str()
        )));
    }
    Ok(d)
}

/// Assigns the denial to a user (or nobody).
pub fn assign(
    c: &mut DbConnection,
    org: OrgId,
    id: Uuid,
    expected: Option<i32>,
    actor: &str,
    assignee: Option<String>,
) -> CoreResult<Denial> {
    let mut e = Errors::new();
    check_assignee(assignee.as_deref(), &mut e);
    e.finish()?;
    let d = open_at(c, org, id, expected)?;
    let assignee = assignee.map(|a| a.trim().to_string());
    let d = denials::update(c, org, id, d.version, &Change::Assignee(assignee.clone()))?;
    denials::record_event(
        c,
        org,
        &d,
        "assigned",
        actor,
        json!({ "assignee": assignee }),
    )?;
    Ok(d)
}

/// Sets (or clears) the date to look at the denial again.
pub fn set_follow_up(
    c: &mut DbConnection,
    org: OrgId,
    id: Uuid,
    expected: Option<i32>,
    actor: &str,
    on: Option<NaiveDate>,
) -> CoreResult<Denial> {
    let d = open_at(c, org, id, expected)?;
    let d = denials::update(c, org, id, d.version, &Change::FollowUp(on))?;
    denials::record_event(
        c,
        org,
        &d,
        "follow_up_set",
        actor,
        json!({ "follow_up_on": on }),
    )?;
    Ok(d)
}

/// Moves the denial along open -> in_progress -> appealed -> resolved | written_off; a move
/// outside the table is refused naming the allowed ones.
pub fn change_status(
    c: &mut DbConnection,
    org: OrgId,
    id: Uuid,
    expected: Option<i32>,
    actor: &str,
    to: DenialStatus,
) -> CoreResult<Denial> {
    let d = denials::get(c, org, id)?;
    if let Some(v) = expected
        && v != d.version
    {
        return Err(CoreError::VersionMismatch { current: d.version });
    }
    check(d.status, to).map_err(|e| CoreError::TransitionRefused {
        message: e.to_string(),
        allowed_next: e.allowed.iter().map(|s| s.as_str()).collect(),
    })?;
    let from = d.status;
    let d = denials::update(c, org, id, d.version, &Change::Status(to))?;
    denials::record_event(
        c,
        org,
        &d,
        "status_changed",
        actor,
        json!({"from": from.as_str(), "to": to.as_str()}),
    )?;
    Ok(d)
}

/// Adds a note (encrypted); the history records that a note was added, not what it says.
pub fn add_note(
    c: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    id: Uuid,
    actor: &str,
    text: &str,
) -> CoreResult<DenialNote> {
    let mut e = Errors::new();
    check_note(text, &mut e);
    e.finish()?;
    let d = denials::get(c, org, id)?;
    let mut note = denials::add_note(c, keyring, org, id, actor, text)?;
    note.patient_id = d.patient_id;
    denials::record_event(c, org, &d, "noted", actor, json!({ "note_id": note.id }))?;
    Ok(note)
}

/// A denial with its notes (decrypted) and its history.
pub fn detail(
    c: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    id: Uuid,
) -> CoreResult<DenialDetail> {
    let denial = denials::get(c, org, id)?;
    let mut notes = denials::notes(c, keyring, org, id)?;
    for n in &mut notes {
        n.patient_id = denial.patient_id;
    }
    Ok(DenialDetail {
        notes,
        appeals: crate::store::denial_appeals::of_denial(c, org, id)?,
        history: denials::events(c, org, denials::StepsOf::Denial(id))?,
        denial,
    })
}
