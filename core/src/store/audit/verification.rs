//! Recomputing an org's chain, from genesis or from the latest purge's anchor.

use super::*;

/// What a verification found, and where it started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainCheck {
    pub verification: Verification,
    /// The latest purge's anchor, which the check started from (genesis when `None`).
    pub anchor: Option<Anchor>,
}

/// Events read per query while verifying.
const PAGE: i64 = 1000;

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
    let (mut seen, mut after) = (0, after);
    'pages: loop {
        let page = list_checked(conn, org, &AuditFilter::default(), after, PAGE)?;
        let last_page = page.len() < PAGE as usize;
        for (sequence, event) in page {
            after = sequence;
            seen += 1;
            if seen % 1000 == 0 {
                progress(seen);
            }
            let intact = match event {
                Ok(e) => v.push(&e),
                Err(_) => v.unreadable(sequence),
            };
            if !intact {
                break 'pages;
            }
        }
        if last_page {
            break;
        }
    }
    Ok(ChainCheck {
        verification: v.finish(),
        anchor,
    })
}
