//! Delivering webhook events: newly committed events are turned into deliveries (fan-out,
//! one server at a time), then due deliveries are claimed under a lease (several servers on
//! one PostgreSQL share the work, each row claimed by one), sent side by side, and each
//! attempt recorded with what follows it (retry with backoff, give up, disable the
//! subscription). A server that dies mid-delivery leaves a lease that runs out, and another
//! server (or this one, restarted) sends the delivery again with the same `webhook-id`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use revcycle_core::error::CoreError;
use revcycle_core::events::retry::RetryPolicy;
use revcycle_core::model::common::now;
use revcycle_core::store::{self, events};
use revcycle_core::workflows::events::{DeliveryPolicy, finish_attempt, finish_round};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::state::AppState;
use crate::webhooks::Sender;

/// Deliveries claimed (and sent side by side) per round. A round costs a few statements and
/// two commits whatever its size, so under a steady stream a larger round costs less per
/// delivery.
const BATCH: i64 = 64;
/// Committed events turned into deliveries per round, in the round's claiming transaction:
/// the writes that emitted them paid for their event row only.
const FAN_OUT_BATCH: i64 = 128;
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
                // A full batch: more may be due (or waiting to be fanned out) at once.
                Ok(Round { fanned, claimed })
                    if fanned as i64 >= FAN_OUT_BATCH || claimed as i64 >= BATCH =>
                {
                    continue;
                }
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

/// What a round did.
struct Round {
    /// Events turned into deliveries.
    fanned: usize,
    /// Deliveries claimed (and sent).
    claimed: usize,
}

/// Fans out newly committed events, then claims, sends and records one batch.
async fn round(
    state: &AppState,
    sender: &Sender,
    policy: &DeliveryPolicy,
    lease: Duration,
) -> Result<Round, CoreError> {
    let pool = state.pool.clone();
    let keyring = state.keyring.clone();
    let lease = chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
    let batch = web::block(move || -> Result<_, CoreError> {
        let mut conn = pool
            .get()
            .map_err(|e| CoreError::Unavailable(format!("database: {e}")))?;
        let (fanned, ids) = store::write_transaction(&mut conn, |c| {
            let at = now();
            let fanned = events::fan_out(c, at, FAN_OUT_BATCH)?;
            Ok((fanned, events::claim_due(c, at, at + lease, BATCH)?))
        })?;
        // One read for the round, and each subscription's secrets decrypted once.
        let claimed = match events::claimed_many(&mut conn, &ids) {
            Ok(c) => c,
            Err(e) => {
                // Left under their leases: tried again once the leases run out.
                tracing::warn!(deliveries = ids.len(), error = %e, "claimed deliveries could not be read");
                return Ok((fanned, Vec::new()));
            }
        };
        let mut secrets: HashMap<Uuid, Arc<Vec<Zeroizing<String>>>> = HashMap::new();
        let mut out = Vec::with_capacity(claimed.len());
        for c in claimed {
            let known = secrets.get(&c.subscription_id).cloned();
            let signing = match known {
                Some(s) => Ok(s),
                None => keyring.keys(&mut conn, c.org).and_then(|keys| {
                    events::signing_secrets(&mut conn, &keys, c.org, c.subscription_id, now())
                        .map(Arc::new)
                }),
            };
            match signing {
                Ok(s) => {
                    secrets.insert(c.subscription_id, s.clone());
                    out.push((c, s));
                }
                // Left under its lease: it is tried again once the lease runs out.
                Err(e) => tracing::warn!(delivery = %c.delivery_id, error = %e, "a claimed delivery could not be read"),
            }
        }
        Ok((fanned, out))
    })
    .await
    .map_err(|_| CoreError::Internal("the delivery round was cancelled".into()))??;
    let (fanned, batch) = batch;
    let claimed = batch.len();
    if claimed == 0 {
        return Ok(Round { fanned, claimed });
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
        // The round's attempts in one transaction: one commit instead of one per delivery
        // (on SQLite the writers' lock is taken once, not sixteen times, beside the API's
        // own writes).
        let jitters: Vec<f64> = results.iter().map(|_| jitter()).collect();
        let round: Vec<_> = results
            .iter()
            .zip(&jitters)
            .map(|((c, r), j)| (c, r, *j))
            .collect();
        let together = store::write_transaction(&mut conn, |tx| finish_round(tx, &round, &policy));
        if together.is_ok() {
            return Ok(());
        }
        // One that cannot be recorded fails the batch: each alone, so only it is left.
        for ((c, r), j) in results.iter().zip(&jitters) {
            if let Err(e) =
                store::write_transaction(&mut conn, |tx| finish_attempt(tx, c, r, &policy, *j))
            {
                // The lease runs out and the delivery is sent again: at least once.
                tracing::warn!(delivery = %c.delivery_id, error = %e, "a delivery attempt could not be recorded");
            }
        }
        Ok(())
    })
    .await
    .map_err(|_| CoreError::Internal("the delivery round was cancelled".into()))??;
    Ok(Round { fanned, claimed })
}
