//! Posting a stored remittance to the ledger at a caller's request, with the denials it found.

use uuid::Uuid;

use crate::access::OrgId;
use crate::error::{CoreError, CoreResult};
use crate::store::posting::{self, PostingResult};
use crate::store::{self, DbConnection, remittances};

/// Posts the remittance in one transaction, in which `seal` then runs on the result (the
/// caller's audit event). Posting is idempotent by payer and trace number: should a
/// concurrent posting of the same trace number commit first (a conflict), the answer is that
/// posting's result, read and sealed in a second transaction, as a repeated request gets it.
pub fn post(
    conn: &mut DbConnection,
    org: OrgId,
    remittance_id: Uuid,
    actor: &str,
    mut seal: impl FnMut(&mut DbConnection, &mut PostingResult) -> CoreResult<()>,
) -> CoreResult<PostingResult> {
    let first = store::write_transaction(conn, |c| {
        let mut result = posting::post_remittance(c, org, remittance_id, actor)?;
        // The posting's denials commit with it (none when it was posted before).
        super::denials::record_posted(c, org, &result)?;
        seal(c, &mut result)?;
        Ok(result)
    });
    match first {
        Err(CoreError::Conflict(_)) => store::write_transaction(conn, |c| {
            let rem = remittances::get(c, org, remittance_id)?;
            let mut result = posting::stored_result(c, org, rem.payer_id, &rem.trace_number)?
                .ok_or_else(|| {
                    CoreError::Conflict("the remittance could not be posted; retry".into())
                })?;
            seal(c, &mut result)?;
            Ok(result)
        }),
        other => other,
    }
}
