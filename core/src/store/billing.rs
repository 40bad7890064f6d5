//! Claim lifecycle storage: status transitions with their history, the scrubber's inputs, and
//! the charges a claim puts on the ledger.
//!
//! Charges are posted when a claim leaves `draft` for `ready` (the scrubber passed, the claim
//! is billable): a draft is still being coded and owes nothing. They are posted once: a claim
//! that comes back to `ready` after being reopened is charged only if its earlier charges were
//! reversed. Reopening a `ready` claim (back to `draft`, to recode it) or voiding a claim that
//! was never adjudicated reverses its outstanding charges, so balances never carry a charge
//! for lines that no longer exist. A secondary claim (coordination of benefits) posts no
//! charges: its services were charged on the primary claim; nor does a void claim (frequency
//! 8). A replacement claim (frequency 7) is charged in place of its original: the original's
//! outstanding charges are reversed when the replacement's are posted, and restored when they
//! are taken back.

use crate::model::event::{ClaimStatusChanged, EventData};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::Serialize;
use uuid::Uuid;

use super::schema::claim_transitions;
use super::{DbConnection, KeyRing, claims, coverages, ledger, new_id, opt_id, parse_id, payers};
use crate::access::OrgId;
use crate::billing::ledger::{EntryKind, LedgerEntry, charge_entries, reversal_of};
use crate::billing::lifecycle::Transition;
use crate::billing::scrub::{
    self, CoverageFacts, ProviderFacts, ScrubClaim, ScrubFinding, ScrubInput, Severity,
};
use crate::codes::ClaimFrequency;
use crate::error::{CoreError, CoreResult};
use crate::model::claim::{Claim, ClaimStatus};
use crate::model::common::{now, utc};
use crate::validation::FieldError;

/// One recorded status change of a claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TransitionRecord {
    pub id: Uuid,
    pub claim_id: Uuid,
    pub from: ClaimStatus,
    pub to: ClaimStatus,
    pub at: DateTime<Utc>,
    /// The principal's subject, or `remittance:<id>` for a posting.
    pub actor: String,
    pub reason: Option<String>,
    /// The remittance whose posting caused it, if any.
    pub remittance_id: Option<Uuid>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = claim_transitions)]
struct TransitionRow {
    id: String,
    claim_id: String,
    from_status: String,
    to_status: String,
    at: chrono::NaiveDateTime,
    actor: String,
    reason: Option<String>,
    remittance_id: Option<String>,
}

fn status(s: &str) -> CoreResult<ClaimStatus> {
    ClaimStatus::parse(s)
        .ok_or_else(|| CoreError::Internal("stored claim status does not parse".into()))
}

impl TransitionRow {
    fn into_model(self) -> CoreResult<TransitionRecord> {
        Ok(TransitionRecord {
            id: parse_id(&self.id)?,
            claim_id: parse_id(&self.claim_id)?,
            from: status(&self.from_status)?,
            to: status(&self.to_status)?,
            at: utc(self.at),
            actor: self.actor,
            reason: self.reason,
            remittance_id: opt_id(self.remittance_id)?,
        })
    }
}

/// Record a checked transition: the claim's status (compare-and-set on `from`), the history
/// row, and the charge entries it implies. Runs in the caller's transaction.
pub fn record_transition(
    conn: &mut DbConnection,
    org: OrgId,
    claim: &Claim,
    t: &Transition,
    remittance_id: Option<Uuid>,
) -> CoreResult<TransitionRecord> {
    let at = t.at.naive_utc();
    claims::set_status(conn, org, claim.id, t.from, t.to, at)?;
    let id = new_id();
    diesel::insert_into(claim_transitions::table)
        .values((
            claim_transitions::id.eq(id.to_string()),
            claim_transitions::org_id.eq(org.as_str()),
            claim_transitions::claim_id.eq(claim.id.to_string()),
            claim_transitions::from_status.eq(t.from.as_str()),
            claim_transitions::to_status.eq(t.to.as_str()),
            claim_transitions::at.eq(at),
            claim_transitions::actor.eq(t.actor.clone()),
            claim_transitions::reason.eq(t.reason.clone()),
            claim_transitions::remittance_id.eq(remittance_id.map(|r| r.to_string())),
        ))
        .execute(conn)?;
    post_charges_for(conn, org, claim, t.from, t.to, at)?;
    // Every status change passes here, whichever route made it: its event commits with it.
    super::events::emit(
        conn,
        org,
        &EventData::ClaimStatusChanged(ClaimStatusChanged {
            claim_id: claim.id,
            from: t.from,
            to: t.to,
            remittance_id,
        }),
    )?;
    Ok(TransitionRecord {
        id,
        claim_id: claim.id,
        from: t.from,
        to: t.to,
        at: utc(at),
        actor: t.actor.clone(),
        reason: t.reason.clone(),
        remittance_id,
    })
}

/// Charge entries not yet reversed.
fn outstanding_charges(entries: &[LedgerEntry]) -> Vec<&LedgerEntry> {
    entries
        .iter()
        .filter(|e| e.kind == EntryKind::Charge)
        .filter(|e| !entries.iter().any(|r| r.reverses == Some(e.id)))
        .collect()
}

fn post_charges_for(
    conn: &mut DbConnection,
    org: OrgId,
    claim: &Claim,
    from: ClaimStatus,
    to: ClaimStatus,
    at: chrono::NaiveDateTime,
) -> CoreResult<()> {
    let charging = to == ClaimStatus::Ready;
    let uncharging =
        to == ClaimStatus::Voided || (from == ClaimStatus::Ready && to == ClaimStatus::Draft);
    if !charging && !uncharging {
        return Ok(());
    }
    // A secondary claim bills services the primary claim already charged.
    if super::cob::is_secondary(conn, org, claim.id)? {
        return Ok(());
    }
    // A void (frequency 8) bills nothing: it asks the payer to cancel the original.
    if claim.frequency_code == ClaimFrequency::Void {
        return Ok(());
    }
    let entries = ledger::for_claim(conn, org, claim.id)?;
    let open = outstanding_charges(&entries);
    let (charged, uncharged) = (charging && open.is_empty(), uncharging && !open.is_empty());
    if charged {
        ledger::append(conn, org, &charge_entries(claim), at)?;
    } else if uncharged {
        let reversals: Vec<_> = open.into_iter().map(reversal_of).collect();
        ledger::append(conn, org, &reversals, at)?;
    }
    // A replacement (frequency 7) takes the original's place: its charges replace the
    // original's (whose payments the payer reverses when it adjudicates the replacement), and
    // taking them back restores the original's.
    if let (ClaimFrequency::Replacement, Some(original_id), true) = (
        claim.frequency_code,
        claim.original_claim_id,
        charged || uncharged,
    ) {
        let original = claims::get(conn, org, original_id)?;
        let entries = ledger::for_claim(conn, org, original_id)?;
        let open = outstanding_charges(&entries);
        if charged && !open.is_empty() {
            let reversals: Vec<_> = open.into_iter().map(reversal_of).collect();
            ledger::append(conn, org, &reversals, at)?;
        } else if uncharged && open.is_empty() && original.status != ClaimStatus::Voided {
            ledger::append(conn, org, &charge_entries(&original), at)?;
        }
    }
    Ok(())
}

/// Move a claim to `to` on a caller's request. Moving to `ready` runs the scrubber and is
/// refused (422, one error per finding) while it finds errors. A refused edge is a `TransitionRefused` error
/// naming the allowed next statuses. With `expected_version`, a stale version is 412.
#[allow(clippy::too_many_arguments)]
pub fn transition(
    conn: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    claim_id: Uuid,
    to: ClaimStatus,
    actor: &str,
    reason: Option<String>,
    expected_version: Option<i32>,
) -> CoreResult<ClaimTransitioned> {
    let claim = claims::get(conn, org, claim_id)?;
    if let Some(v) = expected_version
        && v != claim.version
    {
        return Err(CoreError::VersionMismatch {
            current: claim.version,
        });
    }
    let t = Transition::new(claim.status, to, utc(now()), actor, reason)
        .map_err(|e| CoreError::refused(&e))?;
    if to == ClaimStatus::Ready {
        // Ready means clean: the scrubber's errors block it, whichever route asks.
        let input = scrub_input(conn, keyring, org, &claim)?;
        let errors: Vec<FieldError> = scrub::scrub(&input, Utc::now().date_naive())
            .into_iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| FieldError::new(f.pointer, f.message))
            .collect();
        if !errors.is_empty() {
            return Err(CoreError::Invalid(errors));
        }
    }
    let record = record_transition(conn, org, &claim, &t, None)?;
    Ok(ClaimTransitioned {
        claim: claims::get(conn, org, claim_id)?,
        transition: record,
    })
}

/// A claim after a transition, with the transition recorded.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClaimTransitioned {
    pub claim: Claim,
    pub transition: TransitionRecord,
}

/// A claim's status history, oldest first.
pub fn history(
    conn: &mut DbConnection,
    org: OrgId,
    claim_id: Uuid,
) -> CoreResult<Vec<TransitionRecord>> {
    claim_transitions::table
        .filter(claim_transitions::org_id.eq(org.as_str()))
        .filter(claim_transitions::claim_id.eq(claim_id.to_string()))
        .order(claim_transitions::id.asc())
        .select(TransitionRow::as_select())
        .load::<TransitionRow>(conn)?
        .into_iter()
        .map(TransitionRow::into_model)
        .collect()
}

/// Every transition of the organization (for reports), oldest first.
pub fn all_transitions(conn: &mut DbConnection, org: OrgId) -> CoreResult<Vec<TransitionRecord>> {
    claim_transitions::table
        .filter(claim_transitions::org_id.eq(org.as_str()))
        .order(claim_transitions::id.asc())
        .select(TransitionRow::as_select())
        .load::<TransitionRow>(conn)?
        .into_iter()
        .map(TransitionRow::into_model)
        .collect()
}

/// The scrubber's findings for a claim, and what they did to it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ScrubResult {
    pub claim_id: Uuid,
    #[serde(skip)]
    pub patient_id: Uuid,
    /// True when no finding is an error.
    pub passed: bool,
    /// The claim's status after the scrub (`ready` when a draft passed).
    pub status: ClaimStatus,
    pub findings: Vec<ScrubFinding>,
    /// The draft -> ready transition, when the scrub made one.
    pub transition: Option<TransitionRecord>,
}

/// Gather what the edits need and run them as of `today`. A draft that passes moves to
/// `ready` (recorded, and its charges posted); any other status is scrubbed and left alone.
pub fn scrub_claim(
    conn: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    claim_id: Uuid,
    today: NaiveDate,
    actor: &str,
) -> CoreResult<ScrubResult> {
    let claim = claims::get(conn, org, claim_id)?;
    let input = scrub_input(conn, keyring, org, &claim)?;
    let findings = scrub::scrub(&input, today);
    let passed = scrub::passes(&findings);
    let mut transition = None;
    let mut status = claim.status;
    if passed && claim.status == ClaimStatus::Draft {
        let t = Transition::new(
            ClaimStatus::Draft,
            ClaimStatus::Ready,
            utc(now()),
            actor,
            Some("scrub passed".into()),
        )
        .map_err(|e| CoreError::refused(&e))?;
        transition = Some(record_transition(conn, org, &claim, &t, None)?);
        status = ClaimStatus::Ready;
    }
    Ok(ScrubResult {
        claim_id,
        patient_id: claim.patient_id,
        passed,
        status,
        findings,
        transition,
    })
}

fn scrub_input(
    conn: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    claim: &Claim,
) -> CoreResult<ScrubInput> {
    let provider = |conn: &mut DbConnection, id: Uuid| -> CoreResult<ProviderFacts> {
        match super::providers::get(conn, org, id) {
            Ok(p) => Ok(ProviderFacts::of(&p)),
            Err(CoreError::NotFound { .. }) => Ok(ProviderFacts::default()),
            Err(e) => Err(e),
        }
    };
    let billing_provider = provider(conn, claim.billing_provider_id)?;
    let rendering_provider = match claim.rendering_provider_id {
        Some(id) => Some(provider(conn, id)?),
        None => None,
    };
    let coverage = match claim.coverage_id {
        Some(id) => match coverages::get(conn, keyring, org, id) {
            Ok(c) => Some(CoverageFacts::of(&c)),
            Err(CoreError::NotFound { .. }) => None,
            Err(e) => return Err(e),
        },
        None => None,
    };
    let timely_filing_days = match claim.payer_id {
        Some(p) => match payers::get(conn, org, p) {
            Ok(p) => u32::try_from(p.timely_filing_days).ok(),
            Err(CoreError::NotFound { .. }) => None,
            Err(e) => return Err(e),
        },
        None => None,
    };
    let others = claims::for_patient(conn, org, claim.patient_id)?;
    let linked = super::cob::linked(conn, org, claim.id)?;
    let other_claims = others
        .iter()
        .filter(|c| c.id != claim.id && !linked.contains(&c.id))
        // A draft has not been billed: it makes no other claim a duplicate (the second claim
        // to leave draft is the one flagged), and a voided or rejected claim is no longer one.
        .filter(|c| {
            !matches!(
                c.status,
                ClaimStatus::Draft | ClaimStatus::Voided | ClaimStatus::Rejected
            )
        })
        .map(|c| ScrubClaim::from_claim(c).duplicate_key())
        .collect();
    let pcn_count: i64 = super::schema::claims::table
        .filter(super::schema::claims::org_id.eq(org.as_str()))
        .filter(super::schema::claims::patient_control_number.eq(&claim.patient_control_number))
        .count()
        .get_result(conn)?;
    Ok(ScrubInput {
        claim: ScrubClaim::from_claim(claim),
        billing_provider,
        rendering_provider,
        coverage,
        timely_filing_days,
        other_claims,
        patient_control_number_unique: pcn_count <= 1,
    })
}

/// Re-check an edge for a planned change (posting): the planner already asked the lifecycle,
/// this builds the record.
pub(crate) fn planned(
    from: ClaimStatus,
    to: ClaimStatus,
    actor: &str,
    reason: &str,
) -> CoreResult<Transition> {
    Transition::new(from, to, utc(now()), actor, Some(reason.to_string()))
        .map_err(|e| CoreError::refused(&e))
}
