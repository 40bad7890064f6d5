//! Webhook subscriptions and deliveries as use cases: creating a subscription (its secret
//! made here and shown once), rotating its secret, a test delivery, and what an attempt's
//! result makes of a delivery and of its subscription (retry, give up, disable after
//! sustained failure, with an audit event).

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::access::OrgId;
use crate::audit::{AuditEvent, Outcome};
use crate::error::{CoreError, CoreResult};
use crate::events::retry::{AfterFailure, RetryPolicy};
use crate::events::signing::new_secret;
use crate::model::common::{now, utc};
use crate::model::event::{
    Delivery, EventData, Ping, Subscription, SubscriptionInput, SubscriptionWithSecret,
};
use crate::store::events::{self, AttemptRecord, Claimed, Next};
use crate::store::{DbConnection, KeyRing, audit_intake};
use crate::validation::{Errors, FieldError, Rules};

/// Default time a rotated-out secret keeps signing.
pub const DEFAULT_SECRET_GRACE: Duration = Duration::from_secs(24 * 3600);
/// Default time deliveries to a subscription may fail without a success before it is
/// disabled.
pub const DEFAULT_DISABLE_AFTER: Duration = Duration::from_secs(5 * 24 * 3600);
/// Who the deliverer's audit events name.
pub const DELIVERER_ACTOR: &str = "system:event-delivery";

fn chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// Creates a subscription with a new signing secret, shown in this answer only.
pub fn create(
    c: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    input: &SubscriptionInput,
) -> CoreResult<SubscriptionWithSecret> {
    let mut e = crate::validation::Errors::new();
    input.check(&mut e);
    e.finish()?;
    let secret = new_secret();
    let subscription = events::create_subscription(c, keyring, org, input, &secret)?;
    Ok(SubscriptionWithSecret {
        subscription,
        secret: secret.to_string(),
    })
}

/// Replaces what a subscription asks for (compare-and-set on `version`).
pub fn replace(
    c: &mut DbConnection,
    org: OrgId,
    id: Uuid,
    version: i32,
    input: &SubscriptionInput,
) -> CoreResult<Subscription> {
    let mut e = crate::validation::Errors::new();
    input.check(&mut e);
    e.finish()?;
    events::replace_subscription(c, org, id, version, input)
}

/// A new signing secret, shown in this answer only; the old one keeps signing for `grace`.
pub fn rotate_secret(
    c: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    id: Uuid,
    grace: Duration,
) -> CoreResult<SubscriptionWithSecret> {
    let secret = new_secret();
    let subscription = events::rotate_secret(c, keyring, org, id, &secret, now() + chrono(grace))?;
    Ok(SubscriptionWithSecret {
        subscription,
        secret: secret.to_string(),
    })
}

/// A test event (`ping`) for this subscription alone, delivered like any other.
pub fn ping(c: &mut DbConnection, org: OrgId, id: Uuid) -> CoreResult<Delivery> {
    let sub = events::get_subscription(c, org, id)?;
    if sub.status == "disabled" {
        return Err(CoreError::Conflict(
            "the subscription is disabled: enable it (PUT with \"paused\": false) first".into(),
        ));
    }
    let event = events::emit(
        c,
        org,
        &EventData::Ping(Ping {
            subscription_id: id,
        }),
    )?;
    events::delivery_of_event(c, org, id, event)
}

/// Emits an event that tells of something other than one database change (an import of many
/// records, a published checkpoint), in a transaction of its own, once that thing is done.
pub fn announce(c: &mut DbConnection, org: OrgId, data: &EventData) -> CoreResult<Uuid> {
    crate::store::write_transaction(c, |c| events::emit(c, org, data))
}

/// What to send again: the subscription's events that committed from `since` (and before
/// `until`, when given).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"since": "2026-12-01T00:00:00Z"}))]
pub struct ReplayInput {
    /// RFC 3339; not in the future.
    #[schema(example = "2026-12-01T00:00:00Z")]
    pub since: DateTime<Utc>,
    /// RFC 3339, after `since` (default: now).
    #[schema(example = "2026-12-02T00:00:00Z")]
    pub until: Option<DateTime<Utc>>,
}

impl Rules for ReplayInput {
    fn check(&self, e: &mut Errors) {
        e.check(
            self.since.naive_utc() <= now(),
            "/since",
            "must not be in the future",
        );
        if let Some(until) = self.until {
            e.check(until > self.since, "/until", "must be after since");
        }
    }
}

/// The answer to a replay.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReplayQueued {
    /// Deliveries queued: one per event of the subscription's types in the span.
    #[schema(example = 12)]
    pub queued: usize,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

/// Queues the subscription's events of `[since, until)` again as new deliveries (same
/// `webhook-id`); refused for a disabled subscription and for a span of more than
/// [`events::REPLAY_MAX_EVENTS`] events.
pub fn replay(
    c: &mut DbConnection,
    org: OrgId,
    id: Uuid,
    input: &ReplayInput,
) -> CoreResult<ReplayQueued> {
    let mut e = Errors::new();
    input.check(&mut e);
    e.finish()?;
    let sub = events::get_subscription(c, org, id)?;
    if sub.status == "disabled" {
        return Err(CoreError::Conflict(
            "the subscription is disabled: enable it (PUT with \"paused\": false) first".into(),
        ));
    }
    let until = input.until.map_or_else(now, |u| u.naive_utc()).min(now());
    let since = input.since.naive_utc();
    match events::replay(c, org, id, since, until)? {
        Some(queued) => Ok(ReplayQueued {
            queued,
            since: utc(since),
            until: utc(until),
        }),
        None => Err(CoreError::Invalid(vec![FieldError::new(
            "/since",
            format!(
                "the span holds more than {} events: replay it in parts (until)",
                events::REPLAY_MAX_EVENTS
            ),
        )])),
    }
}

/// How the deliverer treats failures.
#[derive(Debug, Clone, Copy)]
pub struct DeliveryPolicy {
    pub retry: RetryPolicy,
    /// Failing without a success for this long disables the subscription.
    pub disable_after: Duration,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        DeliveryPolicy {
            retry: RetryPolicy::default(),
            disable_after: DEFAULT_DISABLE_AFTER,
        }
    }
}

/// What an attempt did, as the deliverer saw it.
#[derive(Debug, Clone)]
pub struct AttemptResult {
    /// The receiver's status, when it answered.
    pub status_code: Option<u16>,
    /// What failed when it did not (`timeout`, `connect`, `refused_address`, ...).
    pub error: Option<&'static str>,
    pub latency: Duration,
    pub at: NaiveDateTime,
}

impl AttemptResult {
    /// Standard Webhooks: any 2xx is a success.
    pub fn succeeded(&self) -> bool {
        self.status_code.is_some_and(|s| (200..300).contains(&s))
    }
}

/// In one transaction: logs the attempt, schedules the next one (backoff with `jitter` in
/// [0, 1)) or ends the delivery, and keeps the subscription's health, disabling it (with an
/// audit event) once it has failed for `disable_after` without a success.
pub fn finish_attempt(
    c: &mut DbConnection,
    claimed: &Claimed,
    result: &AttemptResult,
    policy: &DeliveryPolicy,
    jitter: f64,
) -> CoreResult<Next> {
    let next = record_attempt(c, claimed, result, policy, jitter)?;
    keep_health(c, claimed.org, claimed.subscription_id, &[result], policy)?;
    Ok(next)
}

/// A deliverer's round in the caller's transaction: each attempt as [`finish_attempt`] records
/// it, and each subscription's health kept once from its attempts in order (a round of many
/// deliveries to one receiver updates its subscription once, not once per delivery).
pub fn finish_round(
    c: &mut DbConnection,
    attempts: &[(&Claimed, &AttemptResult, f64)],
    policy: &DeliveryPolicy,
) -> CoreResult<()> {
    let mut by_subscription: Vec<((OrgId, Uuid), Vec<&AttemptResult>)> = Vec::new();
    for &(claimed, result, jitter) in attempts {
        record_attempt(c, claimed, result, policy, jitter)?;
        let key = (claimed.org, claimed.subscription_id);
        match by_subscription.iter_mut().find(|(k, _)| *k == key) {
            Some((_, results)) => results.push(result),
            None => by_subscription.push((key, vec![result])),
        }
    }
    for ((org, subscription), results) in by_subscription {
        keep_health(c, org, subscription, &results, policy)?;
    }
    Ok(())
}

/// Logs the attempt and schedules the next one or ends the delivery.
fn record_attempt(
    c: &mut DbConnection,
    claimed: &Claimed,
    result: &AttemptResult,
    policy: &DeliveryPolicy,
    jitter: f64,
) -> CoreResult<Next> {
    let attempt = claimed.attempts + 1;
    let next = if result.succeeded() {
        Next::Delivered
    } else {
        let first = claimed.first_attempt_at.unwrap_or(result.at);
        let elapsed = (result.at - first).to_std().unwrap_or_default();
        match policy.retry.after_failure(attempt, elapsed, jitter) {
            AfterFailure::RetryIn(d) => Next::RetryAt(result.at + chrono(d)),
            AfterFailure::GiveUp => Next::Failed,
        }
    };
    let record = AttemptRecord {
        attempt,
        status_code: result.status_code.map(i32::from),
        error: result.error.map(str::to_string),
        latency_ms: i64::try_from(result.latency.as_millis()).unwrap_or(i64::MAX),
        at: result.at,
    };
    events::finish_attempt(c, claimed, &record, next)?;
    Ok(next)
}

/// The subscription's health after `results` (in order), as if each were noted in turn: a
/// success clears the failing streak, a failure starts one when none runs. Disables the
/// subscription (with an audit event) once the streak has lasted `disable_after`.
fn keep_health(
    c: &mut DbConnection,
    org: OrgId,
    subscription: Uuid,
    results: &[&AttemptResult],
    policy: &DeliveryPolicy,
) -> CoreResult<()> {
    let last_success = results.iter().rposition(|r| r.succeeded());
    if let Some(i) = last_success {
        events::note_health(c, org, subscription, true, results[i].at)?;
    }
    // Every attempt after the last success failed.
    let failures = &results[last_success.map_or(0, |i| i + 1)..];
    let (Some(first), Some(last)) = (failures.first(), failures.last()) else {
        return Ok(());
    };
    let Some(since) = events::note_health(c, org, subscription, false, first.at)? else {
        return Ok(());
    };
    if last.at - since < chrono(policy.disable_after) {
        return Ok(());
    }
    let what = match (last.status_code, last.error) {
        (Some(s), _) => format!("HTTP {s}"),
        (None, Some(e)) => e.to_string(),
        (None, None) => "no answer".to_string(),
    };
    let reason = format!(
        "deliveries failed for {} without a success (since {} UTC; the last: {what})",
        describe(policy.disable_after),
        since.format("%Y-%m-%d %H:%M:%S")
    );
    if events::disable(c, org, subscription, &reason, last.at)? {
        let mut e = AuditEvent::now(org.0, DELIVERER_ACTOR, "subscription.disable");
        e.resource_type = Some("Subscription".into());
        e.resource_id = Some(subscription.to_string());
        e.outcome = Outcome::Failed;
        audit_intake::intake(c, vec![e])?;
    }
    Ok(())
}

/// A duration as people say it ("5 days", "3 hours", "90 seconds").
fn describe(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        s if s >= 86_400 && s % 86_400 == 0 => format!("{} day(s)", s / 86_400),
        s if s >= 3600 && s % 3600 == 0 => format!("{} hour(s)", s / 3600),
        s => format!("{s} second(s)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::claim::ClaimStatus;
    use crate::model::event::{ClaimStatusChanged, EventType};
    use crate::store::events::{
        claim_due, claimed_many, create_subscription, emit, fan_out, get_subscription,
    };
    use crate::store::testing::{TestEngine, on_each_engine, setup_on};
    use crate::store::write_transaction;

    on_each_engine!(a_round_keeps_each_subscriptions_health_as_attempts_in_turn_would);

    fn claim(c: &mut DbConnection, at: NaiveDateTime) -> Vec<Claimed> {
        let lease = at + chrono::Duration::seconds(60);
        let ids = write_transaction(c, |tx| {
            fan_out(tx, at, 64)?;
            claim_due(tx, at, lease, 64)
        })
        .unwrap();
        claimed_many(c, &ids).unwrap()
    }

    fn answered(status: u16, at: NaiveDateTime) -> AttemptResult {
        AttemptResult {
            status_code: Some(status),
            error: None,
            latency: Duration::from_millis(5),
            at,
        }
    }

    fn a_round_keeps_each_subscriptions_health_as_attempts_in_turn_would(engine: TestEngine) {
        let (_db, mut conn, keyring, org) = setup_on(engine);
        let input = SubscriptionInput {
            url: "https://hooks.example.com/revcycle".into(),
            event_types: vec![EventType::ClaimStatusChanged],
            description: None,
            paused: false,
        };
        let sub = create_subscription(&mut conn, &keyring, org, &input, "whsec_a").unwrap();
        for _ in 0..4 {
            let moved = EventData::ClaimStatusChanged(ClaimStatusChanged {
                claim_id: Uuid::now_v7(),
                from: ClaimStatus::Draft,
                to: ClaimStatus::Ready,
                remittance_id: None,
            });
            emit(&mut conn, org, &moved).unwrap();
        }
        let policy = DeliveryPolicy {
            retry: RetryPolicy::default(),
            disable_after: Duration::from_secs(3600),
        };
        let secs = chrono::Duration::seconds;
        let streak = |c: &mut DbConnection| {
            get_subscription(c, org, sub.id)
                .unwrap()
                .failing_since
                .map(|t| t.timestamp())
        };
        let t0 = now();
        let round = claim(&mut conn, t0);
        assert_eq!(
            round.len(),
            4,
            "one delivery per event, each of its own claim"
        );

        // A failure, then a success: no failing streak.
        let (a, b) = (answered(500, t0), answered(204, t0 + secs(1)));
        write_transaction(&mut conn, |tx| {
            finish_round(tx, &[(&round[0], &a, 0.0), (&round[1], &b, 0.0)], &policy)
        })
        .unwrap();
        assert_eq!(streak(&mut conn), None);

        // A success, then a failure: the streak starts at that failure.
        let (c, d) = (answered(204, t0 + secs(2)), answered(503, t0 + secs(3)));
        write_transaction(&mut conn, |tx| {
            finish_round(tx, &[(&round[2], &c, 0.0), (&round[3], &d, 0.0)], &policy)
        })
        .unwrap();
        assert_eq!(
            streak(&mut conn),
            Some((t0 + secs(3)).and_utc().timestamp())
        );
        let s = get_subscription(&mut conn, org, sub.id).unwrap();
        assert_eq!(s.status, "active");

        // Two hours on, the two failed deliveries fail again: the streak has lasted longer than
        // `disable_after`, and the subscription is disabled naming the last failure.
        let later = t0 + secs(2 * 3600);
        let retried = claim(&mut conn, later);
        assert_eq!(retried.len(), 2, "the failed deliveries are due again");
        let (e, f) = (answered(502, later), answered(500, later + secs(1)));
        write_transaction(&mut conn, |tx| {
            finish_round(
                tx,
                &[(&retried[0], &e, 0.0), (&retried[1], &f, 0.0)],
                &policy,
            )
        })
        .unwrap();
        let s = get_subscription(&mut conn, org, sub.id).unwrap();
        assert_eq!(s.status, "disabled");
        let reason = s.disabled_reason.unwrap();
        assert!(reason.contains("the last: HTTP 500"), "{reason}");
        assert!(reason.contains("1 hour(s)"), "{reason}");
    }
}
