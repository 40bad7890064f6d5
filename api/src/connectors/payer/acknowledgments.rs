//! 999/TA1 and 277CA acknowledgments: the plugin reads the file, core's use case
//! (`workflows::payer::acknowledgments`) applies it to the claims it answers.

use actix_web::web;
use revcycle_connector_abi::canonical::v1 as canonical;
use revcycle_core::access::Principal;
use revcycle_core::audit::Disclosed;
use revcycle_core::error::{CoreError, CoreResult};
use revcycle_core::store::{DbConnection, KeyRing};
use revcycle_core::workflows::payer::AuditTrail;
use revcycle_core::workflows::payer::ReceivedFile;
use revcycle_core::workflows::payer::acknowledgments::{
    self as workflow, ClaimVerdict, GroupVerdict, InterchangeVerdict, TransactionSetVerdict,
};
use uuid::Uuid;

use super::link::{call_as, payer_link};
use crate::problem::{ApiError, ApiResult};
use crate::request_audit::context::AuditCtx;
use crate::state::AppState;

/// The request's audit context as the use cases write it.
impl AuditTrail for AuditCtx {
    fn append(
        &self,
        conn: &mut DbConnection,
        status: u16,
        resource_id: Option<Uuid>,
        disclosed: &Disclosed,
    ) -> CoreResult<()> {
        self.append_in_tx(conn, status, resource_id, disclosed)
    }

    fn append_other(
        &self,
        conn: &mut DbConnection,
        action: &'static str,
        resource_type: &'static str,
        status: u16,
        resource_id: Option<Uuid>,
        disclosed: &Disclosed,
    ) -> CoreResult<()> {
        self.with(action, resource_type)
            .append_in_tx(conn, status, resource_id, disclosed)
    }
}

fn group_verdict(a: &canonical::FunctionalGroupAck) -> GroupVerdict {
    GroupVerdict {
        functional_id: a.functional_id.clone(),
        group_control_number: a.group_control_number.clone(),
        accepted: a.accepted,
        transactions: a
            .transactions
            .iter()
            .map(|t| TransactionSetVerdict {
                transaction_id: t.transaction_id.clone(),
                control_number: t.control_number.clone(),
                accepted: t.accepted,
            })
            .collect(),
    }
}

/// A 277CA's answer about a claim: named by REF*EJ (patient account number) or by the 2200D
/// TRN02 that echoes CLM01. Statuses at the payer, information receiver and provider levels
/// name no claim; an answer without a status says nothing.
fn claim_verdict(r: &canonical::ClaimStatusResponse) -> Option<ClaimVerdict> {
    if !r.is_claim() {
        return None;
    }
    let category = r.statuses.first()?.category_code.clone();
    Some(ClaimVerdict {
        patient_control_number: if r.claim_control_number.trim().is_empty() {
            r.trace_number.clone().unwrap_or_default()
        } else {
            r.claim_control_number.clone()
        },
        category,
        batch_reference: r.batch_reference.clone(),
    })
}

/// Runs a use case on a pooled connection off the async runtime.
async fn run<T, F>(state: &AppState, f: F) -> ApiResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection, &KeyRing) -> CoreResult<T> + Send + 'static,
{
    let keyring = state.keyring.clone();
    let pool = state.pool.clone();
    let out = web::block(move || -> CoreResult<T> {
        let mut conn = pool
            .get()
            .map_err(|e| CoreError::Unavailable(format!("database: {e}")))?;
        f(&mut conn, &keyring)
    })
    .await
    .map_err(|_| ApiError::Internal)??;
    Ok(out)
}

/// 999/TA1: the plugin reads the file; see [`workflow::apply_999`]. Returns what it said.
pub(super) async fn apply_acks(
    state: &AppState,
    who: &Principal,
    audit: AuditCtx,
    raw: Vec<u8>,
    name: String,
    kind: &str,
    transport: &'static str,
) -> ApiResult<String> {
    let link = payer_link(state)?;
    let acks: canonical::Acknowledgments = call_as(state, &link, "parse_ack", raw.clone()).await?;
    let (icn, gcn) = canonical::Envelopes {
        interchanges: acks.interchanges.clone(),
    }
    .control_numbers();
    let file = ReceivedFile {
        raw,
        name: Some(name),
        kind: kind.to_string(),
        transport,
        interchange_control_number: icn,
        group_control_number: gcn,
    };
    let groups: Vec<GroupVerdict> = acks.ack999.iter().map(group_verdict).collect();
    let interchanges: Vec<InterchangeVerdict> = acks
        .ta1
        .iter()
        .map(|t| InterchangeVerdict {
            control_number: t.control_number.clone(),
            accepted: t.accepted,
        })
        .collect();
    let org = who.org;
    let actor = who.subject.clone();
    run(state, move |c, keyring| {
        workflow::apply_999(
            c,
            keyring,
            org,
            &audit,
            &actor,
            &file,
            &groups,
            &interchanges,
        )
    })
    .await
}

/// 277CA: the plugin reads the file; see [`workflow::apply_277ca`].
pub(super) async fn apply_277(
    state: &AppState,
    who: &Principal,
    audit: AuditCtx,
    raw: Vec<u8>,
    name: String,
) -> ApiResult<()> {
    let link = payer_link(state)?;
    let input = canonical::ClaimStatusInput {
        x12: Some(String::from_utf8_lossy(&raw).into_owned()),
        ..Default::default()
    };
    let out: canonical::ClaimStatusAnswers = call_as(
        state,
        &link,
        "claim_status",
        serde_json::to_vec(&input).map_err(|_| ApiError::Internal)?,
    )
    .await?;
    let (icn, gcn) = out.envelopes.control_numbers();
    let answers: Vec<ClaimVerdict> = out.responses.iter().filter_map(claim_verdict).collect();
    let file = ReceivedFile {
        raw,
        name: Some(name),
        kind: "277CA".into(),
        transport: "inbox",
        interchange_control_number: icn,
        group_control_number: gcn,
    };
    let org = who.org;
    let actor = who.subject.clone();
    run(state, move |c, keyring| {
        workflow::apply_277ca(c, keyring, org, &audit, &actor, &file, &answers)
    })
    .await?;
    Ok(())
}
