//! Recomputing an org's chain, from genesis or from the latest purge's anchor.

use super::*;

/// What a verification found, and where it started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainCheck {
    pub verification: Verification,
    /// The latest purge's anchor, which the check started from (genesis when `None`).
    pub anchor: Option<Anchor>,
}

/// Recomputes an org's whole chain, a batch at a time, from genesis or from the latest purge's
/// anchor: the first remaining event must then follow the anchor and link to its hash.
/// `progress` hears the count checked.
pub fn verify_chain(
    conn: &mut DbConnection,
    org: Uuid,
    mut progress: impl FnMut(u64),
) -> CoreResult<ChainCheck> {
    let anchor = latest_anchor(conn, org)?;
    let (mut v, after) = match &anchor {
        Some(a) => (ChainVerifier::after(org, a.sequence, a.hash), a.sequence),
        None => (ChainVerifier::new(org), 0),
    };
    let mut seen = 0;
    for_each_after(conn, org, &AuditFilter::default(), after, 1000, |e| {
        seen += 1;
        if seen % 1000 == 0 {
            progress(seen);
        }
        Ok(v.push(&e))
    })?;
    Ok(ChainCheck {
        verification: v.finish(),
        anchor,
    })
}
