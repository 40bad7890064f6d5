//! The payer side of the connector plugins (X12): importing 835 remittances, submitting claims
//! as 837P files into the payer's outbox, and polling its inbox for 835s, 999/TA1
//! acknowledgments and 277CA claim acknowledgments.
//!
//! The plugin builds and parses X12; this module moves files and applies results through
//! `core` (encryption, lifecycle, posting) with each write's audit event in its transaction.
//! Raw X12 holds PHI: it is stored only encrypted (`x12_exchanges`) and never logged.
//!
//! Transports, from the payer plugin's `config` in `connectors.toml` (the README's "Payer
//! connector" section has a worked example). At the connector level, the default for every
//! payer: `outbox` (directory for 837P files) or `submit_url` (HTTP POST of the 837P to a
//! clearinghouse API), `clearinghouse_url` (real-time 270/276), `bearer_token_file` or
//! `bearer_token_env` (the token those URLs get; never the token itself), `inbox` (directory
//! polled for files from the payer), `poll_seconds` (default 5) and `org` (the organization
//! the inboxes belong to; defaults to the only one). Under `payers."<payer uuid or payer
//! code>"`, a payer's own `outbox` or `submit_url` (with its own token), `clearinghouse_url`,
//! `inbox`, `sender_id`, `receiver_id` and `receiver_name`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use revcycle_connector_abi::canonical::v1 as canonical;
use revcycle_connector_abi::ffi::ConnectorKind;
use revcycle_connector_abi::host::ConnectorInstance;
use revcycle_core::access::{Mask, OrgId, Principal, Role, View};
use revcycle_core::audit::{Disclosed, Discloses};
use revcycle_core::billing::lifecycle;
use revcycle_core::billing::scrub::Severity;
use revcycle_core::error::{CoreError, CoreResult};
use revcycle_core::model::claim::{Claim, ClaimStatus};
use revcycle_core::store::x12_exchanges::{self, ExchangeInput};
use revcycle_core::store::{
    self, DbConnection, KeyRing, ListParams, billing, claims, coverages, patients, payers,
    providers,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{State, invoke};

mod real_time_check;
mod remit;
use crate::audit::AuditCtx;
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;
pub use remit::{
    ImportedRemittance, RemittanceImport, ResolveInput, Resolved, import_835, resolve_named,
    resolve_unidentified,
};

/// Where a bearer token is read from when a request is made (never the TOML itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    File(PathBuf),
    Env(String),
}

impl TokenSource {
    /// The token, read now (a rotated file is picked up on the next request). A file must
    /// not be readable by group or others.
    fn read(&self) -> Result<String, String> {
        let token = match self {
            TokenSource::File(path) => {
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let meta = std::fs::metadata(path)
                        .map_err(|e| format!("bearer token file: {}", e.kind()))?;
                    if meta.permissions().mode() & 0o077 != 0 {
                        return Err(
                            "the bearer token file is readable or writable by group or others \
                             (chmod 600 it)"
                                .into(),
                        );
                    }
                }
                std::fs::read_to_string(path)
                    .map_err(|e| format!("bearer token file: {}", e.kind()))?
            }
            TokenSource::Env(name) => std::env::var(name)
                .map_err(|_| format!("the bearer token variable {name} is not set"))?,
        };
        let token = token.trim().to_string();
        if token.is_empty() || token.chars().any(|c| c.is_control() || c == ' ') {
            return Err("the bearer token is empty or not one line".into());
        }
        Ok(token)
    }
}

/// An HTTP endpoint of a clearinghouse API and the token it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub url: String,
    pub token: Option<TokenSource>,
}

/// How 837Ps reach a payer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submission {
    Outbox(PathBuf),
    Http(Endpoint),
}

/// The transport of one payer (or, at the connector level, of every payer without an entry).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Route {
    pub submission: Option<Submission>,
    pub clearinghouse: Option<Endpoint>,
    pub inbox: Option<PathBuf>,
    /// ISA06/GS02 for this payer's files (the plugin's `sender_id` otherwise).
    pub sender_id: Option<String>,
    pub receiver_id: Option<String>,
    pub receiver_name: Option<String>,
}

const ROUTE_KEYS: &[&str] = &[
    "outbox",
    "submit_url",
    "clearinghouse_url",
    "bearer_token_file",
    "bearer_token_env",
    "inbox",
    "sender_id",
    "receiver_id",
    "receiver_name",
    "org",
];

impl Route {
    /// One level of configuration; `what` names it in errors (never a value).
    fn of(config: &Value, what: &str) -> Result<Route, String> {
        if config.get("bearer_token").is_some() {
            return Err(format!(
                "{what}: a bearer_token in connectors.toml is refused; give bearer_token_file \
                 (mode 0600) or bearer_token_env"
            ));
        }
        let text = |k: &str| -> Result<Option<String>, String> {
            match config.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_string())),
                Some(_) => Err(format!("{what}: {k} must be a non-empty string")),
            }
        };
        let token = match (text("bearer_token_file")?, text("bearer_token_env")?) {
            (Some(_), Some(_)) => {
                return Err(format!(
                    "{what}: give bearer_token_file or bearer_token_env, not both"
                ));
            }
            (Some(f), None) => Some(TokenSource::File(PathBuf::from(f))),
            (None, Some(v)) => Some(TokenSource::Env(v)),
            (None, None) => None,
        };
        let url = |k: &str| -> Result<Option<Endpoint>, String> {
            let Some(u) = text(k)? else {
                return Ok(None);
            };
            let parsed =
                reqwest::Url::parse(&u).map_err(|_| format!("{what}: {k} is not a URL"))?;
            if parsed.scheme() != "https" && !is_loopback(&parsed) {
                return Err(format!(
                    "{what}: {k} must be https (plain http only on loopback)"
                ));
            }
            Ok(Some(Endpoint {
                url: u.trim_end_matches('/').to_string(),
                token: token.clone(),
            }))
        };
        let submission = match (text("outbox")?, url("submit_url")?) {
            (Some(_), Some(_)) => {
                return Err(format!("{what}: give outbox or submit_url, not both"));
            }
            (Some(dir), None) => Some(Submission::Outbox(PathBuf::from(dir))),
            (None, Some(e)) => Some(Submission::Http(e)),
            (None, None) => None,
        };
        for (k, max) in [
            ("sender_id", 15),
            ("receiver_id", 15),
            ("receiver_name", 60),
        ] {
            if text(k)?.is_some_and(|v| v.len() > max) {
                return Err(format!("{what}: {k} has more than {max} characters"));
            }
        }
        Ok(Route {
            submission,
            clearinghouse: url("clearinghouse_url")?,
            inbox: text("inbox")?.map(PathBuf::from),
            sender_id: text("sender_id")?,
            receiver_id: text("receiver_id")?,
            receiver_name: text("receiver_name")?,
        })
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host_str() {
        Some("localhost") => true,
        Some(h) => h
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

/// An inbox directory to poll, and the organization its files belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbox {
    pub dir: PathBuf,
    pub org: Option<Uuid>,
}

/// Where the payer connector moves files: the connector-level default and each payer's own.
#[derive(Debug, Clone, Default)]
pub struct Transport {
    pub default: Route,
    /// Keyed by payer id (UUID) or payer code (the payer's X12 id), as configured.
    pub payers: Vec<(String, Route)>,
    pub poll: Duration,
    pub org: Option<Uuid>,
    /// The plugin's own `sender_id` (ISA06 when a payer has none of its own).
    pub sender_id: String,
    /// Payer entries whose org differs from the connector's, for their inboxes.
    payer_orgs: Vec<(String, Uuid)>,
}

impl Transport {
    pub fn of(config: &Value) -> Result<Transport, String> {
        let org = |v: &Value, what: &str| -> Result<Option<Uuid>, String> {
            match v.get("org") {
                None => Ok(None),
                Some(o) => o
                    .as_str()
                    .and_then(|s| Uuid::parse_str(s).ok())
                    .map(Some)
                    .ok_or_else(|| format!("{what}: org must be an organization id")),
            }
        };
        let mut payers = Vec::new();
        let mut payer_orgs = Vec::new();
        match config.get("payers") {
            None => {}
            Some(Value::Object(map)) => {
                for (key, entry) in map {
                    let what = &format!("payers.\"{key}\"");
                    let Some(fields) = entry.as_object() else {
                        return Err("payers: each entry must be a table".into());
                    };
                    if let Some(k) = fields
                        .keys()
                        .find(|k| !ROUTE_KEYS.contains(&k.as_str()) && *k != "bearer_token")
                    {
                        return Err(format!("{what}: unknown key {k}"));
                    }
                    if key.trim().is_empty() {
                        return Err("payers: an entry has an empty key".into());
                    }
                    if let Some(o) = org(entry, what)? {
                        payer_orgs.push((key.trim().to_string(), o));
                    }
                    payers.push((key.trim().to_string(), Route::of(entry, what)?));
                }
            }
            Some(_) => return Err("payers must be a table of payer entries".into()),
        }
        Ok(Transport {
            default: Route::of(config, "connector config")?,
            payers,
            poll: Duration::from_secs(
                config
                    .get("poll_seconds")
                    .and_then(Value::as_u64)
                    .unwrap_or(5)
                    .max(1),
            ),
            org: org(config, "connector config")?,
            sender_id: config
                .get("sender_id")
                .and_then(Value::as_str)
                .unwrap_or("REVCYCLE")
                .to_string(),
            payer_orgs,
        })
    }

    /// The payer's own entry, by its id or its payer code (case-insensitive), if it has one.
    fn entry(&self, payer_id: Uuid, payer_code: Option<&str>) -> Option<&Route> {
        let id = payer_id.to_string();
        self.payers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(&id))
            .or_else(|| {
                let code = payer_code?.trim();
                self.payers
                    .iter()
                    .find(|(k, _)| !code.is_empty() && k.eq_ignore_ascii_case(code))
            })
            .map(|(_, r)| r)
    }

    /// The transport for one payer: its entry where it says, the connector's default for the
    /// rest. A URL comes with the token of the level that names it (a payer's endpoint never
    /// gets the default token, nor the default endpoint a payer's).
    pub fn route(&self, payer_id: Uuid, payer_code: Option<&str>) -> Route {
        let Some(own) = self.entry(payer_id, payer_code) else {
            return self.default.clone();
        };
        Route {
            submission: own
                .submission
                .clone()
                .or_else(|| self.default.submission.clone()),
            clearinghouse: own
                .clearinghouse
                .clone()
                .or_else(|| self.default.clearinghouse.clone()),
            inbox: own.inbox.clone().or_else(|| self.default.inbox.clone()),
            sender_id: own
                .sender_id
                .clone()
                .or_else(|| self.default.sender_id.clone()),
            receiver_id: own
                .receiver_id
                .clone()
                .or_else(|| self.default.receiver_id.clone()),
            receiver_name: own
                .receiver_name
                .clone()
                .or_else(|| self.default.receiver_name.clone()),
        }
    }

    /// ISA06 of a route's files: the counter its control numbers come from.
    pub fn sender_of(&self, route: &Route) -> String {
        route
            .sender_id
            .clone()
            .unwrap_or_else(|| self.sender_id.clone())
    }

    /// Whether any payer can be submitted to at all.
    fn can_submit(&self) -> bool {
        self.default.submission.is_some() || self.payers.iter().any(|(_, r)| r.submission.is_some())
    }

    /// Every inbox to poll (the connector's and the payers' own), each once.
    pub fn inboxes(&self) -> Vec<Inbox> {
        let mut out: Vec<Inbox> = Vec::new();
        let mut add = |dir: &PathBuf, org: Option<Uuid>| {
            if !out.iter().any(|i| &i.dir == dir) {
                out.push(Inbox {
                    dir: dir.clone(),
                    org,
                });
            }
        };
        if let Some(d) = &self.default.inbox {
            add(d, self.org);
        }
        for (key, r) in &self.payers {
            if let Some(d) = &r.inbox {
                let org = self
                    .payer_orgs
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, o)| *o)
                    .or(self.org);
                add(d, org);
            }
        }
        out
    }
}

/// The loaded payer (X12) connector and its transport.
pub struct PayerLink {
    pub name: String,
    pub instance: Arc<ConnectorInstance>,
    pub transport: Transport,
}

/// The payer connector: the one named `x12`, else the first loaded payer connector that parses
/// remittances.
pub fn payer_link(state: &AppState) -> ApiResult<PayerLink> {
    let mut candidates: Vec<_> = state
        .connectors
        .list
        .iter()
        .filter_map(|c| match &c.state {
            State::Loaded {
                kind: ConnectorKind::Payer,
                operations,
                instance,
                ..
            } if operations.iter().any(|o| o == "parse_remittance") => {
                Some((c.name.clone(), instance.clone(), &c.config))
            }
            _ => None,
        })
        .collect();
    let chosen = match candidates.iter().position(|c| c.0 == "x12") {
        Some(i) => candidates.swap_remove(i),
        None => candidates.into_iter().next().ok_or_else(|| {
            ApiError::Core(CoreError::Unavailable(
                "no payer (X12) connector is loaded; see GET /v1/connectors".into(),
            ))
        })?,
    };
    let (name, instance, config) = chosen;
    let transport = Transport::of(config).map_err(|reason| {
        ApiError::Core(CoreError::Unavailable(format!(
            "the payer connector's transport configuration is refused: {reason}"
        )))
    })?;
    Ok(PayerLink {
        name,
        instance,
        transport,
    })
}

async fn call(
    state: &AppState,
    link: &PayerLink,
    op: &'static str,
    input: Vec<u8>,
) -> ApiResult<Value> {
    let out = invoke(link.instance.clone(), op, input, state.connectors.timeout).await?;
    serde_json::from_slice(&out)
        .map_err(|_| ApiError::BadGateway("the connector's output is not JSON".into()))
}

/// ISA13 and GS06 of a file, when it has them (no other element is read).
fn control_numbers(raw: &[u8]) -> (Option<String>, Option<String>) {
    let text = String::from_utf8_lossy(raw);
    let text = text.trim_start();
    if !text.starts_with("ISA") || text.len() < 106 {
        return (None, None);
    }
    let element = text.as_bytes()[3] as char;
    let terminator = text.as_bytes()[105] as char;
    let isa: Vec<&str> = text[..105].split(element).collect();
    let icn = isa.get(13).map(|s| s.trim().to_string());
    let gcn = text[106..]
        .split(terminator)
        .map(str::trim)
        .find(|s| s.starts_with("GS"))
        .and_then(|gs| gs.split(element).nth(6).map(str::to_string));
    (icn, gcn)
}

/// The transaction set id (ST01) of a file: `835`, `999`, `277`...; `TA1` for a bare TA1.
fn transaction_kind(raw: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(raw);
    let text = text.trim_start();
    if !text.starts_with("ISA") || text.len() < 106 {
        return None;
    }
    let element = text.as_bytes()[3] as char;
    let terminator = text.as_bytes()[105] as char;
    let mut ta1 = false;
    for seg in text[106..].split(terminator).map(str::trim) {
        let mut parts = seg.split(element);
        match parts.next() {
            Some("ST") => return parts.next().map(str::to_string),
            Some("TA1") => ta1 = true,
            _ => {}
        }
    }
    ta1.then(|| "TA1".to_string())
}

// ---------------------------------------------------------------------------------------------
// Claim submission

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
                (1..=200).contains(&ids.len()),
                "/claim_ids",
                "between 1 and 200 claims per submission",
            ),
            None => {}
        }
    }
}

/// What became of one claim.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SubmittedClaim {
    pub claim_id: Uuid,
    /// `submitted`; `refused` (see findings); or `not_sent`: its payer's transport failed,
    /// the claim stays `ready` and can be submitted again.
    pub status: &'static str,
    pub patient_control_number: Option<String>,
    /// Why it was refused or not sent: the scrubber's errors, or one finding naming the
    /// problem.
    pub findings: Vec<Finding>,
    /// The exchange (file or HTTP transmission) it went in, or was attempted in.
    pub exchange_id: Option<Uuid>,
    #[serde(skip)]
    pub patient_id: Option<Uuid>,
}

/// One 837P interchange of a submission: one per payer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SubmittedExchange {
    pub exchange_id: Uuid,
    pub payer_id: Uuid,
    /// `outbox` or `http`.
    pub transport: String,
    /// The file's name in the outbox (outbox transport).
    pub file_name: Option<String>,
    pub interchange_control_number: String,
    /// `sent`, or `failed` (nothing was delivered; its claims stay `ready`).
    pub status: String,
    /// Why it failed (HTTP status or unreachable), or what the clearinghouse's
    /// acknowledgment in the response said.
    pub detail: Option<String>,
    pub claim_ids: Vec<Uuid>,
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

/// Why a claim was not submitted: a scrubber edit, or a submission check.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Finding {
    pub edit: String,
    /// `error`.
    pub severity: String,
    /// RFC 6901 pointer into the claim (or the related record) to what must change.
    pub pointer: String,
    pub message: String,
}

fn finding(edit: &str, message: &str) -> Finding {
    Finding {
        edit: edit.to_string(),
        severity: "error".into(),
        pointer: String::new(),
        message: message.to_string(),
    }
}

fn person_name(family: &str, given: &str, middle: Option<&str>) -> canonical::PersonName {
    let mut g = vec![given.to_string()];
    if let Some(m) = middle.filter(|m| !m.is_empty()) {
        g.push(m.to_string());
    }
    canonical::PersonName {
        family: family.to_string(),
        given: g,
        ..Default::default()
    }
}

fn address(a: &revcycle_core::model::common::Address) -> canonical::Address {
    let mut lines = vec![a.line1.clone()];
    if let Some(l2) = a.line2.as_ref().filter(|l| !l.is_empty()) {
        lines.push(l2.clone());
    }
    canonical::Address {
        lines,
        city: a.city.clone(),
        state: a.state.text(),
        postal_code: a.zip.text().replace('-', ""),
        country: None,
    }
}

/// Serialised code values as their text.
mod erased {
    pub trait Str {
        fn text(&self) -> String;
    }
    impl<T: serde::Serialize> Str for T {
        fn text(&self) -> String {
            match serde_json::to_value(self) {
                Ok(serde_json::Value::String(s)) => s,
                Ok(other) => other.to_string(),
                Err(_) => String::new(),
            }
        }
    }
}
pub(super) use erased::Str;

fn sex(code: &str) -> canonical::Sex {
    match code {
        "F" => canonical::Sex::Female,
        "M" => canonical::Sex::Male,
        _ => canonical::Sex::Unknown,
    }
}

fn provider_ref(p: &revcycle_core::model::provider::Provider) -> canonical::ProviderRef {
    canonical::ProviderRef {
        npi: p.npi.text(),
        name: p.organization_name.clone().or_else(|| p.last_name.clone()),
        first_name: if p.organization_name.is_some() {
            None
        } else {
            p.first_name.clone()
        },
        taxonomy_code: p.taxonomy.as_ref().map(Str::text),
    }
}

fn demographics(patient: &revcycle_core::model::patient::Patient) -> canonical::Demographics {
    canonical::Demographics {
        name: person_name(
            &patient.family_name,
            &patient.given_name,
            patient.middle_name.as_deref(),
        ),
        birth_date: Some(patient.birth_date.to_string()),
        sex: sex(&patient.sex.text()),
        address: patient.address.as_ref().map(address),
    }
}

/// The subscriber of a coverage (the patient when the relationship is `self`) and the
/// relationship code.
pub(super) fn subscriber_of(
    coverage: &revcycle_core::model::coverage::Coverage,
    patient: &canonical::Demographics,
) -> (canonical::Subscriber, String) {
    let relationship = coverage.relationship.text();
    let subscriber = match (&coverage.subscriber, relationship.as_str()) {
        (Some(s), r) if r != "self" => canonical::Subscriber {
            member_id: Some(coverage.member_id.clone()),
            name: person_name(&s.family_name, &s.given_name, None),
            birth_date: Some(s.birth_date.to_string()),
            sex: sex(&s.sex.text()),
            address: s.address.as_ref().map(address),
        },
        _ => canonical::Subscriber {
            member_id: Some(coverage.member_id.clone()),
            name: patient.name.clone(),
            birth_date: patient.birth_date.clone(),
            sex: patient.sex,
            address: patient.address.clone(),
        },
    };
    (subscriber, relationship)
}

/// The canonical submission of a stored claim: patient, coverage and subscriber decrypted
/// through `core`, payer and providers as set up.
fn claim_submission(
    conn: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    claim: &Claim,
) -> CoreResult<(canonical::ClaimSubmission, Uuid)> {
    let payer_id = claim
        .payer_id
        .ok_or_else(|| CoreError::invalid("/payer_id", "the claim has no payer"))?;
    let payer = payers::get(conn, org, payer_id)?;
    let coverage_id = claim
        .coverage_id
        .ok_or_else(|| CoreError::invalid("/coverage_id", "the claim has no coverage"))?;
    let coverage = coverages::get(conn, keyring, org, coverage_id)?;
    let patient = patients::get(conn, keyring, org, claim.patient_id)?;
    let billing = providers::get(conn, org, claim.billing_provider_id)?;
    let rendering = match claim.rendering_provider_id {
        Some(id) => Some(providers::get(conn, org, id)?),
        None => None,
    };
    let patient_demo = demographics(&patient);
    let (subscriber, relationship) = subscriber_of(&coverage, &patient_demo);
    let mut value = json!({
        "claim_control_number": claim.patient_control_number,
        "frequency_code": claim.frequency_code.text(),
        "original_claim_number": claim.original_reference,
        "billing_provider": {
            "name": billing.organization_name.clone()
                .or_else(|| billing.last_name.clone()).unwrap_or_default(),
            "npi": billing.npi.text(),
            "tin": billing.tin.as_ref().map(Str::text).unwrap_or_default().replace('-', ""),
            "taxonomy_code": billing.taxonomy.as_ref().map(Str::text),
            "address": address(&billing.address),
        },
        "rendering_provider": rendering.as_ref().map(provider_ref),
        "payer": {"name": payer.name, "payer_id": payer.payer_code},
        "priority": coverage.priority.text(),
        "subscriber": subscriber,
        "group_number": coverage.group_number,
        "relationship": relationship,
        "place_of_service": claim.place_of_service.text(),
        "total_charge": claim.total_charge.to_string(),
        "diagnoses": claim.diagnoses.iter().map(Str::text).collect::<Vec<_>>(),
        "lines": claim.lines.iter().map(|l| json!({
            "line_number": l.line_number,
            "procedure_code": l.line.procedure_code.text(),
            "modifiers": l.line.modifiers.iter().map(Str::text).collect::<Vec<_>>(),
            "units": l.line.units.text(),
            "charge": l.line.charge.to_string(),
            "diagnosis_pointers": l.line.diagnosis_pointers,
            "service_date": l.line.service_date.unwrap_or(claim.service_date_from).to_string(),
            "line_control_number": l.control_number(),
        })).collect::<Vec<_>>(),
        "prior_authorization": claim.prior_authorization,
        "accepts_assignment": true,
        "benefits_assigned": true,
        "release_of_information": true,
    });
    if relationship != "self" {
        value["patient"] = serde_json::to_value(&patient_demo).unwrap_or(Value::Null);
    }
    let mut submission: canonical::ClaimSubmission = serde_json::from_value(value)
        .map_err(|_| CoreError::Internal("the claim does not map to a submission".into()))?;
    // A secondary or tertiary claim carries the earlier payers' decisions (2320/2330/2430).
    submission.prior_payers = super::cob::prior_payers(conn, keyring, org, &patient_demo, claim)?;
    Ok((submission, claim.patient_id))
}

/// A claim cleared for submission: the stored claim, its canonical submission, its patient.
type ReadyClaim = (Claim, canonical::ClaimSubmission, Uuid);

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
    // 1. Scrub and build, reading only.
    let (mut results, ready) = web::block(move || -> CoreResult<_> {
        let mut conn = pool
            .get()
            .map_err(|e| CoreError::Unavailable(format!("database: {e}")))?;
        let conn = &mut conn;
        let ids: Vec<Uuid> = match (&input.claim_ids, input.payer_id) {
            (Some(ids), _) => ids.clone(),
            (None, Some(payer)) => {
                let filter = claims::ClaimFilter {
                    payer_id: Some(payer),
                    status: Some(ClaimStatus::Ready),
                    ..Default::default()
                };
                let page = ListParams {
                    limit: Some(200),
                    cursor: None,
                };
                claims::list(conn, org, &filter, &page)?
                    .items
                    .into_iter()
                    .map(|c| c.id)
                    .collect()
            }
            (None, None) => Vec::new(),
        };
        if ids.is_empty() || ids.len() > 200 {
            return Err(CoreError::invalid(
                "/claim_ids",
                "between 1 and 200 claims per submission",
            ));
        }
        let mut results = Vec::new();
        let mut ready: Vec<ReadyClaim> = Vec::new();
        for id in ids {
            let claim = match claims::get(conn, org, id) {
                Ok(c) => c,
                Err(CoreError::NotFound { .. }) => {
                    results.push(SubmittedClaim {
                        claim_id: id,
                        status: "refused",
                        patient_control_number: None,
                        findings: vec![finding("claim.not_found", "no such claim")],
                        exchange_id: None,
                        patient_id: None,
                    });
                    continue;
                }
                Err(e) => return Err(e),
            };
            let refuse = |findings| SubmittedClaim {
                claim_id: id,
                status: "refused",
                patient_control_number: Some(claim.patient_control_number.clone()),
                findings,
                exchange_id: None,
                patient_id: Some(claim.patient_id),
            };
            if claim.status != ClaimStatus::Ready {
                results.push(refuse(vec![finding(
                    "claim.not_ready",
                    &format!(
                        "the claim is {}; only ready claims are submitted",
                        claim.status.text()
                    ),
                )]));
                continue;
            }
            // A ready claim is only scrubbed: nothing is written.
            let scrub = billing::scrub_claim(conn, &keyring, org, id, today, &actor)?;
            let errors: Vec<Finding> = scrub
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
                .map(|f| Finding {
                    edit: f.edit.to_string(),
                    severity: "error".into(),
                    pointer: f.pointer.clone(),
                    message: f.message.clone(),
                })
                .collect();
            if !errors.is_empty() {
                results.push(refuse(errors));
                continue;
            }
            match claim_submission(conn, &keyring, org, &claim) {
                Ok((s, patient)) => ready.push((claim.clone(), s, patient)),
                Err(CoreError::Invalid(errs)) => results.push(refuse(
                    errs.iter()
                        .map(|e| Finding {
                            edit: "submission.data".into(),
                            severity: "error".into(),
                            pointer: e.pointer.clone(),
                            message: e.message.clone(),
                        })
                        .collect(),
                )),
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
            for (claim, _, patient) in items {
                results.push(SubmittedClaim {
                    claim_id: claim.id,
                    status: "refused",
                    patient_control_number: Some(claim.patient_control_number.clone()),
                    findings: vec![finding(
                        "submission.transport",
                        "no outbox or submit_url is configured for this claim's payer",
                    )],
                    exchange_id: None,
                    patient_id: Some(patient),
                });
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

/// One payer's claims and how they travel.
struct Group {
    payer_id: Uuid,
    route: Route,
    /// ISA06: whose control number counter is used.
    sender: String,
    items: Vec<ReadyClaim>,
}

/// Takes the next interchange control number of `sender` in its own short write transaction
/// (committed before the file is built, so no lock is held across the plugin or the network).
async fn allocate_control_number(state: &AppState, sender: String) -> ApiResult<u32> {
    let pool = state.pool.clone();
    web::block(move || -> CoreResult<u32> {
        let mut conn = pool
            .get()
            .map_err(|e| CoreError::Unavailable(format!("database: {e}")))?;
        store::write_transaction(&mut conn, |c| {
            x12_exchanges::allocate_control_number(c, &sender)
        })
    })
    .await
    .map_err(|_| ApiError::Internal)?
    .map_err(ApiError::from)
}

/// The 837P of a group, built by the plugin with the payer's envelope ids.
async fn build_837p(
    state: &AppState,
    link: &PayerLink,
    group: &Group,
    control: u32,
) -> ApiResult<String> {
    let submissions: Vec<&canonical::ClaimSubmission> =
        group.items.iter().map(|(_, s, _)| s).collect();
    let mut request = json!({"claims": submissions, "control_number": control,
                             "sender_id": group.sender});
    if let Some(r) = &group.route.receiver_id {
        request["receiver_id"] = json!(r);
    }
    if let Some(r) = &group.route.receiver_name {
        request["receiver_name"] = json!(r);
    }
    let out = call(
        state,
        link,
        "submit_claims",
        serde_json::to_vec(&request).map_err(|_| ApiError::Internal)?,
    )
    .await?;
    out.get("x12")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| ApiError::BadGateway("the connector returned no 837P".into()))
}

/// In the caller's transaction: moves a group's claims to `submitted` with their audit events.
#[allow(clippy::too_many_arguments)]
fn mark_submitted(
    c: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    audit: &AuditCtx,
    actor: &str,
    items: &[ReadyClaim],
    icn: &str,
    exchange_id: Uuid,
) -> CoreResult<Vec<SubmittedClaim>> {
    let mut submitted = Vec::new();
    for (claim, _, patient) in items {
        let t = billing::transition(
            c,
            keyring,
            org,
            claim.id,
            ClaimStatus::Submitted,
            actor,
            Some(format!("837P interchange {icn}")),
            None,
        )?;
        audit
            .with("submit", "Claim")
            .append_in_tx(c, 200, Some(claim.id), &Disclosed::of(&t))?;
        submitted.push(SubmittedClaim {
            claim_id: claim.id,
            status: "submitted",
            patient_control_number: Some(claim.patient_control_number.clone()),
            findings: Vec::new(),
            exchange_id: Some(exchange_id),
            patient_id: Some(*patient),
        });
    }
    Ok(submitted)
}

fn exchange_of(group: &Group, transport: &str, icn: &str, control: u32) -> ExchangeInput {
    ExchangeInput {
        direction: "out",
        kind: "837".into(),
        file_name: None,
        interchange_control_number: Some(icn.to_string()),
        group_control_number: Some(control.to_string()),
        transaction_control_number: Some(format!("{:04}", control % 10_000)),
        claim_ids: group.items.iter().map(|(c, _, _)| c.id).collect(),
        status: "sent".into(),
        payer_id: Some(group.payer_id),
        transport: Some(transport.into()),
        answers: Vec::new(),
        detail: None,
    }
}

/// Outbox: the file is written under a hidden temporary name (a transfer agent skips dot
/// files) and renamed into place only once its claims are recorded as submitted, so a failure
/// on either side never leaves a sent file for claims still `ready`.
async fn send_to_outbox(
    state: &AppState,
    link: &PayerLink,
    who: &Principal,
    audit: &AuditCtx,
    group: Group,
    outbox: PathBuf,
) -> ApiResult<(SubmittedExchange, Vec<SubmittedClaim>)> {
    let org = who.org;
    let control = allocate_control_number(state, group.sender.clone()).await?;
    let x12 = build_837p(state, link, &group, control).await?;
    let icn = format!("{control:09}");
    let file_name = format!("837P-{icn}-{}.x12", Uuid::now_v7().simple());
    let path = outbox.join(&file_name);
    let tmp = outbox.join(format!(".{file_name}.tmp"));
    let bytes = x12.clone().into_bytes();
    let tmp2 = tmp.clone();
    web::block(move || -> std::io::Result<()> {
        // The 837P holds PHI: a private directory, a file only the server's user reads.
        crate::files::private_dir(tmp2.parent().unwrap_or(Path::new(".")))?;
        crate::files::write_private(&tmp2, &bytes)
    })
    .await
    .map_err(|_| ApiError::Internal)?
    .map_err(|e| {
        tracing::error!(error = %e.kind(), "writing an 837P into the outbox failed");
        ApiError::Core(CoreError::Unavailable(
            "the outbox cannot be written".into(),
        ))
    })?;
    let keyring = state.keyring.clone();
    let pool = state.pool.clone();
    let actor = who.subject.clone();
    let mut input = exchange_of(&group, "outbox", &icn, control);
    input.file_name = Some(file_name.clone());
    let audit = audit.clone();
    let icn2 = icn.clone();
    let claim_ids = input.claim_ids.clone();
    let recorded = web::block(move || -> CoreResult<_> {
        let mut conn = pool
            .get()
            .map_err(|e| CoreError::Unavailable(format!("database: {e}")))?;
        store::write_transaction(&mut conn, |c| {
            let e = x12_exchanges::record(c, &keyring, org, &input, x12.as_bytes())?;
            audit.with("x12.send", "X12Exchange").append_in_tx(
                c,
                201,
                Some(e.id),
                &Disclosed::default(),
            )?;
            let submitted =
                mark_submitted(c, &keyring, org, &audit, &actor, &group.items, &icn2, e.id)?;
            Ok((e.id, submitted))
        })
    })
    .await
    .map_err(|_| ApiError::Internal)?;
    let (exchange_id, submitted) = match recorded {
        Ok(done) => done,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e.into());
        }
    };
    if let Err(e) = std::fs::rename(&tmp, &path) {
        // Recorded as submitted but not in place: say so loudly (no PHI in the message).
        tracing::error!(error = %e.kind(), file = %file_name, "moving an 837P into the outbox failed; the claims are recorded as submitted");
        return Err(ApiError::Core(CoreError::Unavailable(
            "the 837P was recorded but could not be moved into the outbox".into(),
        )));
    }
    Ok((
        SubmittedExchange {
            exchange_id,
            payer_id: group.payer_id,
            transport: "outbox".into(),
            file_name: Some(file_name),
            interchange_control_number: icn,
            status: "sent".into(),
            detail: None,
            claim_ids,
        },
        submitted,
    ))
}

/// HTTP: the exchange is recorded as `sending` (its claims reserved) before the POST, then
/// `sent` with the claims moved to `submitted`, or `failed` with the claims left `ready`. A
/// 999 or TA1 in the response body is applied as if it had come through the inbox.
async fn send_over_http(
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
    let x12 = build_837p(state, link, &group, control).await?;
    let icn = format!("{control:09}");
    let mut input = exchange_of(&group, "http", &icn, control);
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
                    .map(|(claim, _, patient)| SubmittedClaim {
                        claim_id: claim.id,
                        status: "not_sent",
                        patient_control_number: Some(claim.patient_control_number.clone()),
                        findings: vec![finding(
                            "transport.failed",
                            &format!("{reason}; the claim stays ready"),
                        )],
                        exchange_id: Some(exchange_id),
                        patient_id: Some(*patient),
                    })
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
    if let Ok(body) = sent
        && let Some(kind) = transaction_kind(&body).filter(|k| k == "999" || k == "TA1")
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

// ---------------------------------------------------------------------------------------------
// Inbox polling

/// Starts a poller for each inbox the payer connector has (its own and its payers').
pub fn spawn_inbox_poller(state: web::Data<AppState>) -> Result<(), String> {
    let link = match payer_link(&state) {
        Ok(link) => link,
        // No payer connector is fine; a refused transport configuration is not.
        Err(ApiError::Core(CoreError::Unavailable(reason))) if reason.contains("refused") => {
            return Err(reason);
        }
        Err(_) => return Ok(()),
    };
    let inboxes = link.transport.inboxes();
    if inboxes.is_empty() {
        return Ok(());
    }
    let only_org = || -> Result<OrgId, String> {
        let mut conn = state.pool.get().map_err(|e| e.to_string())?;
        match store::orgs::list(&mut conn)
            .map_err(|e| e.to_string())?
            .as_slice()
        {
            [only] => Ok(OrgId(only.id)),
            _ => Err(
                "several organizations: say which one the payer inbox belongs to with \
                      config.org in connectors.toml"
                    .into(),
            ),
        }
    };
    let mut polled = Vec::new();
    for inbox in inboxes {
        let org = match inbox.org {
            Some(o) => OrgId(o),
            None => only_org()?,
        };
        // Received files hold PHI. A missing inbox is created 0700 (an existing one is left as
        // the operator set it: a transfer agent may drop files into it); the server's own
        // processed/ and failed/ are private (0700).
        crate::files::ensure_private_dir(&inbox.dir)
            .map_err(|e| format!("payer inbox: {}", e.kind()))?;
        for d in ["processed", "failed"] {
            crate::files::private_dir(&inbox.dir.join(d))
                .map_err(|e| format!("payer inbox: {}", e.kind()))?;
        }
        polled.push((inbox.dir, org));
    }
    let poll = link.transport.poll;
    tracing::info!(connector = %link.name, inboxes = polled.len(), "payer inbox polling started");
    for (dir, org) in polled {
        let state = state.clone();
        actix_web::rt::spawn(async move {
            loop {
                if let Err(e) = poll_once(&state, &dir, org).await {
                    tracing::warn!(error = %e.kind(), "payer inbox poll failed");
                }
                actix_web::rt::time::sleep(poll).await;
            }
        });
    }
    Ok(())
}

/// How long an inbox file must have been unchanged before it is picked up.
const SETTLE: Duration = Duration::from_millis(500);

fn inbox_principal(org: OrgId) -> Principal {
    Principal {
        subject: "x12-inbox".into(),
        org,
        roles: vec![Role::Biller],
        client_id: Some("x12-inbox".into()),
        scopes: None,
        purpose_of_use: None,
        break_glass_reason: None,
    }
}

/// One pass over the inbox: every regular file not starting with `.` (and unchanged for a
/// moment) is claimed by renaming it into `processed/` (atomic: of two servers polling the
/// same inbox only one gets it), then applied; a file that fails moves on to `failed/` with
/// a `<name>.reason` file beside it. An 835 already posted is a recorded no-op and stays in
/// `processed/`.
pub async fn poll_once(
    state: &web::Data<AppState>,
    inbox: &Path,
    org: OrgId,
) -> std::io::Result<()> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(inbox)? {
        let entry = entry?;
        if !entry.file_type()?.is_file() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        // A file still being written (an upload that is not renamed into place) is left for
        // the next pass until it has been still for a moment.
        let settled = entry
            .metadata()?
            .modified()
            .ok()
            .and_then(|m| m.elapsed().ok())
            .is_none_or(|age| age >= SETTLE);
        if !settled {
            continue;
        }
        names.push(name);
    }
    names.sort();
    for name in names {
        let claimed = inbox.join("processed").join(&name);
        if std::fs::rename(inbox.join(&name), &claimed).is_err() {
            continue; // another instance took it
        }
        if let Err(e) = crate::files::make_private(&claimed) {
            tracing::warn!(error = %e.kind(), file = %name, "a claimed inbox file could not be made private");
        }
        let raw = match std::fs::read(&claimed) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e.kind(), "a claimed inbox file cannot be read");
                continue;
            }
        };
        let who = inbox_principal(org);
        let audit = AuditCtx::for_channel(
            state.audit.enabled(),
            &who,
            "x12.receive",
            "X12Exchange",
            Uuid::now_v7().to_string(),
            None,
        );
        let outcome = apply_file(state, &who, audit.clone(), raw.clone(), name.clone()).await;
        match outcome {
            Ok(done) => {
                tracing::info!(file = %name, kind = %done.kind, status = %done.status, "payer inbox file applied")
            }
            Err((kind, reason)) => {
                // The reason names segments, rules and control numbers only (never values).
                tracing::warn!(file = %name, %reason, "payer inbox file failed; moved to failed/");
                let failed = inbox.join("failed");
                let _ = std::fs::rename(&claimed, failed.join(&name));
                let _ = crate::files::create_private(&failed.join(format!("{name}.reason")))
                    .and_then(|mut f| {
                        use std::io::Write;
                        f.write_all(format!("{reason}\n").as_bytes())
                    });
                if let Some(kind) = kind
                    && let Err(e) =
                        record_failed(state, org, audit, raw, name.clone(), kind, reason).await
                {
                    tracing::warn!(file = %name, reason = %describe(e), "a failed inbox file could not be recorded");
                }
            }
        }
    }
    Ok(())
}

/// What applying an inbox file did.
struct Applied {
    kind: String,
    status: String,
}

/// A reason free of values: validation errors by pointer and rule.
fn describe(e: ApiError) -> String {
    match e {
        ApiError::Core(CoreError::Invalid(errors)) => errors
            .iter()
            .map(|f| format!("{} {}", f.pointer, f.message))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// Applies one inbox file; on failure, its transaction set (if it is X12) and why.
async fn apply_file(
    state: &web::Data<AppState>,
    who: &Principal,
    audit: AuditCtx,
    raw: Vec<u8>,
    name: String,
) -> Result<Applied, (Option<String>, String)> {
    let kind = transaction_kind(&raw).ok_or((
        None,
        "not an X12 interchange with a transaction set".to_string(),
    ))?;
    let fail = |e: ApiError| (Some(kind.clone()), describe(e));
    let status = match kind.as_str() {
        "835" => {
            import_835(
                state,
                who.org,
                who.subject.clone(),
                audit,
                raw,
                Some(name),
                true,
                "inbox",
            )
            .await
            .map_err(fail)?
            .status
        }
        "999" | "TA1" => {
            apply_acks(state, who, audit, raw, name, &kind, "inbox")
                .await
                .map_err(fail)?;
            "processed".into()
        }
        "277" => {
            apply_277(state, who, audit, raw, name)
                .await
                .map_err(fail)?;
            "processed".into()
        }
        other => {
            return Err((
                Some(kind.clone()),
                format!("transaction set {other} is not handled"),
            ));
        }
    };
    Ok(Applied { kind, status })
}

/// Records an inbox file that could not be applied (status `failed`, with the reason).
async fn record_failed(
    state: &AppState,
    org: OrgId,
    audit: AuditCtx,
    raw: Vec<u8>,
    name: String,
    kind: String,
    reason: String,
) -> ApiResult<()> {
    let keyring = state.keyring.clone();
    let pool = state.pool.clone();
    web::block(move || -> CoreResult<()> {
        let mut conn = pool
            .get()
            .map_err(|e| CoreError::Unavailable(format!("database: {e}")))?;
        store::write_transaction(&mut conn, |c| {
            let (icn, gcn) = control_numbers(&raw);
            let e = x12_exchanges::record(
                c,
                &keyring,
                org,
                &ExchangeInput {
                    direction: "in",
                    kind: if kind == "277" { "277CA".into() } else { kind },
                    file_name: Some(name),
                    interchange_control_number: icn,
                    group_control_number: gcn,
                    status: "failed".into(),
                    transport: Some("inbox".into()),
                    detail: Some(reason.chars().take(1000).collect()),
                    ..Default::default()
                },
                &raw,
            )?;
            audit.append_in_tx(c, 422, Some(e.id), &Disclosed::default())
        })
    })
    .await
    .map_err(|_| ApiError::Internal)??;
    Ok(())
}

/// The outbound 837Ps an acknowledgment for this group (GS06) or interchange (ISA13) control
/// number answers, and their claims.
fn answered_by(
    conn: &mut DbConnection,
    org: OrgId,
    number: &str,
) -> CoreResult<(Vec<Uuid>, Vec<Uuid>)> {
    let sent: Vec<_> = x12_exchanges::recent(conn, org, 500)?
        .into_iter()
        .filter(|e| e.direction == "out" && e.kind == "837" && e.status == "sent")
        .filter(|e| {
            e.group_control_number.as_deref() == Some(number)
                || e.interchange_control_number
                    .as_deref()
                    .is_some_and(|i| i.trim_start_matches('0') == number.trim_start_matches('0'))
        })
        .collect();
    let claims = sent.iter().flat_map(|e| e.claim_ids.clone()).collect();
    Ok((sent.into_iter().map(|e| e.id).collect(), claims))
}

/// The outbound 837Ps of functional group `gcn` (GS06, as a 999's AK102 names it), with the
/// verdict the 999 gives each: its AK2/IK5 for the transaction set (ST02) the 837P went out
/// as, or, when the 999 lists no 837 transaction set, the group's AK9. A transaction set the
/// 999 does not list is not answered by it.
fn answered_by_999(
    conn: &mut DbConnection,
    org: OrgId,
    ack: &Value,
) -> CoreResult<Vec<(x12_exchanges::Exchange, bool)>> {
    let gcn = ack["group_control_number"]
        .as_str()
        .unwrap_or_default()
        .trim();
    let same = |a: &str, b: &str| a.trim_start_matches('0') == b.trim_start_matches('0');
    let sent: Vec<_> = x12_exchanges::recent(conn, org, 500)?
        .into_iter()
        .filter(|e| e.direction == "out" && e.kind == "837" && e.status == "sent")
        .filter(|e| {
            e.group_control_number
                .as_deref()
                .is_some_and(|g| same(g, gcn))
        })
        .collect();
    let sets: Vec<&Value> = ack["transactions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["transaction_id"] == "837")
        .collect();
    let group_accepted = ack["accepted"] == true;
    Ok(sent
        .into_iter()
        .filter_map(|e| {
            if sets.is_empty() {
                return Some((e, group_accepted));
            }
            let st02 = e.transaction_control_number.clone();
            let set = sets.iter().find(|t| match &st02 {
                Some(st) => same(t["control_number"].as_str().unwrap_or_default(), st),
                // Recorded before transaction numbers were: the group decides.
                None => true,
            })?;
            let accepted = if st02.is_some() {
                set["accepted"] == true
            } else {
                group_accepted
            };
            Some((e, accepted))
        })
        .collect())
}

/// Whether `answers` holds the latest 837P `claim` went out in. An acknowledgment of an earlier
/// submission (the claim was since corrected and sent again) is recorded but moves nothing.
fn answers_latest(
    c: &mut DbConnection,
    org: OrgId,
    claim: Uuid,
    answers: &[Uuid],
) -> CoreResult<bool> {
    Ok(x12_exchanges::of_claim(c, org, claim, HISTORY_LIMIT)?
        .into_iter()
        .rev()
        .find(|e| e.direction == "out" && e.kind == "837" && e.status == "sent")
        .is_some_and(|e| answers.contains(&e.id)))
}

/// Moves `claims` to `to` where an acknowledgment may (only forward: see
/// [`lifecycle::acknowledgment_moves`]); a late or repeated one leaves the claim as it is.
fn move_claims(
    c: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    audit: &AuditCtx,
    actor: &str,
    claims_to_move: &[(Uuid, ClaimStatus, String)],
) -> CoreResult<usize> {
    let mut moved = 0;
    for (id, to, reason) in claims_to_move {
        let claim = claims::get(c, org, *id)?;
        if !lifecycle::acknowledgment_moves(claim.status, *to) {
            continue;
        }
        match billing::transition(c, keyring, org, *id, *to, actor, Some(reason.clone()), None) {
            Ok(t) => {
                audit.with("transition", "Claim").append_in_tx(
                    c,
                    200,
                    Some(*id),
                    &Disclosed::of(&t),
                )?;
                moved += 1;
            }
            Err(CoreError::TransitionRefused { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(moved)
}

/// What an acknowledgment says: the claims to move and the outbound exchanges it answers.
struct AckPlan {
    moves: Vec<(Uuid, ClaimStatus, String)>,
    /// Claims it names that it must not move (it answers an earlier submission of theirs).
    noted: Vec<Uuid>,
    answers: Vec<Uuid>,
}

impl AckPlan {
    /// A short summary for the exchange (codes and control numbers only).
    fn summary(&self, kind: &str) -> String {
        let mut reasons: Vec<&str> = self.moves.iter().map(|m| m.2.as_str()).collect();
        reasons.sort();
        reasons.dedup();
        if reasons.is_empty() {
            format!("{kind} named no claim of ours")
        } else {
            reasons.join("; ")
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn record_and_apply<F>(
    state: &AppState,
    who: &Principal,
    audit: AuditCtx,
    raw: Vec<u8>,
    name: String,
    kind: String,
    transport: &'static str,
    plan: F,
) -> ApiResult<String>
where
    F: FnOnce(&mut DbConnection) -> CoreResult<AckPlan> + Send + 'static,
{
    let keyring = state.keyring.clone();
    let pool = state.pool.clone();
    let org = who.org;
    let actor = who.subject.clone();
    let summary = web::block(move || -> CoreResult<String> {
        let mut conn = pool
            .get()
            .map_err(|e| CoreError::Unavailable(format!("database: {e}")))?;
        store::write_transaction(&mut conn, |c| {
            let plan = plan(c)?;
            let summary = plan.summary(&kind);
            let (icn, gcn) = control_numbers(&raw);
            let mut claim_ids: Vec<Uuid> = plan.moves.iter().map(|m| m.0).collect();
            claim_ids.extend(plan.noted.iter().copied());
            claim_ids.sort();
            claim_ids.dedup();
            let e = x12_exchanges::record(
                c,
                &keyring,
                org,
                &ExchangeInput {
                    direction: "in",
                    kind: kind.clone(),
                    file_name: Some(name.clone()),
                    interchange_control_number: icn,
                    group_control_number: gcn,
                    transaction_control_number: None,
                    claim_ids,
                    status: "processed".into(),
                    payer_id: None,
                    transport: Some(transport.into()),
                    answers: plan.answers.clone(),
                    detail: Some(summary.clone()),
                },
                &raw,
            )?;
            audit.append_in_tx(c, 201, Some(e.id), &Disclosed::default())?;
            move_claims(c, &keyring, org, &audit, &actor, &plan.moves)?;
            Ok(summary)
        })
    })
    .await
    .map_err(|_| ApiError::Internal)??;
    Ok(summary)
}

/// 999/TA1: a rejected 837P transaction (or interchange) rejects its claims; an accepted one
/// moves them to `accepted`. Returns what it said.
async fn apply_acks(
    state: &AppState,
    who: &Principal,
    audit: AuditCtx,
    raw: Vec<u8>,
    name: String,
    kind: &str,
    transport: &'static str,
) -> ApiResult<String> {
    let link = payer_link(state)?;
    let out = call(state, &link, "parse_ack", raw.clone()).await?;
    let org = who.org;
    let plan = move |c: &mut DbConnection| -> CoreResult<AckPlan> {
        let mut plan = AckPlan {
            moves: Vec::new(),
            noted: Vec::new(),
            answers: Vec::new(),
        };
        for a in out["ack999"].as_array().into_iter().flatten() {
            if a["functional_id"] != "HC" {
                continue;
            }
            let gcn = a["group_control_number"].as_str().unwrap_or_default();
            for (sent, accepted) in answered_by_999(c, org, a)? {
                let answers = [sent.id];
                for id in sent.claim_ids {
                    if !answers_latest(c, org, id, &answers)? {
                        plan.noted.push(id);
                        continue;
                    }
                    plan.moves.push(if accepted {
                        (
                            id,
                            ClaimStatus::Accepted,
                            format!("999 accepted group {gcn}"),
                        )
                    } else {
                        (
                            id,
                            ClaimStatus::Rejected,
                            format!("999 rejected group {gcn}"),
                        )
                    });
                }
                plan.answers.push(sent.id);
            }
        }
        for t in out["ta1"].as_array().into_iter().flatten() {
            let icn = t["control_number"].as_str().unwrap_or_default();
            let (answers, claim_ids) = answered_by(c, org, icn)?;
            if t["accepted"] == true {
                plan.answers.extend(answers);
                continue;
            }
            for id in claim_ids {
                if !answers_latest(c, org, id, &answers)? {
                    plan.noted.push(id);
                    continue;
                }
                plan.moves.push((
                    id,
                    ClaimStatus::Rejected,
                    format!("TA1 rejected interchange {icn}"),
                ));
            }
            plan.answers.extend(answers);
        }
        plan.answers.sort();
        plan.answers.dedup();
        Ok(plan)
    };
    record_and_apply(
        state,
        who,
        audit,
        raw,
        name,
        kind.to_string(),
        transport,
        plan,
    )
    .await
}

/// 277CA: category A1-A5 accepts a claim, A3/A6/A7/A8 and R* reject it (matched by CLM01).
async fn apply_277(
    state: &AppState,
    who: &Principal,
    audit: AuditCtx,
    raw: Vec<u8>,
    name: String,
) -> ApiResult<()> {
    let link = payer_link(state)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let out = call(
        state,
        &link,
        "claim_status",
        serde_json::to_vec(&json!({ "x12": text })).map_err(|_| ApiError::Internal)?,
    )
    .await?;
    let responses: Vec<canonical::ClaimStatusResponse> =
        serde_json::from_value(out["responses"].clone()).unwrap_or_default();
    let org = who.org;
    let plan = move |c: &mut DbConnection| -> CoreResult<AckPlan> {
        // The claim is named by REF*EJ (patient account number) or, in a 277CA, by the
        // 2200D TRN02 that echoes CLM01.
        let key = |r: &canonical::ClaimStatusResponse| -> String {
            if r.claim_control_number.trim().is_empty() {
                r.trace_number.clone().unwrap_or_default()
            } else {
                r.claim_control_number.clone()
            }
        };
        let pcns: Vec<String> = responses.iter().map(key).collect();
        let found = claims::by_control_numbers(c, org, &pcns)?;
        let mut moves = Vec::new();
        for r in &responses {
            let Some(cat) = r.statuses.first().map(|s| s.category_code.clone()) else {
                continue;
            };
            let to = match cat.as_str() {
                "A1" | "A2" | "A5" => ClaimStatus::Accepted,
                "A3" | "A4" | "A6" | "A7" | "A8" => ClaimStatus::Rejected,
                c if c.starts_with('R') => ClaimStatus::Rejected,
                _ => continue,
            };
            let pcn = key(r).trim().to_ascii_uppercase();
            for claim in found
                .iter()
                .filter(|c| c.patient_control_number.to_ascii_uppercase() == pcn)
            {
                moves.push((claim.id, to, format!("277CA category {cat}")));
            }
        }
        // It answers the latest 837P each claim went out in.
        let mut answers = Vec::new();
        for (id, _, _) in &moves {
            if let Some(e) = x12_exchanges::of_claim(c, org, *id, 200)?
                .into_iter()
                .rev()
                .find(|e| e.direction == "out" && e.kind == "837" && e.status == "sent")
            {
                answers.push(e.id);
            }
        }
        answers.sort();
        answers.dedup();
        Ok(AckPlan {
            moves,
            noted: Vec::new(),
            answers,
        })
    };
    record_and_apply(state, who, audit, raw, name, "277CA".into(), "inbox", plan).await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// A claim's exchange history

/// An acknowledgment or answer to an exchange (999, TA1, 277CA, or a real-time 271/277).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExchangeAck {
    pub id: Uuid,
    /// `999`, `TA1`, `277CA`, `271`, `277`.
    pub transaction_type: String,
    pub file_name: Option<String>,
    pub interchange_control_number: Option<String>,
    pub group_control_number: Option<String>,
    /// `inbox`, `http` or `api`.
    pub transport: Option<String>,
    pub received_at: chrono::DateTime<chrono::Utc>,
    /// `processed` or `failed`.
    pub status: String,
    /// What it said (e.g. `999 rejected group 12`), codes and control numbers only.
    pub detail: Option<String>,
}

/// One X12 exchange that involved the claim, without its content.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClaimExchange {
    pub id: Uuid,
    /// `out` (we sent it) or `in` (we received it).
    pub direction: String,
    /// `837`, `835`, `276`, `999`, `TA1`, `277CA`...
    pub transaction_type: String,
    pub file_name: Option<String>,
    /// ISA13.
    pub interchange_control_number: Option<String>,
    /// GS06.
    pub group_control_number: Option<String>,
    /// ST02.
    pub transaction_control_number: Option<String>,
    /// `outbox`, `http`, `inbox` or `api`.
    pub transport: Option<String>,
    pub payer_id: Option<Uuid>,
    /// When it was sent (outbound).
    pub sent_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When it was received (inbound).
    pub received_at: Option<chrono::DateTime<chrono::Utc>>,
    /// `sending`, `sent`, `failed` (outbound); `processed`, `duplicate`, `failed` (inbound).
    pub status: String,
    /// Why it failed or was a duplicate, or what it said: never file content.
    pub detail: Option<String>,
    /// The acknowledgments and answers that referred to this exchange, oldest first.
    pub acks: Vec<ExchangeAck>,
}

/// A claim's X12 exchanges, oldest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"claim_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a07", "items": [{
    "id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a09", "direction": "out", "transaction_type": "837",
    "file_name": "837P-000000012-0193a0c47d2e7cc09c555b1f3e1f0a09.x12",
    "interchange_control_number": "000000012", "group_control_number": "12",
    "transaction_control_number": "0012", "transport": "outbox",
    "payer_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a02",
    "sent_at": "2026-11-20T10:15:00Z", "received_at": null, "status": "sent", "detail": null,
    "acks": [{"id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a0b", "transaction_type": "999",
        "file_name": "ack-1.999", "interchange_control_number": "000000777",
        "group_control_number": "777", "transport": "inbox",
        "received_at": "2026-11-20T11:00:00Z", "status": "processed",
        "detail": "999 accepted group 12"}]}]}))]
pub struct ClaimExchanges {
    pub claim_id: Uuid,
    pub items: Vec<ClaimExchange>,
    #[serde(skip)]
    pub patient_id: Uuid,
}

impl Mask for ClaimExchanges {
    fn mask(&mut self, _: &View) {}
}

impl Discloses for ClaimExchanges {
    fn disclose(&self, d: &mut Disclosed) {
        d.patient_ids.insert(self.patient_id);
        if !self.items.is_empty() {
            d.fields.insert("x12_exchanges");
        }
    }
}

/// Most exchanges one claim's history lists.
const HISTORY_LIMIT: i64 = 500;

/// The claim's exchanges: each file sent or received that names it, with the
/// acknowledgments that answered each outbound one nested under it.
pub fn claim_exchanges(
    conn: &mut DbConnection,
    org: OrgId,
    claim_id: Uuid,
) -> CoreResult<ClaimExchanges> {
    let claim = claims::get(conn, org, claim_id)?;
    let all = x12_exchanges::of_claim(conn, org, claim_id, HISTORY_LIMIT)?;
    let outbound: std::collections::BTreeSet<Uuid> = all
        .iter()
        .filter(|e| e.direction == "out")
        .map(|e| e.id)
        .collect();
    let answers_ours = |e: &x12_exchanges::Exchange| {
        e.direction == "in" && e.answers.iter().any(|a| outbound.contains(a))
    };
    let mut items: Vec<ClaimExchange> = all
        .iter()
        .filter(|e| !answers_ours(e))
        .map(|e| ClaimExchange {
            id: e.id,
            direction: e.direction.clone(),
            transaction_type: e.kind.clone(),
            file_name: e.file_name.clone(),
            interchange_control_number: e.interchange_control_number.clone(),
            group_control_number: e.group_control_number.clone(),
            transaction_control_number: e.transaction_control_number.clone(),
            transport: e.transport.clone(),
            payer_id: e.payer_id,
            sent_at: (e.direction == "out").then_some(e.created_at),
            received_at: (e.direction == "in").then_some(e.created_at),
            status: e.status.clone(),
            detail: e.detail.clone(),
            acks: Vec::new(),
        })
        .collect();
    for ack in all.iter().filter(|e| answers_ours(e)) {
        for item in items.iter_mut().filter(|i| ack.answers.contains(&i.id)) {
            item.acks.push(ExchangeAck {
                id: ack.id,
                transaction_type: ack.kind.clone(),
                file_name: ack.file_name.clone(),
                interchange_control_number: ack.interchange_control_number.clone(),
                group_control_number: ack.group_control_number.clone(),
                transport: ack.transport.clone(),
                received_at: ack.created_at,
                status: ack.status.clone(),
                detail: ack.detail.clone(),
            });
        }
    }
    Ok(ClaimExchanges {
        claim_id,
        items,
        patient_id: claim.patient_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISA: &str = "ISA*00*          *00*          *ZZ*ACMEPAYER      *ZZ*REVCYCLE       *240315*1200*^*00501*000000101*0*P*:~\nGS*HP*ACMEPAYER*REVCYCLE*20240315*1200*101*X*005010X221A1~\nST*835*0001~";

    #[test]
    fn control_numbers_and_kind_are_read_from_the_envelope() {
        let (icn, gcn) = control_numbers(ISA.as_bytes());
        assert_eq!(icn.as_deref(), Some("000000101"));
        assert_eq!(gcn.as_deref(), Some("101"));
        assert_eq!(transaction_kind(ISA.as_bytes()).as_deref(), Some("835"));
        assert_eq!(transaction_kind(b"hello"), None);
    }

    #[test]
    fn a_payers_entry_overrides_the_default_transport() {
        let t = Transport::of(&json!({
            "outbox": "/x/out", "inbox": "/x/in", "sender_id": "ME",
            "clearinghouse_url": "https://ch.example/api", "bearer_token_env": "DEFAULT_TOKEN",
            "payers": {
                "60054": {"outbox": "/acme/out", "inbox": "/acme/in"},
                "87726": {"submit_url": "https://b.example/837", "bearer_token_file": "/s/b.token",
                          "receiver_id": "BEACON", "sender_id": "ME2"},
                "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a02": {"inbox": "/x/in"}
            }
        }))
        .unwrap();
        let payer = Uuid::now_v7();
        // No entry: the default.
        let r = t.route(payer, Some("11111"));
        assert_eq!(r.submission, Some(Submission::Outbox("/x/out".into())));
        assert_eq!(t.sender_of(&r), "ME");
        // By payer code (any case), own outbox, the default's clearinghouse with its token.
        let r = t.route(payer, Some("60054"));
        assert_eq!(r.submission, Some(Submission::Outbox("/acme/out".into())));
        let ch = r.clearinghouse.unwrap();
        assert_eq!(ch.url, "https://ch.example/api");
        assert_eq!(ch.token, Some(TokenSource::Env("DEFAULT_TOKEN".into())));
        // Its own endpoint comes with its own token, never the default's.
        let r = t.route(payer, Some("87726"));
        assert_eq!(
            r.submission,
            Some(Submission::Http(Endpoint {
                url: "https://b.example/837".into(),
                token: Some(TokenSource::File("/s/b.token".into())),
            }))
        );
        assert_eq!(r.receiver_id.as_deref(), Some("BEACON"));
        assert_eq!(t.sender_of(&r), "ME2");
        // By payer id.
        let id = Uuid::parse_str("0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a02").unwrap();
        assert_eq!(t.route(id, None).inbox, Some("/x/in".into()));
        // Each inbox once.
        let dirs: Vec<PathBuf> = t.inboxes().into_iter().map(|i| i.dir).collect();
        assert_eq!(dirs, [PathBuf::from("/x/in"), PathBuf::from("/acme/in")]);
    }

    #[test]
    fn transport_configurations_that_are_refused() {
        for (config, says) in [
            (
                json!({"submit_url": "https://a/", "bearer_token": "s3cret"}),
                "bearer_token_file",
            ),
            (
                json!({"payers": {"1": {"bearer_token": "s3cret"}}}),
                "bearer_token_file",
            ),
            (
                json!({"outbox": "/o", "submit_url": "https://a/"}),
                "not both",
            ),
            (
                json!({"submit_url": "http://claims.example/837"}),
                "must be https",
            ),
            (
                json!({"bearer_token_file": "/a", "bearer_token_env": "B"}),
                "not both",
            ),
            (
                json!({"payers": {"1": {"outbx": "/o"}}}),
                "unknown key outbx",
            ),
            (json!({"payers": ["x"]}), "table"),
            (
                json!({"payers": {"1": {"receiver_id": "SIXTEEN-CHARS-XX"}}}),
                "receiver_id",
            ),
        ] {
            let err = Transport::of(&config).unwrap_err();
            assert!(err.contains(says), "{config}: {err}");
            assert!(!err.contains("s3cret"), "{err}");
        }
        // Plain HTTP is fine on loopback.
        assert!(Transport::of(&json!({"submit_url": "http://127.0.0.1:9/837"})).is_ok());
        assert!(Transport::of(&json!({"submit_url": "http://[::1]:9/837"})).is_ok());
    }

    #[test]
    fn bearer_token_files_must_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let path = std::env::temp_dir().join(format!("revcycle-token-{}", Uuid::now_v7()));
        std::fs::write(&path, "abc123\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let source = TokenSource::File(path.clone());
        assert!(source.read().unwrap_err().contains("chmod 600"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(source.read().unwrap(), "abc123");
        std::fs::remove_file(&path).unwrap();
        let missing = TokenSource::Env("REVCYCLE_TEST_NO_SUCH_TOKEN_VARIABLE".into());
        assert!(missing.read().is_err());
    }
}

// ---------------------------------------------------------------------------------------------
// Real-time eligibility (270/271) and claim status (276/277) over a clearinghouse HTTP API

/// `POST /v1/coverages/{id}/eligibility`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"provider_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a03", "service_type_codes": ["30"]}))]
pub struct EligibilityInput {
    /// The provider asking (NM1*1P), by id.
    pub provider_id: Uuid,
    /// X12 service type codes (EQ01); default `30` (health benefit plan coverage).
    pub service_type_codes: Option<Vec<String>>,
    pub date_of_service: Option<chrono::NaiveDate>,
}

impl revcycle_core::validation::Rules for EligibilityInput {
    fn check(&self, e: &mut revcycle_core::validation::Errors) {
        // X12 EQ01: a service type code is one or two letters or digits; a request asks for
        // at most 99 of them.
        if let Some(codes) = &self.service_type_codes {
            e.check(
                (1..=99).contains(&codes.len()),
                "/service_type_codes",
                "between 1 and 99 service type codes",
            );
            for (i, c) in codes.iter().enumerate() {
                e.check(
                    (1..=2).contains(&c.len())
                        && c.bytes()
                            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()),
                    format!("/service_type_codes/{i}"),
                    "must be an X12 service type code: one or two upper-case letters or digits",
                );
            }
        }
    }
}

/// The payer's answer, as the connector read it (canonical schema 1), and the files exchanged.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RealTimeResult {
    /// The request and the answer, recorded (encrypted).
    pub exchange_ids: Vec<Uuid>,
    /// Canonical `EligibilityResponse`s or `ClaimStatusResponse`s.
    #[schema(value_type = Vec<Object>)]
    pub responses: Vec<Value>,
    #[serde(skip)]
    pub patient_id: Uuid,
}

impl Mask for RealTimeResult {
    fn mask(&mut self, _: &View) {}
}

impl Discloses for RealTimeResult {
    fn disclose(&self, d: &mut Disclosed) {
        d.patient_ids.insert(self.patient_id);
        if !self.responses.is_empty() {
            d.fields.insert("subscriber");
            d.fields.insert("member_id");
        }
    }
}

/// POSTs an X12 body to `endpoint.url` + `path` (`Authorization: Bearer` when there is a
/// token) and returns the answer's body. Plain HTTP only to a loopback address: the body is
/// PHI. An error is a reason without values (HTTP status, timeout, unreachable).
async fn post_x12(
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
async fn post_to_clearinghouse(
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

/// The payer of a real-time request and the claim it is about (276), for routing and the
/// exchange record.
struct RealTimeTarget {
    payer_id: Uuid,
    payer_code: Option<String>,
    claim_id: Option<Uuid>,
    patient_id: Uuid,
}

/// Request out, answer in: the plugin builds the request, the clearinghouse answers, the
/// plugin reads the answer; both files are recorded with the request's audit event.
#[allow(clippy::too_many_arguments)]
async fn real_time(
    state: &AppState,
    who: &Principal,
    audit: AuditCtx,
    op: &'static str,
    path: &str,
    kinds: (&'static str, &'static str),
    request: Value,
    target: RealTimeTarget,
) -> ApiResult<RealTimeResult> {
    let link = payer_link(state)?;
    let org = who.org;
    let route = link
        .transport
        .route(target.payer_id, target.payer_code.as_deref());
    if route.clearinghouse.is_none() {
        return Err(ApiError::Core(CoreError::Unavailable(
            "no clearinghouse_url is configured for this payer".into(),
        )));
    }
    let sender = link.transport.sender_of(&route);
    let control = allocate_control_number(state, sender.clone()).await?;
    let mut input =
        json!({"requests": [request.clone()], "control_number": control, "sender_id": sender});
    if let Some(r) = &route.receiver_id {
        input["receiver_id"] = json!(r);
    }
    let out = call(
        state,
        &link,
        op,
        serde_json::to_vec(&input).map_err(|_| ApiError::Internal)?,
    )
    .await?;
    let x12 = out["x12"]
        .as_str()
        .ok_or_else(|| ApiError::BadGateway("the connector built no request".into()))?
        .to_string();
    let answer = post_to_clearinghouse(state, &route, path, x12.clone()).await?;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let parsed = call(
        state,
        &link,
        op,
        serde_json::to_vec(&json!({ "x12": text })).map_err(|_| ApiError::Internal)?,
    )
    .await?;
    let responses = parsed["responses"].as_array().cloned().unwrap_or_default();
    // An answer to another request is recorded as failed and never shown as the answer.
    let refused = real_time_check::mismatch(kinds.1, &request, &responses);
    let answer_detail = refused.clone();
    let keyring = state.keyring.clone();
    let pool = state.pool.clone();
    let icn = format!("{control:09}");
    let claim_ids: Vec<Uuid> = target.claim_id.into_iter().collect();
    let patient_id = target.patient_id;
    let payer_id = target.payer_id;
    let ids = web::block(move || -> CoreResult<Vec<Uuid>> {
        let mut conn = pool
            .get()
            .map_err(|e| CoreError::Unavailable(format!("database: {e}")))?;
        store::write_transaction(&mut conn, |c| {
            let sent = x12_exchanges::record(
                c,
                &keyring,
                org,
                &ExchangeInput {
                    direction: "out",
                    kind: kinds.0.into(),
                    interchange_control_number: Some(icn.clone()),
                    group_control_number: Some(control.to_string()),
                    claim_ids: claim_ids.clone(),
                    status: "sent".into(),
                    payer_id: Some(payer_id),
                    transport: Some("http".into()),
                    ..Default::default()
                },
                x12.as_bytes(),
            )?;
            let (ricn, rgcn) = control_numbers(&answer);
            let got = x12_exchanges::record(
                c,
                &keyring,
                org,
                &ExchangeInput {
                    direction: "in",
                    kind: kinds.1.into(),
                    interchange_control_number: ricn,
                    group_control_number: rgcn,
                    claim_ids: claim_ids.clone(),
                    status: if answer_detail.is_some() {
                        "failed".into()
                    } else {
                        "processed".into()
                    },
                    payer_id: Some(payer_id),
                    transport: Some("http".into()),
                    answers: vec![sent.id],
                    detail: answer_detail.clone(),
                    ..Default::default()
                },
                &answer,
            )?;
            let mut d = Disclosed::default();
            d.patient_ids.insert(patient_id);
            audit.append_in_tx(c, 200, Some(sent.id), &d)?;
            Ok(vec![sent.id, got.id])
        })
    })
    .await
    .map_err(|_| ApiError::Internal)??;
    if let Some(why) = refused {
        return Err(ApiError::BadGateway(format!(
            "the clearinghouse's {} does not answer this request ({why}); it is recorded as failed and not used",
            kinds.1
        )));
    }
    Ok(RealTimeResult {
        exchange_ids: ids,
        responses,
        patient_id,
    })
}

/// Eligibility of a coverage, asked of the payer in real time (270 out, 271 in).
pub async fn check_eligibility(
    state: &AppState,
    who: &Principal,
    audit: AuditCtx,
    coverage_id: Uuid,
    input: EligibilityInput,
) -> ApiResult<RealTimeResult> {
    let mut e = revcycle_core::validation::Errors::new();
    revcycle_core::validation::Rules::check(&input, &mut e);
    e.finish()?;
    let org = who.org;
    let keyring = state.keyring.clone();
    let pool = state.pool.clone();
    let (request, target) = web::block(move || -> CoreResult<(Value, RealTimeTarget)> {
        let mut conn = pool
            .get()
            .map_err(|e| CoreError::Unavailable(format!("database: {e}")))?;
        let conn = &mut conn;
        let coverage = coverages::get(conn, &keyring, org, coverage_id)?;
        let patient = patients::get(conn, &keyring, org, coverage.patient_id)?;
        let payer = payers::get(conn, org, coverage.payer_id)?;
        let provider = match providers::get(conn, org, input.provider_id) {
            Err(CoreError::NotFound { .. }) => {
                return Err(CoreError::invalid("/provider_id", "no such provider"));
            }
            other => other?,
        };
        let demo = demographics(&patient);
        let (subscriber, relationship) = subscriber_of(&coverage, &demo);
        let request = json!({
            "trace_number": Uuid::now_v7().simple().to_string()[..30].to_string(),
            "payer": {"name": payer.name, "payer_id": payer.payer_code},
            "provider": provider_ref(&provider),
            "subscriber": subscriber,
            "dependent": if relationship == "self" { Value::Null } else { serde_json::to_value(&demo).unwrap_or(Value::Null) },
            "service_type_codes": input.service_type_codes.unwrap_or_else(|| vec!["30".into()]),
            "date_of_service": input.date_of_service.map(|d| d.to_string()),
        });
        let target = RealTimeTarget {
            payer_id: payer.id,
            payer_code: Some(payer.payer_code.clone()),
            claim_id: None,
            patient_id: patient.id,
        };
        Ok((request, target))
    })
    .await
    .map_err(|_| ApiError::Internal)??;
    real_time(
        state,
        who,
        audit,
        "check_eligibility",
        "/eligibility",
        ("270", "271"),
        request,
        target,
    )
    .await
}

/// A claim's status, asked of the payer in real time (276 out, 277 in).
pub async fn claim_status(
    state: &AppState,
    who: &Principal,
    audit: AuditCtx,
    claim_id: Uuid,
) -> ApiResult<RealTimeResult> {
    let org = who.org;
    let keyring = state.keyring.clone();
    let pool = state.pool.clone();
    let (request, target) = web::block(move || -> CoreResult<(Value, RealTimeTarget)> {
        let mut conn = pool
            .get()
            .map_err(|e| CoreError::Unavailable(format!("database: {e}")))?;
        let conn = &mut conn;
        let claim = claims::get(conn, org, claim_id)?;
        let (submission, patient_id) = claim_submission(conn, &keyring, org, &claim)?;
        let billing = providers::get(conn, org, claim.billing_provider_id)?;
        let request = json!({
            "trace_number": Uuid::now_v7().simple().to_string()[..30].to_string(),
            "payer": submission.payer,
            "provider": provider_ref(&billing),
            "subscriber": submission.subscriber,
            "patient": submission.patient,
            "claim_control_number": claim.patient_control_number,
            "total_charge": claim.total_charge.to_string(),
            "service_period": {"start": claim.service_date_from.to_string(),
                               "end": claim.service_date_to.to_string()},
        });
        let target = RealTimeTarget {
            payer_id: claim.payer_id.unwrap_or_default(),
            payer_code: submission.payer.payer_id.clone(),
            claim_id: Some(claim.id),
            patient_id,
        };
        Ok((request, target))
    })
    .await
    .map_err(|_| ApiError::Internal)??;
    real_time(
        state,
        who,
        audit,
        "claim_status",
        "/claim-status",
        ("276", "277"),
        request,
        target,
    )
    .await
}
