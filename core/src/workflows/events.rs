//! Webhook subscriptions and deliveries as use cases: creating a subscription (its secret
//! made here and shown once), rotating its secret, a test delivery, and what an attempt's
//! result makes of a delivery and of its subscription (retry, give up, disable after
//! sustained failure, with an audit event).

use std::time::Duration;

use chrono::NaiveDateTime;
use uuid::Uuid;

use crate::access::OrgId;
use crate::audit::{AuditEvent, Outcome};
use crate::error::{CoreError, CoreResult};
use crate::events::retry::{AfterFailure, RetryPolicy};
use crate::events::signing::new_secret;
use crate::model::common::now;
use crate::model::event::{
    Delivery, EventData, Ping, Subscription, SubscriptionInput, SubscriptionWithSecret,
};
use crate::store::events::{self, AttemptRecord, Claimed, Next};
use crate::store::{DbConnection, KeyRing, audit_intake};
use crate::validation::Rules;

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
    let attempt = claimed.attempts + 1;
    let ok = result.succeeded();
    let next = if ok {
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
    let failing_since =
        events::note_health(c, claimed.org, claimed.subscription_id, ok, result.at)?;
    if let Some(since) = failing_since
        && result.at - since >= chrono(policy.disable_after)
    {
        let last = match (result.status_code, result.error) {
            (Some(s), _) => format!("HTTP {s}"),
            (None, Some(e)) => e.to_string(),
            (None, None) => "no answer".to_string(),
        };
        let reason = format!(
            "deliveries failed for {} without a success (since {} UTC; the last: {last})",
            describe(policy.disable_after),
            since.format("%Y-%m-%d %H:%M:%S")
        );
        if events::disable(c, claimed.org, claimed.subscription_id, &reason, result.at)? {
            let mut e = AuditEvent::now(claimed.org.0, DELIVERER_ACTOR, "subscription.disable");
            e.resource_type = Some("Subscription".into());
            e.resource_id = Some(claimed.subscription_id.to_string());
            e.outcome = Outcome::Failed;
            audit_intake::intake(c, vec![e])?;
        }
    }
    Ok(next)
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
