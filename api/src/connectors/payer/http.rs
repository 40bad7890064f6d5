//! The HTTP transport: X12 posted to a clearinghouse API.

use actix_web::web;
use revcycle_core::access::Principal;
use revcycle_core::audit::Disclosed;
use revcycle_core::error::{CoreError, CoreResult};
use revcycle_core::model::claim::ClaimStatus;
use revcycle_core::store::x12_exchanges::{self};
use revcycle_core::store::{self, claims};
use revcycle_core::workflows::payer::submission::SubmittedClaim;
use uuid::Uuid;

use super::acknowledgments::apply_acks;
use super::envelope::read_envelope;
use super::inbox::describe;
use super::interchange::{
    Group, SubmittedExchange, allocate_control_number, build_837p, exchange_of, mark_submitted,
};
use super::link::PayerLink;
use super::transport::{Endpoint, Route, is_loopback};
use crate::problem::{ApiError, ApiResult};
use crate::request_audit::context::AuditCtx;
use crate::state::AppState;

/// HTTP: the exchange is recorded as `sending` (its claims reserved) before the POST, then
/// `sent` with the claims moved to `submitted`, or `failed` with the claims left `ready`. A
/// 999 or TA1 in the response body is applied as if it had come through the inbox.
pub(super) async fn send_over_http(
    state: &AppState,
    link: &PayerLink,
    who: &Principal,
    audit: &AuditCtx,
    group: Group,
    endpoint: Endpoint,
) -> ApiResult<(SubmittedExchange, Vec<SubmittedClaim>)> {
    let org = who.org;
    // A missing token is a configuration problem, found before anything is recorded.
    let token = match &endpoint.token {
        Some(source) => Some(source.read().map_err(|reason| {
            tracing::error!(%reason, "the clearinghouse bearer token cannot be read");
            ApiError::Core(CoreError::Unavailable(format!(
                "the clearinghouse token cannot be read: {reason}"
            )))
        })?),
        None => None,
    };
    let control = allocate_control_number(state, group.sender.clone()).await?;
    let (x12, envelopes) = build_837p(state, link, &group, control).await?;
    let icn = format!("{control:09}");
    let mut input = exchange_of(&group, "http", &envelopes);
    input.status = "sending".into();
    let claim_ids = input.claim_ids.clone();

    // 1. Reserve: every claim still ready and in no other transmission.
    let keyring = state.keyring.clone();
    let pool = state.pool.clone();
    let raw = x12.clone();
    let exchange_id = web::block(move || -> CoreResult<Uuid> {
        let mut conn = pool
            .get()
            .map_err(|e| CoreError::Unavailable(format!("database: {e}")))?;
        store::write_transaction(&mut conn, |c| {
            for id in &input.claim_ids {
                claims::lock_for_update(c, org, *id)?;
                let claim = claims::get(c, org, *id)?;
                if claim.status != ClaimStatus::Ready
                    || x12_exchanges::sending_with_claim(c, org, *id)?
                {
                    return Err(CoreError::Conflict(
                        "a claim of this submission was submitted or is being sent meanwhile"
                            .into(),
                    ));
                }
            }
            Ok(x12_exchanges::record(c, &keyring, org, &input, raw.as_bytes())?.id)
        })
    })
    .await
    .map_err(|_| ApiError::Internal)??;

    // 2. Send.
    let sent = post_x12(state, &endpoint, "", x12, token.as_deref()).await;

    // 3. Record the outcome.
    let keyring = state.keyring.clone();
    let pool = state.pool.clone();
    let actor = who.subject.clone();
    let audit2 = audit.clone();
    let icn2 = icn.clone();
    let failure = sent.as_ref().err().cloned();
    let failed = failure.is_some();
    let items = group.items;
    let outcome = web::block(move || -> CoreResult<Vec<SubmittedClaim>> {
        let mut conn = pool
            .get()
            .map_err(|e| CoreError::Unavailable(format!("database: {e}")))?;
        store::write_transaction(&mut conn, |c| match &failure {
            Some(reason) => {
                x12_exchanges::set_status(c, org, exchange_id, "failed", Some(reason))?;
                audit2.with("x12.send", "X12Exchange").append_in_tx(
                    c,
                    502,
                    Some(exchange_id),
                    &Disclosed::default(),
                )?;
                Ok(items
                    .iter()
                    .map(|(claim, _, _)| SubmittedClaim::not_sent(claim, exchange_id, reason))
                    .collect())
            }
            None => {
                x12_exchanges::set_status(c, org, exchange_id, "sent", None)?;
                audit2.with("x12.send", "X12Exchange").append_in_tx(
                    c,
                    201,
                    Some(exchange_id),
                    &Disclosed::default(),
                )?;
                mark_submitted(c, &keyring, org, &audit2, &actor, &items, &icn2, exchange_id)
            }
        })
    })
    .await
    .map_err(|_| ApiError::Internal)?
    .map_err(|e| {
        if !failed {
            // Delivered, but not recorded as submitted: the exchange stays `sending`, which
            // keeps its claims from being sent again until someone looks.
            tracing::error!(interchange = %icn, "an 837P was delivered over HTTP but its claims could not be recorded as submitted");
        }
        ApiError::from(e)
    })?;
    let mut exchange = SubmittedExchange {
        exchange_id,
        payer_id: group.payer_id,
        transport: "http".into(),
        file_name: None,
        interchange_control_number: icn.clone(),
        status: if failed { "failed" } else { "sent" }.into(),
        detail: sent.as_ref().err().cloned(),
        claim_ids,
    };
    // 4. An acknowledgment in the response is applied like one from the inbox.
    let kind = match &sent {
        Ok(body) => read_envelope(state, link, body.clone())
            .await
            .ok()
            .and_then(|e| e.transaction_kind().map(str::to_string))
            .filter(|k| k == "999" || k == "TA1"),
        Err(_) => None,
    };
    if let Ok(body) = sent
        && let Some(kind) = kind
    {
        let name = format!("837P-{icn}-response.{}", kind.to_ascii_lowercase());
        match apply_acks(
            state,
            who,
            audit.with("x12.receive", "X12Exchange"),
            body,
            name,
            &kind,
            "http",
        )
        .await
        {
            Ok(summary) => exchange.detail = Some(summary),
            Err(e) => {
                tracing::warn!(interchange = %icn, reason = %describe(e), "the clearinghouse's acknowledgment in the response could not be applied");
            }
        }
    }
    Ok((exchange, outcome))
}

/// POSTs an X12 body to `endpoint.url` + `path` (`Authorization: Bearer` when there is a
/// token) and returns the answer's body. Plain HTTP only to a loopback address: the body is
/// PHI. An error is a reason without values (HTTP status, timeout, unreachable).
pub(super) async fn post_x12(
    state: &AppState,
    endpoint: &Endpoint,
    path: &str,
    body: String,
    token: Option<&str>,
) -> Result<Vec<u8>, String> {
    let url = reqwest::Url::parse(&format!("{}{path}", endpoint.url))
        .map_err(|_| "the clearinghouse URL is not a URL".to_string())?;
    if url.scheme() != "https" && !is_loopback(&url) {
        return Err("the clearinghouse URL must be https (plain http only on loopback)".into());
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(state.connectors.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .build()
        .map_err(|_| "no HTTP client".to_string())?;
    let mut request = client
        .post(url)
        .header("content-type", "application/EDI-X12")
        .body(body);
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let resp = request.send().await.map_err(|e| {
        tracing::warn!(timeout = e.is_timeout(), "clearinghouse request failed");
        if e.is_timeout() {
            "the clearinghouse did not answer in time".to_string()
        } else {
            "the clearinghouse is unreachable".to_string()
        }
    })?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!(
            "the clearinghouse answered HTTP {}",
            status.as_u16()
        ));
    }
    resp.bytes()
        .await
        .map(|b| b.to_vec())
        .map_err(|_| "the clearinghouse's answer was cut short".to_string())
}

/// Posts an X12 request to the route's clearinghouse API and returns its answer.
pub(super) async fn post_to_clearinghouse(
    state: &AppState,
    route: &Route,
    path: &str,
    body: String,
) -> ApiResult<Vec<u8>> {
    let endpoint = route.clearinghouse.clone().ok_or_else(|| {
        ApiError::Core(CoreError::Unavailable(
            "no clearinghouse_url is configured for this payer".into(),
        ))
    })?;
    let token = match &endpoint.token {
        Some(source) => Some(source.read().map_err(|reason| {
            ApiError::Core(CoreError::Unavailable(format!(
                "the clearinghouse token cannot be read: {reason}"
            )))
        })?),
        None => None,
    };
    post_x12(state, &endpoint, path, body, token.as_deref())
        .await
        .map_err(ApiError::BadGateway)
}
