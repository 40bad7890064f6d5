//! Verifying an org's audit trail as a whole: the hash chain from genesis (or the latest
//! purge's anchor), the Merkle tree against a signed checkpoint published outside the
//! database, and the patient index against the events. `revcycle audit verify` and `GET
//! /v1/audit-events/verify` both report this.

use uuid::Uuid;

use super::DbConnection;
use super::audit::{ChainCheck, verify_chain};
use super::audit_links::{self, LinkCheck};
use super::audit_tree::{TreeCheck, check_against};
use crate::audit::Verification;
use crate::audit::checkpoint::Checkpoint;
use crate::error::CoreResult;

/// What a verification of an org's trail found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailCheck {
    pub chain: ChainCheck,
    /// The trail against the checkpoint given (`None`: none was).
    pub checkpoint: Option<TreeCheck>,
    pub patient_index: LinkCheck,
}

impl TrailCheck {
    /// Nothing altered, removed or unlinked.
    pub fn is_intact(&self) -> bool {
        matches!(self.chain.verification, Verification::Intact { .. })
            && matches!(self.checkpoint, None | Some(TreeCheck::Matches { .. }))
            && self.patient_index.is_intact()
    }
}

/// Verifies `org`'s trail: the chain (`progress` hears the events checked), the tree against
/// `checkpoint` (whose signature and origin the caller has checked), and the patient index.
pub fn verify_trail(
    conn: &mut DbConnection,
    org: Uuid,
    checkpoint: Option<&Checkpoint>,
    progress: impl FnMut(u64),
) -> CoreResult<TrailCheck> {
    let chain = verify_chain(conn, org, progress)?;
    let checkpoint = match checkpoint {
        Some(cp) => Some(check_against(conn, org, cp.size, &cp.root)?),
        None => None,
    };
    let patient_index = audit_links::check(conn, org)?;
    Ok(TrailCheck {
        chain,
        checkpoint,
        patient_index,
    })
}
