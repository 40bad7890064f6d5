//! Publishing events to NATS JetStream (when `events_nats_url` is set), beside webhooks. Each
//! event of the outbox is claimed under a lease (several servers on one PostgreSQL publish
//! each once), published to `<prefix>.<org id>.<event type>` with `Nats-Msg-Id` = the event
//! id, and marked published once JetStream acknowledged it. A server that dies between the
//! publish and the mark leaves a lease that runs out; the event is published again with the
//! same id, which JetStream drops as a duplicate. While NATS is unreachable events wait in
//! the outbox (counted by `/health` as `nats_pending`) and are tried again with backoff.

use std::time::Duration;

use actix_web::web;
use async_nats::jetstream::{self, message::PublishMessage, stream};
use revcycle_core::error::CoreError;
use revcycle_core::model::common::now;
use revcycle_core::store::{self, event_publishing as outbox};

use crate::config::NatsConfig;
use crate::state::AppState;

/// Events claimed (and published side by side) per round.
const BATCH: i64 = 64;
/// How long a claim holds before another server may take the event over: longer than a
/// publish may wait for its acknowledgment.
const LEASE: Duration = Duration::from_secs(30);
/// JetStream's wait for an acknowledgment.
const ACK_TIMEOUT: Duration = Duration::from_secs(10);
/// Drops a message id seen again within this long: covers a lease running out after a
/// publish whose mark was lost, and retries while acknowledgments went missing.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(10 * 60);
/// The wait after a failed publish: doubled per failure, at most this.
const MAX_RETRY: Duration = Duration::from_secs(30);

/// Starts the publisher of this server, if NATS is configured.
pub fn spawn(state: web::Data<AppState>) {
    let Some(cfg) = state.events.nats.clone() else {
        return;
    };
    let poll = state.events.poll_interval;
    actix_web::rt::spawn(async move {
        // Where this sink starts in the outbox (registered once, by the first server).
        let after = loop {
            let pool = state.pool.clone();
            let r = web::block(move || -> Result<i64, CoreError> {
                let mut c = pool
                    .get()
                    .map_err(|e| CoreError::Unavailable(format!("database: {e}")))?;
                store::write_transaction(&mut c, |tx| outbox::sink_start(tx, outbox::NATS))
            })
            .await;
            match r {
                Ok(Ok(after)) => break after,
                Ok(Err(e)) => tracing::warn!(error = %e, "NATS publishing cannot start yet"),
                Err(_) => tracing::warn!("NATS publishing cannot start yet"),
            }
            actix_web::rt::time::sleep(MAX_RETRY).await;
        };
        let mut js: Option<jetstream::Context> = None;
        let mut stream_ready = false;
        let mut failures: u32 = 0;
        loop {
            if js.is_none() {
                match connect(&cfg).await {
                    Ok(c) => js = Some(c),
                    Err(e) => {
                        failures += 1;
                        tracing::warn!(error = %e, url = %redacted(&cfg.url), "NATS is unreachable; events wait in the outbox");
                    }
                }
            }
            if let Some(ctx) = &js
                && !stream_ready
            {
                match ensure_stream(ctx, &cfg).await {
                    Ok(()) => stream_ready = true,
                    Err(e) => {
                        failures += 1;
                        tracing::warn!(error = %e, stream = %cfg.stream, "the JetStream stream is not available; events wait in the outbox");
                    }
                }
            }
            if let (Some(ctx), true) = (&js, stream_ready) {
                match round(&state, ctx, &cfg, after).await {
                    Ok(r) if r.failed == 0 => {
                        failures = 0;
                        if r.claimed as i64 >= BATCH {
                            continue;
                        }
                    }
                    Ok(_) => {
                        failures += 1;
                        // The stream may have been deleted: made sure of again before the next round.
                        stream_ready = false;
                    }
                    Err(e) => tracing::warn!(error = %e, "NATS publishing round failed"),
                }
            }
            let wait = if failures == 0 {
                poll
            } else {
                backoff(poll, failures)
            };
            actix_web::rt::time::sleep(wait).await;
        }
    });
}

/// `poll` doubled per failure, at most [`MAX_RETRY`].
fn backoff(poll: Duration, failures: u32) -> Duration {
    poll.saturating_mul(1u32 << failures.min(16)).min(MAX_RETRY)
}

/// The URL without credentials, for logs.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***@{}", &url[..s], &url[at + 1..]),
        _ => url.to_string(),
    }
}

async fn connect(cfg: &NatsConfig) -> Result<jetstream::Context, async_nats::ConnectError> {
    let client = async_nats::ConnectOptions::new()
        .name("revcycle")
        .connection_timeout(Duration::from_secs(5))
        // Reconnects promptly once the server is back: events are waiting meanwhile.
        .reconnect_delay_callback(|attempts| {
            Duration::from_millis(250)
                .saturating_mul(1u32 << attempts.min(5))
                .min(Duration::from_secs(5))
        })
        .connect(cfg.url.as_str())
        .await?;
    let mut ctx = jetstream::new(client);
    ctx.set_timeout(ACK_TIMEOUT);
    Ok(ctx)
}

/// The stream, created with our subjects when missing. One that exists is left as its
/// operator configured it; a warning says so if its subjects do not cover ours.
async fn ensure_stream(ctx: &jetstream::Context, cfg: &NatsConfig) -> Result<(), String> {
    let subjects = format!("{}.>", cfg.subject_prefix);
    let mut s = ctx
        .get_or_create_stream(stream::Config {
            name: cfg.stream.clone(),
            subjects: vec![subjects.clone()],
            duplicate_window: DUPLICATE_WINDOW,
            ..Default::default()
        })
        .await
        .map_err(|e| e.to_string())?;
    let info = s.info().await.map_err(|e| e.to_string())?;
    if !info
        .config
        .subjects
        .iter()
        .any(|x| x == &subjects || x == ">")
    {
        tracing::warn!(stream = %cfg.stream, subjects = %subjects, "the stream does not take our subjects; publishing will fail until it does");
    }
    Ok(())
}

/// What a round did.
struct Round {
    claimed: usize,
    failed: usize,
}

/// Claims, publishes and records one batch.
async fn round(
    state: &AppState,
    ctx: &jetstream::Context,
    cfg: &NatsConfig,
    after: i64,
) -> Result<Round, CoreError> {
    let pool = state.pool.clone();
    let lease = chrono::Duration::from_std(LEASE).unwrap_or(chrono::Duration::MAX);
    let batch = web::block(move || -> Result<_, CoreError> {
        let mut conn = pool
            .get()
            .map_err(|e| CoreError::Unavailable(format!("database: {e}")))?;
        store::write_transaction(&mut conn, |c| {
            let at = now();
            outbox::claim_due(c, after, at, at + lease, BATCH)
        })
    })
    .await
    .map_err(|_| CoreError::Internal("the publishing round was cancelled".into()))??;
    let claimed = batch.len();
    if claimed == 0 {
        return Ok(Round { claimed, failed: 0 });
    }
    // One event per record in a batch (the claim keeps each record's order): side by side.
    let publishes = batch.into_iter().map(|e| async move {
        let subject = format!("{}.{}.{}", cfg.subject_prefix, e.org.0, e.event_type);
        let msg = PublishMessage::build()
            .payload(e.payload.clone().into())
            .message_id(e.id.to_string());
        let r = match ctx.send_publish(subject, msg).await {
            Ok(ack) => ack.await.map(|_| ()).map_err(|err| err.to_string()),
            Err(err) => Err(err.to_string()),
        };
        (e, r)
    });
    let results = futures_util::future::join_all(publishes).await;
    let failed = results.iter().filter(|(_, r)| r.is_err()).count();
    if let Some((e, Err(err))) = results.iter().find(|(_, r)| r.is_err()) {
        // Ids, types and the client's error only: never the payload.
        tracing::warn!(event = %e.id, event_type = %e.event_type, error = %err, failed, "publishing events to NATS failed; they are tried again");
    }
    let pool = state.pool.clone();
    let poll = state.events.poll_interval;
    web::block(move || -> Result<(), CoreError> {
        let mut conn = pool
            .get()
            .map_err(|e| CoreError::Unavailable(format!("database: {e}")))?;
        let at = now();
        for (e, r) in results {
            let done = match r {
                Ok(()) => outbox::mark_published(&mut conn, e.seq, at).map(|_| true),
                Err(_) => {
                    let wait = backoff(poll, e.attempts.max(0) as u32 + 1);
                    let next = at + chrono::Duration::from_std(wait).unwrap_or_default();
                    outbox::retry_at(&mut conn, &e, next)
                }
            };
            if let Err(err) = done {
                // The lease runs out and the event is published again: at least once.
                tracing::warn!(event = %e.id, error = %err, "a NATS publication could not be recorded");
            }
        }
        Ok(())
    })
    .await
    .map_err(|_| CoreError::Internal("the publishing round was cancelled".into()))??;
    Ok(Round { claimed, failed })
}
