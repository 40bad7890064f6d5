//! Creating the denials a posting found, in the posting's transaction: a posting and its
//! denials commit together, and a replayed posting (the same 835 again) creates none.

use serde_json::json;

use crate::access::OrgId;
use crate::billing::denials::appeals::deadline;
use crate::billing::denials::classify;
use crate::error::CoreResult;
use crate::model::denial::Denial;
use crate::model::event::{DenialOpened, EventData, PostedClaimStatus, RemittancePosted};
use crate::store::denials::{self, NewDenial};
use crate::store::posting::PostingResult;
use crate::store::{DbConnection, payers, remittances};

/// Stores one open denial per denial the posting found, each categorized by its CARC, due for
/// appeal by the remittance date plus the payer's window, with a `created` step in its claim's
/// history; then resolves the denials the posting's payments settle. The posting's events
/// (`denial.opened` each, `remittance.posted`) commit with it. Nothing for a replayed posting.
pub fn record_posted(
    c: &mut DbConnection,
    org: OrgId,
    posting: &PostingResult,
) -> CoreResult<Vec<Denial>> {
    if posting.replayed {
        return Ok(Vec::new());
    }
    let actor = format!("remittance:{}", posting.remittance_id);
    let mut out = Vec::with_capacity(posting.found_denials.len());
    if !posting.found_denials.is_empty() {
        let paid_on = remittances::get(c, org, posting.remittance_id)?.payment_date;
        let window = payers::get(c, org, posting.payer_id)?.appeal_limit_days;
        let appeal_deadline = deadline(paid_on, window);
        let first = denials::next_position(c, org, posting.posting_id)?;
        for (k, f) in posting.found_denials.iter().enumerate() {
            let position = first + k;
            let class = classify(&f.carc);
            let d = denials::insert(
                c,
                org,
                &NewDenial {
                    claim_id: f.claim_id,
                    claim_line_id: f.claim_line_id,
                    patient_id: f.patient_id,
                    payer_id: posting.payer_id,
                    remittance_id: posting.remittance_id,
                    posting_id: posting.posting_id,
                    position,
                    procedure_code: f.procedure_code.clone(),
                    group: f.group,
                    carc: f.carc.clone(),
                    rarcs: f.remarks.clone(),
                    amount: f.amount,
                    category: class.category,
                    avoidable: class.avoidable,
                    partial: f.partial,
                    appeal_deadline,
                },
            )?;
            denials::record_event(
                c,
                org,
                &d,
                "created",
                &actor,
                json!({"remittance_id": posting.remittance_id, "posting_id": posting.posting_id}),
            )?;
            crate::store::events::emit(
                c,
                org,
                &EventData::DenialOpened(DenialOpened {
                    denial_id: d.id,
                    claim_id: d.claim_id,
                    claim_line_id: d.claim_line_id,
                    payer_id: d.payer_id,
                    remittance_id: d.remittance_id,
                    group: d.group,
                    carc: d.carc.clone(),
                    amount: d.amount,
                    category: d.category,
                    partial: d.partial,
                }),
            )?;
            out.push(d);
        }
    }
    super::resolution::resolve_paid(c, org, posting)?;
    // Every posting's denials are recorded here, in its transaction: so is its event.
    crate::store::events::emit(
        c,
        org,
        &EventData::RemittancePosted(RemittancePosted {
            remittance_id: posting.remittance_id,
            posting_id: posting.posting_id,
            payer_id: posting.payer_id,
            entries_posted: posting.entries_posted,
            claims: posting
                .claims
                .iter()
                .map(|pc| PostedClaimStatus {
                    claim_id: pc.claim_id,
                    status_before: pc.status_before,
                    status_after: pc.status_after,
                })
                .collect(),
            unmatched_count: posting.unmatched.len(),
            denial_count: out.len(),
            posted_paid: posting.totals.posted_paid,
            unmatched_paid: posting.totals.unmatched_paid,
        }),
    )?;
    Ok(out)
}
