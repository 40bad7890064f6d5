//! Moving a claim along its lifecycle at a caller's request: which permission each target
//! status needs, what the caller may say about it, and the transition itself.

use uuid::Uuid;

use crate::access::{Action, OrgId};
use crate::error::CoreResult;
use crate::model::claim::ClaimStatus;
use crate::store::DbConnection;
use crate::store::KeyRing;
use crate::store::billing::{self, ClaimTransitioned};
use crate::validation::Errors;

/// Longest reason (in characters) kept in a claim's history with a transition.
pub const REASON_MAX_CHARS: usize = 200;

/// What moving a claim to `to` needs beyond updating claims: sending it to the payer and
/// voiding it are permissions of their own.
pub fn permission_for(to: ClaimStatus) -> Option<Action> {
    match to {
        ClaimStatus::Submitted => Some(Action::Submit),
        ClaimStatus::Voided => Some(Action::Void),
        _ => None,
    }
}

/// Adds to `e` what is wrong with a transition's reason (at `/reason`).
pub fn check_reason(reason: Option<&str>, e: &mut Errors) {
    e.check(
        reason.is_none_or(|r| r.chars().count() <= REASON_MAX_CHARS),
        "/reason",
        format!("must be at most {REASON_MAX_CHARS} characters"),
    );
}

/// Moves the claim to `to` (the lifecycle decides whether it may), recorded in its history
/// with `actor` and `reason`; with `expected_version`, only from that version of the claim.
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
    let mut e = Errors::new();
    check_reason(reason.as_deref(), &mut e);
    e.finish()?;
    billing::transition(
        conn,
        keyring,
        org,
        claim_id,
        to,
        actor,
        reason,
        expected_version,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submitting_and_voiding_need_their_own_permission() {
        assert_eq!(permission_for(ClaimStatus::Submitted), Some(Action::Submit));
        assert_eq!(permission_for(ClaimStatus::Voided), Some(Action::Void));
        assert_eq!(permission_for(ClaimStatus::Ready), None);
        assert_eq!(permission_for(ClaimStatus::Draft), None);
    }

    #[test]
    fn a_reason_is_at_most_200_characters() {
        let check = |r: Option<&str>| {
            let mut e = Errors::new();
            check_reason(r, &mut e);
            e.finish().is_ok()
        };
        assert!(check(None));
        // Characters, not bytes: 200 two-byte characters pass.
        assert!(check(Some(&"é".repeat(REASON_MAX_CHARS))));
        assert!(!check(Some(&"a".repeat(REASON_MAX_CHARS + 1))));
    }
}
