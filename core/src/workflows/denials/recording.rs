//! Creating the denials a posting found, in the posting's transaction: a posting and its
//! denials commit together, and a replayed posting (the same 835 again) creates none.

use serde_json::json;

use crate::access::OrgId;
use crate::billing::denials::classify;
use crate::error::CoreResult;
use crate::model::denial::Denial;
use crate::store::DbConnection;
use crate::store::denials::{self, NewDenial};
use crate::store::posting::PostingResult;

/// Stores one open denial per denial the posting found, each categorized by its CARC and with
/// a `created` step in its claim's history. Nothing for a replayed posting.
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
    for (position, f) in posting.found_denials.iter().enumerate() {
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
        out.push(d);
    }
    Ok(out)
}
