//! Delivering webhook events: due deliveries are claimed under a lease (several servers on
//! one PostgreSQL share the work, each row claimed by one), sent side by side, and each
//! attempt recorded with what follows it (retry with backoff, give up, disable the
//! subscription). A server that dies mid-delivery leaves a lease that runs out, and another
//! server (or this one, restarted) sends the delivery again with the same `webhook-id`.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use revcycle_core::error::CoreError;
use revcycle_core::events::retry::RetryPolicy;
use revcycle_core::model::common::now;
use revcycle_core::store::{self, events};
use revcycle_core::workflows::events::{DeliveryPolicy, finish_attempt};
use zeroize::Zeroizing;

use crate::state::AppState;
use crate::webhooks::Sender;

/// Deliveries claimed (and sent side by side) per round.
const BATCH: i64 = 16;
/// How long past the receiver's timeout a claim holds before another server may take over.
const LEASE_MARGIN: Duration = Duration::from_secs(30);

/// Starts the deliverer of this server.
pub fn spawn(state: web::Data<AppState>) -> Result<(), String> {
    let cfg = state.events.clone();
    let sender = Arc::new(Sender::new(&cfg)?);
    let policy = DeliveryPolicy {
        retry: RetryPolicy {
            base: cfg.retry_base,
            window: cfg.retry_window,
        },
        disable_after: cfg.disable_after,
    };
    let lease = cfg.timeout * 2 + LEASE_MARGIN;
    actix_web::rt::spawn(async move {
        loop {
            match round(&state, &sender, &policy, lease).await {
                // A full batch: more may be due at once.
                Ok(n) if n as i64 >= BATCH => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "webhook delivery round failed"),
            }
            actix_web::rt::time::sleep(cfg.poll_interval).await;
        }
    });
    Ok(())
}

/// A number in [0, 1) from the operating system's random source (the retry jitter).
fn jitter() -> f64 {
    let mut b = [0u8; 8];
    if getrandom::fill(&mut b).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

/// Claims, sends and records one batch; returns how many deliveries it claimed.
async fn round(
    state: &AppState,
    sender: &Sender,
    policy: &DeliveryPolicy,
    lease: Duration,
) -> Result<usize, CoreError> {
    let pool = state.pool.clone();
    let keyring = state.keyring.clone();
    let lease = chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
    let batch = web::block(move || -> Result<_, CoreError> {
        let mut conn = pool
            .get()
            .map_err(|e| CoreError::Unavailable(format!("database: {e}")))?;
        let ids = store::write_transaction(&mut conn, |c| {
            let at = now();
            events::claim_due(c, at, at + lease, BATCH)
        })?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let load = |conn: &mut store::DbConnection| -> Result<_, CoreError> {
                let claimed = events::claimed(conn, id)?;
                let keys = keyring.keys(conn, claimed.org)?;
                let secrets: Vec<Zeroizing<String>> = events::signing_secrets(
                    conn,
                    &keys,
                    claimed.org,
                    claimed.subscription_id,
                    now(),
                )?;
                Ok((claimed, secrets))
            };
            match load(&mut conn) {
                Ok(item) => out.push(item),
                // Left under its lease: it is tried again once the lease runs out.
                Err(e) => tracing::warn!(delivery = %id, error = %e, "a claimed delivery could not be read"),
            }
        }
        Ok(out)
    })
    .await
    .map_err(|_| CoreError::Internal("the delivery round was cancelled".into()))??;
    let claimed = batch.len();
    if claimed == 0 {
        return Ok(0);
    }
    let sends = batch.into_iter().map(|(c, secrets)| async move {
        let r = sender
            .send(&c.url, &c.event_id.to_string(), &c.payload, &secrets)
            .await;
        (c, r)
    });
    let results = futures_util::future::join_all(sends).await;
    let pool = state.pool.clone();
    let policy = *policy;
    web::block(move || -> Result<(), CoreError> {
        let mut conn = pool
            .get()
            .map_err(|e| CoreError::Unavailable(format!("database: {e}")))?;
        for (c, r) in results {
            let j = jitter();
            if let Err(e) = store::write_transaction(&mut conn, |tx| {
                finish_attempt(tx, &c, &r, &policy, j)
            }) {
                // The lease runs out and the delivery is sent again: at least once.
                tracing::warn!(delivery = %c.delivery_id, error = %e, "a delivery attempt could not be recorded");
            }
        }
        Ok(())
    })
    .await
    .map_err(|_| CoreError::Internal("the delivery round was cancelled".into()))??;
    Ok(claimed)
}
