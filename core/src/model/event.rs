//! Events for integrators: what changed, told thin. An event carries ids, types, statuses,
//! amounts and times, never a name, an identifier or other PHI: the receiver reads the details
//! through the API with its own token, so access control and the audit trail still apply.
//!
//! Every type has a version; a change to a type's `data` that could break a receiver is a new
//! version of it, never an edit of the old one.
//!
//! Subscriptions (where an organization's events are pushed) and their deliveries are here
//! too: the API's view of them.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::billing::denials::{DenialCategory, DenialStatus};
use crate::model::claim::ClaimStatus;
use crate::model::remittance::AdjustmentGroup;
use crate::validation::{Errors, Rules};

/// Declares the event types: the enum of names, the `data` union the outbox stores, and one
/// documented envelope per type (what a receiver gets).
macro_rules! event_types {
    ($(
        $(#[$doc:meta])*
        $variant:ident($data:ident) => $envelope:ident, $name:literal, version $version:literal;
    )*) => {
        /// An event type a subscription may ask for.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum EventType {
            $(#[serde(rename = $name)] $variant,)*
        }

        impl EventType {
            pub const ALL: &'static [EventType] = &[$(EventType::$variant),*];

            pub fn name(self) -> &'static str {
                match self { $(EventType::$variant => $name,)* }
            }

            /// The version of the type's `data` this server sends.
            pub fn version(self) -> i32 {
                match self { $(EventType::$variant => $version,)* }
            }

            pub fn parse(name: &str) -> Option<EventType> {
                Self::ALL.iter().copied().find(|t| t.name() == name)
            }
        }

        // Written out: utoipa does not see a `serde(rename)` whose name a macro passes in.
        impl utoipa::PartialSchema for EventType {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .description(Some("An event type a subscription may ask for (its documents: the `*Event` schemas)."))
                    .enum_values(Some([$($name),*]))
                    .into()
            }
        }
        impl ToSchema for EventType {}

        /// What happened, by type: the `type` and `data` of the envelope.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "type", content = "data")]
        pub enum EventData {
            $(#[serde(rename = $name)] $variant($data),)*
            #[serde(rename = "ping")]
            Ping(Ping),
        }

        impl EventData {
            /// `None` for a ping, which no subscription asks for (it is sent to one).
            pub fn event_type(&self) -> Option<EventType> {
                match self {
                    $(EventData::$variant(_) => Some(EventType::$variant),)*
                    EventData::Ping(_) => None,
                }
            }
        }

        $(
            $(#[$doc])*
            #[derive(Debug, Clone, Serialize, ToSchema)]
            pub struct $envelope {
                /// The event's id, also the `webhook-id` header of every attempt to deliver it:
                /// a receiver that saw it already ignores it.
                pub id: Uuid,
                #[schema(example = $name)]
                pub r#type: String,
                #[schema(example = $version)]
                pub version: i32,
                /// When the change committed.
                pub timestamp: DateTime<Utc>,
                pub data: $data,
            }
        )*
    };
}

event_types! {
    /// `claim.status_changed` (version 1): a claim moved along its lifecycle, by any route
    /// (a caller's transition, a submission, an acknowledgment, a posting).
    ClaimStatusChanged(ClaimStatusChanged) => ClaimStatusChangedEvent, "claim.status_changed", version 1;
    /// `claim.submitted` (version 1): a claim went to its payer in an 837P.
    ClaimSubmitted(ClaimSubmitted) => ClaimSubmittedEvent, "claim.submitted", version 1;
    /// `claim.acknowledged` (version 1): a 999, TA1 or 277CA accepted or rejected a claim.
    ClaimAcknowledged(ClaimAcknowledged) => ClaimAcknowledgedEvent, "claim.acknowledged", version 1;
    /// `remittance.received` (version 1): a remittance (835 or entered by hand) was stored.
    RemittanceReceived(RemittanceReceived) => RemittanceReceivedEvent, "remittance.received", version 1;
    /// `remittance.posted` (version 1): a remittance was posted to the ledger.
    RemittancePosted(RemittancePosted) => RemittancePostedEvent, "remittance.posted", version 1;
    /// `denial.opened` (version 1): a posting found a denied claim or line.
    DenialOpened(DenialOpened) => DenialOpenedEvent, "denial.opened", version 1;
    /// `denial.resolved` (version 1): a denial was closed, resolved or written off.
    DenialResolved(DenialResolved) => DenialResolvedEvent, "denial.resolved", version 1;
    /// `eligibility.completed` (version 1): a real-time eligibility request (270) was
    /// answered (271).
    EligibilityCompleted(RealTimeCompleted) => EligibilityCompletedEvent, "eligibility.completed", version 1;
    /// `claim_status.completed` (version 1): a real-time claim status request (276) was
    /// answered (277).
    ClaimStatusCompleted(RealTimeCompleted) => ClaimStatusCompletedEvent, "claim_status.completed", version 1;
    /// `import.completed` (version 1): an EHR feed imported through a connector
    /// (`POST /v1/connectors/{name}/import`) finished, with its counts.
    ImportCompleted(ImportCompleted) => ImportCompletedEvent, "import.completed", version 1;
    /// `payment_plan.installment_due` (version 1): an installment of a payment plan fell due
    /// unpaid (once per installment).
    PaymentPlanInstallmentDue(InstallmentDue) => PaymentPlanInstallmentDueEvent, "payment_plan.installment_due", version 1;
    /// `security.break_glass` (version 1): someone read a record under break-glass, beyond
    /// their role; the audit event (with its sealed reason) says who and why.
    SecurityBreakGlass(BreakGlass) => SecurityBreakGlassEvent, "security.break_glass", version 1;
    /// `audit.checkpoint` (version 1): a signed checkpoint of the organization's audit trail
    /// was published (`GET /v1/audit-events/checkpoint`).
    AuditCheckpoint(AuditCheckpoint) => AuditCheckpointEvent, "audit.checkpoint", version 1;
}

/// The `data` of `claim.status_changed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClaimStatusChanged {
    pub claim_id: Uuid,
    pub from: ClaimStatus,
    pub to: ClaimStatus,
    /// The remittance whose posting moved it, if one did.
    pub remittance_id: Option<Uuid>,
}

/// The `data` of `claim.submitted`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClaimSubmitted {
    pub claim_id: Uuid,
    /// The 837P exchange it went in (`GET /v1/claims/{id}/exchanges`).
    pub exchange_id: Uuid,
    #[schema(value_type = String, example = "200.00")]
    pub total_charge: Decimal,
}

/// The `data` of `claim.acknowledged`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClaimAcknowledged {
    pub claim_id: Uuid,
    /// The acknowledgment file's exchange.
    pub exchange_id: Uuid,
    /// `999`, `TA1` or `277CA`.
    #[schema(example = "277CA")]
    pub acknowledgment: String,
    /// The claim's status after it: `accepted` or `rejected`.
    pub status: ClaimStatus,
}

/// The `data` of `remittance.received`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RemittanceReceived {
    pub remittance_id: Uuid,
    pub payer_id: Uuid,
    /// The 835 exchange it came in, when it came in a file.
    pub exchange_id: Option<Uuid>,
    pub payment_date: NaiveDate,
    #[schema(value_type = String, example = "96.00")]
    pub total_paid: Decimal,
    /// Claim payments (CLP) in it.
    pub claim_count: usize,
}

/// The `data` of `remittance.posted`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RemittancePosted {
    pub remittance_id: Uuid,
    pub posting_id: Uuid,
    pub payer_id: Uuid,
    /// Ledger entries the posting appended.
    pub entries_posted: usize,
    /// Each claim the posting moved, with its status before and after.
    pub claims: Vec<PostedClaimStatus>,
    /// Claim payments that matched no claim (they wait in the work queue).
    pub unmatched_count: usize,
    /// Denials the posting opened.
    pub denial_count: usize,
    #[schema(value_type = String, example = "96.00")]
    pub posted_paid: Decimal,
    #[schema(value_type = String, example = "0.00")]
    pub unmatched_paid: Decimal,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PostedClaimStatus {
    pub claim_id: Uuid,
    pub status_before: ClaimStatus,
    pub status_after: ClaimStatus,
}

/// The `data` of `denial.opened`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DenialOpened {
    pub denial_id: Uuid,
    pub claim_id: Uuid,
    pub claim_line_id: Option<Uuid>,
    pub payer_id: Uuid,
    pub remittance_id: Uuid,
    pub group: AdjustmentGroup,
    /// CAS02.
    #[schema(example = "197")]
    pub carc: String,
    #[schema(value_type = String, example = "80.00")]
    pub amount: Decimal,
    pub category: DenialCategory,
    /// A denial CARC on a line that was otherwise paid.
    pub partial: bool,
}

/// The `data` of `denial.resolved`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DenialResolved {
    pub denial_id: Uuid,
    pub claim_id: Uuid,
    /// `resolved` or `written_off`.
    pub status: DenialStatus,
    #[schema(value_type = String, example = "80.00")]
    pub amount: Decimal,
}

/// The `data` of `eligibility.completed` and `claim_status.completed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RealTimeCompleted {
    /// The request sent (270 or 276).
    pub request_exchange_id: Uuid,
    /// The answer received (271 or 277).
    pub answer_exchange_id: Uuid,
    pub payer_id: Uuid,
    /// The claim asked about (claim status only).
    pub claim_id: Option<Uuid>,
    /// `processed`, or `failed` when the answer did not answer this request.
    #[schema(example = "processed")]
    pub status: String,
}

/// The `data` of `import.completed`: how many records of each outcome (never their content).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ImportCompleted {
    /// This import run (it is also the event's resource).
    pub import_id: Uuid,
    /// The connector that translated the feed.
    #[schema(example = "fhir-r4")]
    pub connector: String,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub rejected: usize,
    /// What the connector could not translate.
    pub issues: usize,
}

/// The `data` of `payment_plan.installment_due`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InstallmentDue {
    pub payment_plan_id: Uuid,
    pub patient_id: Uuid,
    /// The installment's number, from 1.
    pub installment: i32,
    pub due: NaiveDate,
    #[schema(value_type = String, example = "50.00")]
    pub amount: Decimal,
    /// What the plan still has to collect.
    #[schema(value_type = String, example = "150.00")]
    pub remaining: Decimal,
}

/// The `data` of `security.break_glass`. The reason stays sealed in the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BreakGlass {
    /// The audit event of the read (`GET /v1/audit-events`, where it shows `break_glass`).
    pub audit_event_id: Uuid,
    #[schema(example = "Patient")]
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    /// The HTTP status the read was answered with.
    #[schema(example = 200)]
    pub http_status: u16,
}

/// The `data` of `audit.checkpoint`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditCheckpoint {
    /// Events the checkpoint covers (the tree's size).
    pub size: u64,
    /// The tree's root hash, base64 as in the signed note.
    pub root: String,
}

/// The `data` of a test delivery (`POST /v1/subscriptions/{id}/ping`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Ping {
    pub subscription_id: Uuid,
}

impl EventData {
    /// The record the event is about, as `(resource type, id)`: delivery keeps each record's
    /// events in the order they committed.
    pub fn resource(&self) -> (&'static str, Uuid) {
        match self {
            EventData::ClaimStatusChanged(d) => ("claim", d.claim_id),
            EventData::ClaimSubmitted(d) => ("claim", d.claim_id),
            EventData::ClaimAcknowledged(d) => ("claim", d.claim_id),
            EventData::RemittanceReceived(d) => ("remittance", d.remittance_id),
            EventData::RemittancePosted(d) => ("remittance", d.remittance_id),
            EventData::DenialOpened(d) => ("denial", d.denial_id),
            EventData::DenialResolved(d) => ("denial", d.denial_id),
            EventData::EligibilityCompleted(d) => ("x12_exchange", d.request_exchange_id),
            EventData::ClaimStatusCompleted(d) => match d.claim_id {
                Some(claim) => ("claim", claim),
                None => ("x12_exchange", d.request_exchange_id),
            },
            EventData::ImportCompleted(d) => ("import", d.import_id),
            EventData::PaymentPlanInstallmentDue(d) => ("payment_plan", d.payment_plan_id),
            EventData::SecurityBreakGlass(d) => ("audit_event", d.audit_event_id),
            // One org's checkpoints are one resource: they arrive in the order published.
            EventData::AuditCheckpoint(_) => ("audit_trail", Uuid::nil()),
            EventData::Ping(d) => ("subscription", d.subscription_id),
        }
    }

    pub fn type_name(&self) -> &'static str {
        self.event_type().map_or("ping", EventType::name)
    }

    pub fn version(&self) -> i32 {
        self.event_type().map_or(1, EventType::version)
    }

    /// The document sent to receivers: `{"id", "type", "version", "timestamp", "data"}`.
    pub fn envelope(&self, id: Uuid, at: DateTime<Utc>) -> serde_json::Value {
        let mut doc = serde_json::to_value(self).unwrap_or_default();
        if let Some(o) = doc.as_object_mut() {
            o.insert("id".into(), serde_json::json!(id));
            o.insert("version".into(), serde_json::json!(self.version()));
            o.insert(
                "timestamp".into(),
                serde_json::json!(at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
            );
        }
        doc
    }
}

/// Longest subscription URL.
pub const URL_MAX_CHARS: usize = 2000;
/// Longest description.
pub const DESCRIPTION_MAX_CHARS: usize = 500;

/// Where to push which of the organization's events.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://hooks.example.com/revcycle", "event_types": ["claim.status_changed", "remittance.posted"],
    "description": "Billing app", "paused": false}))]
pub struct SubscriptionInput {
    /// `https://...` (plain `http://` only to a loopback address). Its host must not resolve
    /// to a loopback, private, link-local, unspecified or multicast address unless the
    /// operator allowed it (`events_allowed_hosts`).
    #[schema(
        min_length = 1,
        max_length = 2000,
        example = "https://hooks.example.com/revcycle"
    )]
    pub url: String,
    /// At least one event type.
    #[schema(min_items = 1)]
    pub event_types: Vec<EventType>,
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// A paused subscription keeps its events and sends them when unpaused.
    #[serde(default)]
    pub paused: bool,
}

impl Rules for SubscriptionInput {
    fn check(&self, e: &mut Errors) {
        check_url_form(&self.url, e);
        e.check(
            !self.event_types.is_empty(),
            "/event_types",
            "must name at least one event type",
        );
        let mut seen = std::collections::HashSet::new();
        for (i, t) in self.event_types.iter().enumerate() {
            e.check(
                seen.insert(*t),
                format!("/event_types/{i}"),
                "is given twice",
            );
        }
        if let Some(d) = &self.description {
            e.check(
                d.chars().count() <= DESCRIPTION_MAX_CHARS,
                "/description",
                format!("must be at most {DESCRIPTION_MAX_CHARS} characters"),
            );
        }
    }
}

/// The URL's form alone (scheme, host, length); where its host points is checked apart.
pub fn check_url_form(url: &str, e: &mut Errors) {
    if url.chars().count() > URL_MAX_CHARS {
        e.add(
            "/url",
            format!("must be at most {URL_MAX_CHARS} characters"),
        );
        return;
    }
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
        e.add("/url", "must be an https:// URL");
    }
}

/// A subscription as the API shows it. The signing secret is shown once, when created or
/// rotated.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Subscription {
    pub id: Uuid,
    pub url: String,
    pub event_types: Vec<EventType>,
    pub description: Option<String>,
    pub paused: bool,
    /// `active`, `paused`, or `disabled` (after sustained failure; a `PUT` with
    /// `"paused": false` enables it again).
    #[schema(example = "active")]
    pub status: String,
    /// Why deliveries stopped, when `disabled`.
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    /// Deliveries have failed since this time (cleared by a success).
    pub failing_since: Option<DateTime<Utc>>,
    /// Until this time the previous secret also signs (after a rotation).
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A subscription with its signing secret: the answer to its creation and to a rotation,
/// the only times the secret is shown.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SubscriptionWithSecret {
    #[serde(flatten)]
    pub subscription: Subscription,
    /// `whsec_` and the base64 of the key bytes (Standard Webhooks). Keep it secret; it is
    /// not shown again.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
}

/// One attempt to deliver an event. The receiver's response body is never kept.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeliveryAttempt {
    /// 1 for the first.
    pub attempt: i32,
    /// The receiver's HTTP status, when it answered.
    pub status_code: Option<i32>,
    /// What failed when it did not answer (`timeout`, `connect`, `refused_address`, ...).
    pub error: Option<String>,
    pub latency_ms: i64,
    pub at: DateTime<Utc>,
}

/// An event's delivery to one subscription, with its attempts.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Delivery {
    pub id: Uuid,
    pub subscription_id: Uuid,
    pub event_id: Uuid,
    #[schema(example = "claim.status_changed")]
    pub event_type: String,
    /// `pending` (to be tried, again or for the first time), `held` (waiting while the
    /// subscription is paused or disabled: pending again once it is active), `delivered`,
    /// `failed` (retries exhausted) or `canceled` (the subscription was deleted).
    #[schema(example = "delivered")]
    pub state: String,
    pub attempts: i32,
    /// When it is tried next, while pending or held.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<i32>,
    pub attempt_log: Vec<DeliveryAttempt>,
    pub created_at: DateTime<Utc>,
}

// A subscription holds no patient data: nothing to mask, nothing disclosed.
impl crate::model::Versioned for SubscriptionWithSecret {
    fn id(&self) -> Uuid {
        self.subscription.id
    }
    fn version(&self) -> i32 {
        self.subscription.version
    }
}

impl crate::access::Mask for SubscriptionWithSecret {
    fn mask(&mut self, _: &crate::access::View) {}
}

impl crate::audit::Discloses for SubscriptionWithSecret {
    fn disclose(&self, _: &mut crate::audit::Disclosed) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_names_its_type_and_version_and_holds_the_data() {
        let id = Uuid::now_v7();
        let claim = Uuid::now_v7();
        let data = EventData::ClaimStatusChanged(ClaimStatusChanged {
            claim_id: claim,
            from: ClaimStatus::Ready,
            to: ClaimStatus::Submitted,
            remittance_id: None,
        });
        let at = DateTime::parse_from_rfc3339("2026-12-07T01:02:03Z")
            .unwrap()
            .with_timezone(&Utc);
        let doc = data.envelope(id, at);
        assert_eq!(doc["type"], "claim.status_changed");
        assert_eq!(doc["version"], 1);
        assert_eq!(doc["id"], id.to_string());
        assert_eq!(doc["timestamp"], "2026-12-07T01:02:03.000000Z");
        assert_eq!(doc["data"]["claim_id"], claim.to_string());
        assert_eq!(doc["data"]["to"], "submitted");
        let back: EventData = serde_json::from_value(doc).unwrap();
        assert_eq!(back, data);
        assert_eq!(data.resource(), ("claim", claim));
    }

    #[test]
    fn every_type_parses_from_its_name() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.name()), Some(*t));
            let json = serde_json::to_value(t).unwrap();
            assert_eq!(json, t.name());
        }
        assert_eq!(EventType::parse("ping"), None);
    }
}
