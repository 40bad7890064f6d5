//! Running store calls off the async runtime, and the create/update response conventions
//! (201 + Location + ETag, Idempotency-Key replay) shared by every resource.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use revcycle_core::access::{Mask, Principal, View};
use revcycle_core::audit::{Disclosed, Discloses};
use revcycle_core::error::{CoreError, CoreResult};
use revcycle_core::store::idempotency::{self, StoredResponse};
use revcycle_core::store::{self, DbConnection};
use serde::Serialize;

use crate::extract::etag;
use crate::problem::{ApiError, ApiResult};
use crate::request_audit::context::{AuditCtx, AuditedInTx};
use crate::state::AppState;

/// Run a read on actix's blocking pool with a pooled connection, abandoned with 503 after the
/// configured read timeout.
pub async fn run<T, F>(state: &AppState, f: F) -> ApiResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> CoreResult<T> + Send + 'static,
{
    crate::limits::read_within(state.read_timeout, blocking(state, f)).await
}

/// Run a long read (a whole-chain verification) to completion: no read timeout, and no write
/// transaction (on SQLite that would hold the write lock, and every writer, for its duration).
pub async fn run_long<T, F>(state: &AppState, f: F) -> ApiResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> CoreResult<T> + Send + 'static,
{
    blocking(state, f).await
}

/// Run blocking database work with a pooled connection, to completion.
async fn blocking<T, F>(state: &AppState, f: F) -> ApiResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> CoreResult<T> + Send + 'static,
{
    let pool = state.pool.clone();
    web::block(move || {
        let mut conn = pool
            .get()
            .map_err(|e| CoreError::Unavailable(format!("database: {e}")))?;
        f(&mut conn)
    })
    .await
    .map_err(|_| ApiError::Internal)?
    .map_err(ApiError::from)
}

/// Run blocking work in one write transaction.
pub async fn run_tx<T, F>(state: &AppState, f: F) -> ApiResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> CoreResult<T> + Send + 'static,
{
    blocking(state, move |conn| store::write_transaction(conn, f)).await
}

/// Update a resource in one transaction with its audit event; 200 with the record, masked.
pub async fn update<R, F>(
    state: &AppState,
    who: &Principal,
    audit: AuditCtx,
    f: F,
) -> ApiResult<HttpResponse>
where
    R: Versioned + Mask + Discloses + Send + 'static,
    F: FnOnce(&mut DbConnection) -> CoreResult<R> + Send + 'static,
{
    let view = View::for_principal(who);
    let resource = run_tx(state, move |conn| {
        let mut r = f(conn)?;
        r.mask(&view);
        audit.append_in_tx(conn, 200, Some(r.id()), &Disclosed::of(&r))?;
        Ok(r)
    })
    .await?;
    let mut resp = HttpResponse::Ok()
        .insert_header((header::ETAG, etag(resource.version())))
        .json(&resource);
    resp.extensions_mut().insert(AuditedInTx);
    Ok(resp)
}

/// A write that is not a create or an update of one versioned record (a transition, a
/// posting, a payment): one transaction with its audit event; 200 with the body, masked.
pub async fn write<T, F>(
    state: &AppState,
    who: &Principal,
    audit: AuditCtx,
    resource_id: Option<uuid::Uuid>,
    f: F,
) -> ApiResult<HttpResponse>
where
    T: Serialize + Mask + Discloses + Send + 'static,
    F: FnOnce(&mut DbConnection) -> CoreResult<T> + Send + 'static,
{
    let view = View::for_principal(who);
    let body = run_tx(state, move |conn| {
        let mut body = f(conn)?;
        body.mask(&view);
        audit.append_in_tx(conn, 200, resource_id, &Disclosed::of(&body))?;
        Ok(body)
    })
    .await?;
    let mut resp = HttpResponse::Ok().json(&body);
    resp.extensions_mut().insert(AuditedInTx);
    Ok(resp)
}

/// [`write`] for a use case that runs its own transactions: it is handed `seal`, which masks
/// its answer for the caller and writes the request's audit event, to run inside the
/// transaction whose answer it returns.
pub async fn write_sealed<T, F>(
    state: &AppState,
    who: &Principal,
    audit: AuditCtx,
    resource_id: Option<uuid::Uuid>,
    f: F,
) -> ApiResult<HttpResponse>
where
    T: Serialize + Mask + Discloses + Send + 'static,
    F: FnOnce(
            &mut DbConnection,
            &mut dyn FnMut(&mut DbConnection, &mut T) -> CoreResult<()>,
        ) -> CoreResult<T>
        + Send
        + 'static,
{
    let view = View::for_principal(who);
    let body = blocking(state, move |conn| {
        let mut seal = |c: &mut DbConnection, body: &mut T| {
            body.mask(&view);
            audit.append_in_tx(c, 200, resource_id, &Disclosed::of(&*body))
        };
        f(conn, &mut seal)
    })
    .await?;
    let mut resp = HttpResponse::Ok().json(&body);
    resp.extensions_mut().insert(AuditedInTx);
    Ok(resp)
}

/// [`write`] for a command that must not run twice (a payment): with an `Idempotency-Key`
/// the response is stored in the same transaction, and a retry with the same body gets it
/// back (`Idempotent-Replayed: true`) without running the command again; another body with
/// the same key is 422. `replayed` is what a replay discloses (recorded like the original).
/// `status` is 200, or 201 when the command creates something.
#[allow(clippy::too_many_arguments)]
pub async fn write_once<T, F>(
    state: &AppState,
    who: &Principal,
    audit: AuditCtx,
    status: u16,
    resource_id: Option<uuid::Uuid>,
    idempotency_key: Option<String>,
    request_hash: String,
    replayed: Disclosed,
    f: F,
) -> ApiResult<HttpResponse>
where
    T: Serialize + Mask + Discloses + Send + 'static,
    F: FnOnce(&mut DbConnection) -> CoreResult<T> + Send + 'static,
{
    let keyring = state.keyring.clone();
    let org = who.org;
    let view = View::for_principal(who);
    let outcome = blocking(state, move |conn| {
        let replay = |conn: &mut DbConnection| -> CoreResult<Option<Created>> {
            let Some(key) = &idempotency_key else {
                return Ok(None);
            };
            match idempotency::find(conn, &keyring, org, key)? {
                Some(stored) if stored.request_hash != request_hash => Ok(Some(Created::Mismatch)),
                Some(stored) => {
                    audit.append_in_tx(conn, status, resource_id, &replayed)?;
                    Ok(Some(Created::Replay(stored)))
                }
                None => Ok(None),
            }
        };
        let attempt = store::write_transaction(conn, |conn| {
            if let Some(done) = replay(conn)? {
                return Ok(done);
            }
            let mut body = f(conn)?;
            body.mask(&view);
            audit.append_in_tx(conn, status, resource_id, &Disclosed::of(&body))?;
            let stored = StoredResponse {
                request_hash: request_hash.clone(),
                status_code: i32::from(status),
                response_body: serde_json::to_string(&body)
                    .map_err(|_| CoreError::Internal("response does not serialise".into()))?,
                resource_location: None,
            };
            if let Some(key) = &idempotency_key {
                idempotency::store(conn, &keyring, org, key, &stored)?;
            }
            Ok(Created::New(stored, 0))
        });
        match attempt {
            // A concurrent request with the same key committed first: answer as it did.
            Err(e @ CoreError::Conflict(_)) if idempotency_key.is_some() => {
                store::write_transaction(conn, |conn| replay(conn)?.ok_or(e))
            }
            other => other,
        }
    })
    .await?;
    let mut resp = match outcome {
        Created::Mismatch => return Err(ApiError::IdempotencyMismatch),
        Created::New(stored, _) => respond_created(&stored, None, false),
        Created::Replay(stored) => respond_created(&stored, None, true),
    };
    resp.extensions_mut().insert(AuditedInTx);
    Ok(resp)
}

pub use revcycle_core::model::Versioned;

/// 200 with the record, masked for the caller, and its ETag. What it discloses goes to the
/// request's audit event.
pub fn ok<R: Versioned + Mask + Discloses>(who: &Principal, mut r: R) -> HttpResponse {
    r.mask(&View::for_principal(who));
    let mut resp = HttpResponse::Ok()
        .insert_header((header::ETAG, etag(r.version())))
        .json(&r);
    resp.extensions_mut().insert(Disclosed::of(&r));
    resp
}

/// 200 with a body (a page, search results), masked for the caller; what it discloses goes to
/// the request's audit event.
pub fn json<T: Serialize + Mask + Discloses>(who: &Principal, mut body: T) -> HttpResponse {
    body.mask(&View::for_principal(who));
    let mut resp = HttpResponse::Ok().json(&body);
    resp.extensions_mut().insert(Disclosed::of(&body));
    resp
}

enum Created {
    New(StoredResponse, i32),
    Replay(StoredResponse),
    Mismatch,
}

/// Create a resource in one transaction. With an `Idempotency-Key`, the response is stored in
/// the same transaction; a retry with the same body gets the same response (and creates
/// nothing), a retry with another body gets 422.
pub async fn create<R, F>(
    state: &AppState,
    who: &Principal,
    audit: AuditCtx,
    collection: &'static str,
    idempotency_key: Option<String>,
    request_hash: String,
    f: F,
) -> ApiResult<HttpResponse>
where
    R: Versioned + Mask + Discloses + serde::de::DeserializeOwned + Send + 'static,
    F: FnOnce(&mut DbConnection) -> CoreResult<R> + Send + 'static,
{
    let keyring = state.keyring.clone();
    let org = who.org;
    // The stored response is what the creator saw, so a replay discloses no more.
    let view = View::for_principal(who);
    let outcome = blocking(state, move |conn| {
        let attempt = store::write_transaction(conn, |conn| {
            if let Some(key) = &idempotency_key
                && let Some(stored) = idempotency::find(conn, &keyring, org, key)?
            {
                if stored.request_hash != request_hash {
                    return Ok(Created::Mismatch);
                }
                // A replay discloses the stored response again: recorded like the original.
                audit.append_in_tx(
                    conn,
                    201,
                    stored_id(&stored),
                    &replay_disclosure::<R>(&stored),
                )?;
                return Ok(Created::Replay(stored));
            }
            let mut resource = f(conn)?;
            resource.mask(&view);
            audit.append_in_tx(conn, 201, Some(resource.id()), &Disclosed::of(&resource))?;
            let stored = StoredResponse {
                request_hash: request_hash.clone(),
                status_code: 201,
                response_body: serde_json::to_string(&resource)
                    .map_err(|_| CoreError::Internal("response does not serialise".into()))?,
                resource_location: Some(format!("{collection}/{}", resource.id())),
            };
            if let Some(key) = &idempotency_key {
                idempotency::store(conn, &keyring, org, key, &stored)?;
            }
            Ok::<_, CoreError>(Created::New(stored, resource.version()))
        });
        match (attempt, &idempotency_key) {
            // A concurrent request with the same key committed first: answer as it did.
            (Err(e @ CoreError::Conflict(_)), Some(key)) => {
                store::write_transaction(conn, |conn| {
                    match idempotency::find(conn, &keyring, org, key)? {
                        Some(stored) if stored.request_hash == request_hash => {
                            let disclosed = replay_disclosure::<R>(&stored);
                            audit.append_in_tx(conn, 201, stored_id(&stored), &disclosed)?;
                            Ok(Created::Replay(stored))
                        }
                        Some(_) => Ok(Created::Mismatch),
                        None => Err(e),
                    }
                })
            }
            (other, _) => other,
        }
    })
    .await?;
    let mut resp = match outcome {
        Created::Mismatch => return Err(ApiError::IdempotencyMismatch),
        Created::New(stored, version) => respond_created(&stored, Some(version), false),
        Created::Replay(stored) => respond_created(&stored, None, true),
    };
    resp.extensions_mut().insert(AuditedInTx);
    Ok(resp)
}

/// The id of the resource a stored response created (the end of its Location).
fn stored_id(stored: &StoredResponse) -> Option<uuid::Uuid> {
    stored
        .resource_location
        .as_deref()
        .and_then(|l| l.rsplit('/').next())
        .and_then(|id| uuid::Uuid::parse_str(id).ok())
}

/// What a stored response discloses, read back from its JSON.
fn replay_disclosure<R: Discloses + serde::de::DeserializeOwned>(
    stored: &StoredResponse,
) -> Disclosed {
    serde_json::from_str::<R>(&stored.response_body)
        .map(|r| Disclosed::of(&r))
        .unwrap_or_default()
}

fn respond_created(stored: &StoredResponse, version: Option<i32>, replayed: bool) -> HttpResponse {
    let status = u16::try_from(stored.status_code)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::CREATED);
    let mut resp = HttpResponse::build(status);
    resp.content_type("application/json");
    if let Some(loc) = &stored.resource_location {
        resp.insert_header((header::LOCATION, loc.clone()));
    }
    if let Some(v) = version {
        resp.insert_header((header::ETAG, etag(v)));
    }
    if replayed {
        resp.insert_header(("Idempotent-Replayed", "true"));
    }
    resp.body(stored.response_body.clone())
}
