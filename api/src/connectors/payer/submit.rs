//! Claim submission: scrub the claims, group them by payer, build each payer's 837P with the
//! plugin and send it over that payer's transport.

use actix_web::web;
use revcycle_core::access::{Mask, Principal, View};
use revcycle_core::audit::{Disclosed, Discloses};
use revcycle_core::error::{CoreError, CoreResult};
use revcycle_core::workflows::payer::submission::{self, Selection};
pub use revcycle_core::workflows::payer::submission::{Finding, SubmittedClaim};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::claim_mapping::claim_submission;
use super::http::send_over_http;
pub use super::interchange::SubmittedExchange;
use super::interchange::{Group, ReadyClaim};
use super::link::payer_link;
use super::outbox::send_to_outbox;
use super::transport::Submission;
use crate::problem::{ApiError, ApiResult};
use crate::request_audit::context::AuditCtx;
use crate::state::AppState;

/// `POST /v1/claims/submit`: claim ids, or every `ready` claim of a payer.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"claim_ids": ["0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a07"]}))]
pub struct SubmitInput {
    pub claim_ids: Option<Vec<Uuid>>,
    pub payer_id: Option<Uuid>,
}

impl revcycle_core::validation::Rules for SubmitInput {
    fn check(&self, e: &mut revcycle_core::validation::Errors) {
        match &self.claim_ids {
            Some(_) if self.payer_id.is_some() => e.add("", "give either claim_ids or payer_id"),
            None if self.payer_id.is_none() => e.add("", "give either claim_ids or payer_id"),
            Some(ids) => e.check(
                (1..=submission::MAX_CLAIMS).contains(&ids.len()),
                "/claim_ids",
                format!(
                    "between 1 and {} claims per submission",
                    submission::MAX_CLAIMS
                ),
            ),
            None => {}
        }
    }
}

/// What a submission did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"exchange_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a09", "file_name": "837P-000000001-0193a0c47d2e7cc09c555b1f3e1f0a09.x12",
    "interchange_control_number": "000000001",
    "exchanges": [{"exchange_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a09",
        "payer_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a02", "transport": "outbox",
        "file_name": "837P-000000001-0193a0c47d2e7cc09c555b1f3e1f0a09.x12",
        "interchange_control_number": "000000001", "status": "sent", "detail": null,
        "claim_ids": ["0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a07"]}],
    "claims": [{"claim_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a07", "status": "submitted",
        "patient_control_number": "C01JD4Q8W3M5XK2P9RTA", "findings": [],
        "exchange_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a09"}]}))]
pub struct SubmitResult {
    /// The first exchange that was sent (with one payer, the only one); absent when nothing
    /// was sent.
    pub exchange_id: Option<Uuid>,
    pub file_name: Option<String>,
    pub interchange_control_number: Option<String>,
    /// One interchange per payer, in the order of the claims.
    pub exchanges: Vec<SubmittedExchange>,
    pub claims: Vec<SubmittedClaim>,
}

impl Mask for SubmitResult {
    fn mask(&mut self, _: &View) {}
}

impl Discloses for SubmitResult {
    fn disclose(&self, d: &mut Disclosed) {
        for c in &self.claims {
            if let Some(p) = c.patient_id {
                d.patient_ids.insert(p);
            }
        }
        if !self.exchanges.is_empty() {
            d.fields.insert("claim_837p");
        }
    }
}

/// Submits claims: scrub each (errors refuse it), group the rest by payer, and send each
/// payer's 837P the way that payer is configured (outbox file or HTTP POST), recording the
/// exchange and moving its claims to `submitted`. When every payer's transmission failed, the
/// answer is 502 (the claims stay `ready`); otherwise the failed payers' claims are `not_sent`.
pub async fn submit_claims(
    state: &AppState,
    who: &Principal,
    audit: AuditCtx,
    input: SubmitInput,
) -> ApiResult<SubmitResult> {
    let link = payer_link(state)?;
    if !link.transport.can_submit() {
        return Err(ApiError::Core(CoreError::Unavailable(
            "the payer connector has no outbox or submit_url configured (config in \
             connectors.toml)"
                .into(),
        )));
    }
    let mut e = revcycle_core::validation::Errors::new();
    revcycle_core::validation::Rules::check(&input, &mut e);
    e.finish()?;
    let org = who.org;
    let actor = who.subject.clone();
    let keyring = state.keyring.clone();
    let pool = state.pool.clone();
    let today = chrono::Utc::now().date_naive();
    let selection = match (input.claim_ids, input.payer_id) {
        (Some(ids), _) => Selection::Claims(ids),
        (None, Some(payer)) => Selection::ReadyOfPayer(payer),
        (None, None) => Selection::Claims(Vec::new()),
    };
    // 1. Screen (scrub) and map, reading only.
    let (mut results, ready) = web::block(move || -> CoreResult<_> {
        let mut conn = pool
            .get()
            .map_err(|e| CoreError::Unavailable(format!("database: {e}")))?;
        let conn = &mut conn;
        let (mut results, cleared) =
            submission::screen(conn, &keyring, org, &selection, today, &actor)?;
        let mut ready: Vec<ReadyClaim> = Vec::new();
        for claim in cleared {
            match claim_submission(conn, &keyring, org, &claim) {
                Ok((s, patient)) => ready.push((claim, s, patient)),
                Err(CoreError::Invalid(errs)) => {
                    let findings = errs
                        .iter()
                        .map(|e| Finding::at("submission.data", &e.pointer, &e.message))
                        .collect();
                    results.push(SubmittedClaim::refused(&claim, findings));
                }
                Err(e) => return Err(e),
            }
        }
        Ok((results, ready))
    })
    .await
    .map_err(|_| ApiError::Internal)??;

    // 2. One interchange per payer, each over that payer's transport.
    let mut groups: Vec<(Uuid, Option<String>, Vec<ReadyClaim>)> = Vec::new();
    for item in ready {
        let Some(payer_id) = item.0.payer_id else {
            continue; // claim_submission refused it already
        };
        match groups.iter_mut().find(|g| g.0 == payer_id) {
            Some(g) => g.2.push(item),
            None => groups.push((payer_id, item.1.payer.payer_id.clone(), vec![item])),
        }
    }
    let mut exchanges = Vec::new();
    for (payer_id, payer_code, items) in groups {
        let route = link.transport.route(payer_id, payer_code.as_deref());
        let Some(submission) = route.submission.clone() else {
            for (claim, _, _) in items {
                results.push(SubmittedClaim::refused(
                    &claim,
                    vec![Finding::error(
                        "submission.transport",
                        "no outbox or submit_url is configured for this claim's payer",
                    )],
                ));
            }
            continue;
        };
        let group = Group {
            payer_id,
            sender: link.transport.sender_of(&route),
            route,
            items,
        };
        let (exchange, claims) = match submission {
            Submission::Outbox(dir) => {
                send_to_outbox(state, &link, who, &audit, group, dir).await?
            }
            Submission::Http(endpoint) => {
                send_over_http(state, &link, who, &audit, group, endpoint).await?
            }
        };
        results.extend(claims);
        exchanges.push(exchange);
    }
    if !exchanges.is_empty() && exchanges.iter().all(|e| e.status == "failed") {
        let why: Vec<String> = exchanges.iter().filter_map(|e| e.detail.clone()).collect();
        return Err(ApiError::BadGateway(format!(
            "the 837P could not be delivered ({}); the claims stay ready and nothing was \
             submitted",
            why.join("; ")
        )));
    }
    let first = exchanges.iter().find(|e| e.status == "sent");
    Ok(SubmitResult {
        exchange_id: first.map(|e| e.exchange_id),
        file_name: first.and_then(|e| e.file_name.clone()),
        interchange_control_number: first.map(|e| e.interchange_control_number.clone()),
        claims: results,
        exchanges,
    })
}
