//! 835 import through the payer connector: the plugin reads the file, each remittance is
//! mapped to the store's input with the payer ids found, and core's remittance import stores
//! and posts them (see [`revcycle_core::workflows::payer::remittances`]).

use actix_web::web;
use revcycle_connector_abi::canonical::v1 as canonical;
use revcycle_core::access::{OrgId, Principal};
use revcycle_core::error::{CoreError, CoreResult};
use revcycle_core::model::payer::{FoundPayerId, PayerIdQualifier};
use revcycle_core::model::remittance::RemittanceInput;
use revcycle_core::store;
use revcycle_core::workflows::payer::ReceivedFile;
use revcycle_core::workflows::payer::remittances::{self as workflow, ReadRemittance};
pub use revcycle_core::workflows::payer::remittances::{
    ImportedRemittance, RemittanceImport, Resolved,
};
use serde::Deserialize;
use uuid::Uuid;

use super::link::{call_as, payer_link};
use super::remit_mapping::remittance_input;
use crate::problem::{ApiError, ApiResult};
use crate::request_audit::context::AuditCtx;
use crate::state::AppState;

/// The ids a parsed remittance gives its payer by, in the core's vocabulary. A plugin that
/// reports none (an older one) still gives the payer id it read (N1*PR N104 or REF*2U).
fn found_ids(r: &canonical::Remittance) -> Vec<FoundPayerId> {
    let mut found: Vec<FoundPayerId> = r
        .payer_identifiers
        .iter()
        .filter_map(|p| {
            let value = p.value.trim();
            let qualifier = PayerIdQualifier::parse(&p.qualifier)?;
            (!value.is_empty() && value.len() <= 80).then(|| FoundPayerId {
                qualifier,
                value: value.to_string(),
                source: p.source.chars().take(40).collect(),
            })
        })
        .collect();
    if found.is_empty()
        && let Some(id) = r.payer.payer_id.as_deref().map(str::trim)
        && !id.is_empty()
    {
        found.push(FoundPayerId {
            qualifier: PayerIdQualifier::PayerId,
            value: id.to_string(),
            source: "payer id".into(),
        });
    }
    found
}

/// A canonical remittance as the store's input for `payer` (the nil id while it is not
/// known); the error gives the place only, never the value.
fn input_of(r: &canonical::Remittance, payer: Uuid, index: usize) -> CoreResult<RemittanceInput> {
    remittance_input(r, payer, chrono::Utc::now().date_naive()).map_err(|_| {
        CoreError::invalid(
            format!("/remittances/{index}"),
            "the remittance cannot be stored: an amount, code or date is out of range",
        )
    })
}

/// Parses an 835 through the payer connector and, in one transaction, stores the file
/// (encrypted) and every remittance in it, posting them when `post`: a file with several
/// remittances (several ST/SE, several payers' TRNs) is stored and posted all or nothing. A
/// remittance whose payer and trace number are already stored (and posted) is a duplicate
/// and writes nothing; a file of nothing but duplicates is recorded as `duplicate`. A
/// remittance whose payer is not known is queued with the ids found (see the module).
/// A malformed file is a 422 naming the segment and stores nothing.
#[allow(clippy::too_many_arguments)]
pub async fn import_835(
    state: &AppState,
    org: OrgId,
    actor: String,
    audit: AuditCtx,
    raw: Vec<u8>,
    file_name: Option<String>,
    post: bool,
    transport: &'static str,
) -> ApiResult<RemittanceImport> {
    let link = payer_link(state)?;
    let out: canonical::ParsedRemittances =
        call_as(state, &link, "parse_remittance", raw.clone()).await?;
    let (icn, gcn) = out.envelopes.control_numbers();
    let read = out
        .remittances
        .iter()
        .enumerate()
        .map(|(i, r)| {
            Ok(ReadRemittance {
                input: input_of(r, Uuid::nil(), i)?,
                found: found_ids(r),
                payer_name: r.payer.name.clone(),
            })
        })
        .collect::<CoreResult<Vec<_>>>()?;
    let file = ReceivedFile {
        raw,
        name: file_name,
        kind: "835".into(),
        transport,
        interchange_control_number: icn,
        group_control_number: gcn,
    };
    let keyring = state.keyring.clone();
    let pool = state.pool.clone();
    let result = web::block(move || -> CoreResult<RemittanceImport> {
        let mut conn = pool
            .get()
            .map_err(|e| CoreError::Unavailable(format!("database: {e}")))?;
        let attempt = |conn: &mut store::DbConnection| {
            store::write_transaction(conn, |c| {
                workflow::import(c, &keyring, org, &audit, &actor, &file, &read, post)
            })
        };
        // Two imports of one file at once race on the unique trace number; the loser tries
        // again and finds the winner's remittances (a duplicate).
        match attempt(&mut conn) {
            Err(CoreError::Conflict(_)) => attempt(&mut conn),
            other => other,
        }
    })
    .await
    .map_err(|_| ApiError::Internal)??;
    Ok(result)
}

// ---------------------------------------------------------------------------------------------
// Resolving the work queue

/// `POST /v1/work-queues/unidentified-remittances/{id}/resolve`: the payer the remittance is
/// from.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"payer_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a02", "remember_identifiers": true}))]
pub struct ResolveInput {
    pub payer_id: Uuid,
    /// Also add the ids the remittance gave (TRN03, N1*PR, REF) to the payer's identifiers,
    /// so its next files are identified at once (409 when another payer has one of them).
    #[serde(default)]
    pub remember_identifiers: bool,
}

/// The body's shape is all there is to check: the payer is looked up when resolving.
impl revcycle_core::validation::Rules for ResolveInput {
    fn check(&self, _: &mut revcycle_core::validation::Errors) {}
}

/// Resolves one queued remittance (see [`workflow::resolve`]) in its own transaction.
pub async fn resolve_unidentified(
    state: &AppState,
    who: &Principal,
    audit: AuditCtx,
    id: Uuid,
    input: ResolveInput,
) -> ApiResult<Resolved> {
    let org = who.org;
    let actor = who.subject.clone();
    let pool = state.pool.clone();
    let result = web::block(move || -> CoreResult<Resolved> {
        let mut conn = pool
            .get()
            .map_err(|e| CoreError::Unavailable(format!("database: {e}")))?;
        store::write_transaction(&mut conn, |c| {
            workflow::resolve(
                c,
                org,
                &audit,
                &actor,
                id,
                input.payer_id,
                input.remember_identifiers,
            )
        })
    })
    .await
    .map_err(|_| ApiError::Internal)??;
    Ok(result)
}

/// After a payer's identifiers changed: every open item that its ids now name as this payer
/// alone is resolved to it, in the caller's transaction (see [`workflow::resolve_named`]).
pub fn resolve_named(
    c: &mut store::DbConnection,
    org: OrgId,
    audit: &AuditCtx,
    actor: &str,
    payer: Uuid,
) -> CoreResult<Vec<Resolved>> {
    workflow::resolve_named(
        c,
        org,
        &audit.with("resolve", "UnidentifiedRemittance"),
        actor,
        payer,
    )
}
