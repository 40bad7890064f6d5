//! Denials a later 835 settles, in that posting's transaction: a corrected claim made from a
//! denial that the payer now pays in full resolves the denial, and so does a payment in full of
//! an appealed claim (the appeal was overturned: its outcome is recorded). A claim left
//! partially paid settles nothing: the biller decides what the rest is.

use serde_json::json;

use crate::access::OrgId;
use crate::billing::denials::DenialStatus;
use crate::billing::denials::appeals::AppealOutcome;
use crate::error::CoreResult;
use crate::model::claim::ClaimStatus;
use crate::model::denial::Denial;
use crate::store::DbConnection;
use crate::store::denial_appeals;
use crate::store::denials::{self, Change};
use crate::store::posting::PostingResult;

/// Resolves the open denials the posting's payments settle; returns them.
pub fn resolve_paid(
    c: &mut DbConnection,
    org: OrgId,
    posting: &PostingResult,
) -> CoreResult<Vec<Denial>> {
    let actor = format!("remittance:{}", posting.remittance_id);
    let mut out = Vec::new();
    for paid in posting
        .claims
        .iter()
        .filter(|p| p.status_after == ClaimStatus::Paid)
    {
        for d in denials::settled_by(c, org, paid.claim_id)? {
            let appeal = if d.status == DenialStatus::Appealed && d.claim_id == paid.claim_id {
                denial_appeals::pending(c, org, d.id)?
            } else {
                None
            };
            if let Some(a) = &appeal {
                denial_appeals::decide(
                    c,
                    org,
                    a,
                    AppealOutcome::Overturned,
                    posting.posted_at.date_naive(),
                    &actor,
                )?;
            }
            let updated = denials::update(
                c,
                org,
                d.id,
                d.version,
                &Change::Status(DenialStatus::Resolved),
            )?;
            denials::record_event(
                c,
                org,
                &updated,
                "resolved_by_payment",
                &actor,
                json!({
                    "claim_id": paid.claim_id, "remittance_id": posting.remittance_id,
                    "appeal_id": appeal.as_ref().map(|a| a.id),
                    "from": d.status.as_str(), "to": DenialStatus::Resolved.as_str(),
                }),
            )?;
            out.push(updated);
        }
    }
    Ok(out)
}
