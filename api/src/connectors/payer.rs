//! The payer side of the connector plugins (X12): importing 835 remittances, submitting claims
//! as 837P files into the payer's outbox, and polling its inbox for 835s, 999/TA1
//! acknowledgments and 277CA claim acknowledgments.
//!
//! The plugin builds and parses X12; this module moves files and applies results through
//! `core` (encryption, lifecycle, posting) with each write's audit event in its transaction.
//! Raw X12 holds PHI: it is stored only encrypted (`x12_exchanges`) and never logged.
//!
//! Transport keys read from the payer plugin's `config` in `connectors.toml`: `outbox`
//! (directory for 837P files), `inbox` (directory polled for files from the payer),
//! `poll_seconds` (default 5) and `org` (the organization the inbox belongs to; defaults to
//! the only one).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use revcycle_connector_abi::canonical::v1 as canonical;
use revcycle_connector_abi::ffi::ConnectorKind;
use revcycle_connector_abi::host::ConnectorInstance;
use revcycle_core::access::{Mask, OrgId, Principal, Role, View};
use revcycle_core::audit::{Disclosed, Discloses};
use revcycle_core::billing::scrub::Severity;
use revcycle_core::error::{CoreError, CoreResult};
use revcycle_core::model::claim::{Claim, ClaimStatus};
use revcycle_core::model::remittance::RemittanceInput;
use revcycle_core::store::payers::PayerFilter;
use revcycle_core::store::posting::PostingResult;
use revcycle_core::store::x12_exchanges::{self, ExchangeInput};
use revcycle_core::store::{
    self, DbConnection, KeyRing, ListParams, billing, claims, coverages, patients, payers, posting,
    providers, remittances,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{State, invoke};
use crate::audit::AuditCtx;
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;

/// Where the payer connector moves files.
#[derive(Debug, Clone, Default)]
pub struct Transport {
    pub outbox: Option<PathBuf>,
    pub inbox: Option<PathBuf>,
    pub poll: Duration,
    pub org: Option<Uuid>,
    /// HTTP endpoint of a clearinghouse API for real-time 270/271 and 276/277.
    pub clearinghouse_url: Option<String>,
}

impl Transport {
    fn of(config: &Value) -> Transport {
        let path = |k: &str| config.get(k).and_then(Value::as_str).map(PathBuf::from);
        Transport {
            outbox: path("outbox"),
            inbox: path("inbox"),
            poll: Duration::from_secs(
                config
                    .get("poll_seconds")
                    .and_then(Value::as_u64)
                    .unwrap_or(5)
                    .max(1),
            ),
            org: config
                .get("org")
                .and_then(Value::as_str)
                .and_then(|s| Uuid::parse_str(s).ok()),
            clearinghouse_url: config
                .get("clearinghouse_url")
                .and_then(Value::as_str)
                .map(|s| s.trim_end_matches('/').to_string()),
        }
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
            } if operations.iter().any(|o| o == "parse_remittance") => Some(PayerLink {
                name: c.name.clone(),
                instance: instance.clone(),
                transport: Transport::of(&c.config),
            }),
            _ => None,
        })
        .collect();
    if let Some(i) = candidates.iter().position(|c| c.name == "x12") {
        return Ok(candidates.swap_remove(i));
    }
    candidates.into_iter().next().ok_or_else(|| {
        ApiError::Core(CoreError::Unavailable(
            "no payer (X12) connector is loaded; see GET /v1/connectors".into(),
        ))
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

// ---------------------------------------------------------------------------------------------
// 835 import

/// One remittance of an imported 835.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportedRemittance {
    pub remittance_id: Uuid,
    pub payer_id: Uuid,
    pub trace_number: String,
    /// What posting did, when posting was asked for.
    pub posting: Option<PostingResult>,
}

/// What importing an 835 did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"exchange_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a09",
    "remittances": [{"remittance_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a0a",
        "payer_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a02", "trace_number": "EFT0001", "posting": null}]}))]
pub struct RemittanceImport {
    /// The stored (encrypted) file.
    pub exchange_id: Uuid,
    pub remittances: Vec<ImportedRemittance>,
}

impl Mask for RemittanceImport {
    fn mask(&mut self, _: &View) {}
}

impl Discloses for RemittanceImport {
    fn disclose(&self, d: &mut Disclosed) {
        for r in &self.remittances {
            if let Some(p) = &r.posting {
                p.disclose(d);
            }
        }
    }
}

impl Discloses for ImportedRemittance {
    fn disclose(&self, d: &mut Disclosed) {
        if let Some(p) = &self.posting {
            p.disclose(d);
        }
    }
}

impl Mask for ImportedRemittance {
    fn mask(&mut self, _: &View) {}
}

/// A canonical remittance as the store's input, its payer found by payer id (N1*PR REF*2U or
/// the payer identification) among the org's payers' codes, else by exact name.
fn remittance_input(
    conn: &mut DbConnection,
    org: OrgId,
    index: usize,
    r: &canonical::Remittance,
) -> CoreResult<RemittanceInput> {
    let mut payer = None;
    if let Some(code) = r.payer.payer_id.as_deref().filter(|c| !c.trim().is_empty()) {
        let filter = PayerFilter {
            payer_code: Some(code.trim().to_string()),
            active: None,
        };
        payer = payers::list(conn, org, &filter, &ListParams::default())?
            .items
            .into_iter()
            .next();
    }
    let payer = payer.ok_or_else(|| {
        CoreError::invalid(
            format!("/remittances/{index}/payer"),
            "no payer with this 835 payer id is set up (payer_code)",
        )
    })?;
    let at = format!("/remittances/{index}");
    let date = r
        .payment_date
        .clone()
        .unwrap_or_else(|| chrono::Utc::now().date_naive().to_string());
    let adjustments = |adj: &[canonical::Adjustment]| -> Vec<Value> {
        adj.iter()
            .map(|a| {
                json!({"group": a.group, "reason": a.reason, "amount": a.amount,
                       "quantity": a.quantity})
            })
            .collect()
    };
    let claims: Vec<Value> = r
        .claims
        .iter()
        .map(|c| {
            json!({
                "patient_control_number": c.claim_control_number,
                "status_code": c.status_code,
                "total_charge": c.total_charge,
                "paid": c.paid_amount,
                "patient_responsibility": c.patient_responsibility,
                "payer_claim_number": c.payer_claim_number,
                "adjustments": adjustments(&c.adjustments),
                "lines": c.service_lines.iter().map(|l| json!({
                    "procedure_code": l.procedure_code,
                    "modifiers": l.modifiers,
                    "charge": l.charge,
                    "paid": l.paid_amount,
                    "units": l.paid_units,
                    "service_date": l.service_date,
                    "adjustments": adjustments(&l.adjustments),
                    "remarks": l.remark_codes,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let method = r
        .payment_method
        .as_deref()
        .filter(|m| matches!(*m, "ACH" | "CHK" | "BOP" | "FWT" | "NON"))
        .unwrap_or("NON");
    let value = json!({
        "payer_id": payer.id,
        "trace_number": r.trace_number,
        "payment_date": date,
        "payment_method": method,
        "total_paid": r.payment_amount,
        "claims": claims,
        "provider_adjustments": r.provider_adjustments.iter().map(|p| json!({
            "reason": p.reason_code, "reference": p.reference, "amount": p.amount,
        })).collect::<Vec<_>>(),
    });
    // serde's message can quote a value: give the place only.
    serde_json::from_value(value).map_err(|_| {
        CoreError::invalid(
            at,
            "the remittance cannot be stored: an amount, code or date is out of range",
        )
    })
}

/// Parses an 835 through the payer connector, stores the file (encrypted) and each remittance
/// (one transaction per remittance, with its audit event) and posts them when `post`.
/// A malformed file is a 422 naming the segment and stores nothing.
pub async fn import_835(
    state: &AppState,
    org: OrgId,
    actor: String,
    audit: AuditCtx,
    raw: Vec<u8>,
    file_name: Option<String>,
    post: bool,
) -> ApiResult<RemittanceImport> {
    let link = payer_link(state)?;
    let out = call(state, &link, "parse_remittance", raw.clone()).await?;
    let parsed: Vec<canonical::Remittance> =
        serde_json::from_value(out.get("remittances").cloned().unwrap_or(Value::Null)).map_err(
            |_| ApiError::BadGateway("the connector's output is not a list of remittances".into()),
        )?;
    let keyring = state.keyring.clone();
    let pool = state.pool.clone();
    let result = web::block(move || -> CoreResult<RemittanceImport> {
        let mut conn = pool
            .get()
            .map_err(|e| CoreError::Unavailable(format!("database: {e}")))?;
        let conn = &mut conn;
        // Every remittance must map before anything is stored.
        let inputs = parsed
            .iter()
            .enumerate()
            .map(|(i, r)| remittance_input(conn, org, i, r))
            .collect::<CoreResult<Vec<_>>>()?;
        let (icn, gcn) = control_numbers(&raw);
        let exchange = store::write_transaction(conn, |c| {
            let e = x12_exchanges::record(
                c,
                &keyring,
                org,
                &ExchangeInput {
                    direction: "in",
                    kind: "835".into(),
                    file_name: file_name.clone(),
                    interchange_control_number: icn.clone(),
                    group_control_number: gcn.clone(),
                    transaction_control_number: None,
                    claim_ids: Vec::new(),
                    status: "processed".into(),
                },
                &raw,
            )?;
            audit.with("x12.receive", "X12Exchange").append_in_tx(
                c,
                201,
                Some(e.id),
                &Disclosed::default(),
            )?;
            Ok(e)
        })?;
        let mut done = Vec::new();
        for input in &inputs {
            let item = store::write_transaction(conn, |c| {
                let rem = remittances::create(c, org, input)?;
                audit.with("create", "Remittance").append_in_tx(
                    c,
                    201,
                    Some(rem.id),
                    &Disclosed::of(&rem),
                )?;
                let posting = if post {
                    let p = posting::post_remittance(c, org, rem.id, &actor)?;
                    audit.with("post", "Remittance").append_in_tx(
                        c,
                        200,
                        Some(rem.id),
                        &Disclosed::of(&p),
                    )?;
                    Some(p)
                } else {
                    None
                };
                Ok(ImportedRemittance {
                    remittance_id: rem.id,
                    payer_id: rem.payer_id,
                    trace_number: rem.trace_number,
                    posting,
                })
            })?;
            done.push(item);
        }
        Ok(RemittanceImport {
            exchange_id: exchange.id,
            remittances: done,
        })
    })
    .await
    .map_err(|_| ApiError::Internal)??;
    Ok(result)
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

/// What became of one claim.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SubmittedClaim {
    pub claim_id: Uuid,
    /// `submitted` or `refused`.
    pub status: &'static str,
    pub patient_control_number: Option<String>,
    /// Why it was refused: the scrubber's errors, or one finding naming the problem.
    pub findings: Vec<Finding>,
    #[serde(skip)]
    pub patient_id: Option<Uuid>,
}

/// What a submission did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"exchange_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a09", "file_name": "837P-000000001.x12",
    "interchange_control_number": "000000001",
    "claims": [{"claim_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a07", "status": "submitted",
        "patient_control_number": "C01JD4Q8W3M5XK2P9RTA", "findings": []}]}))]
pub struct SubmitResult {
    /// The recorded 837P (absent when no claim could be submitted).
    pub exchange_id: Option<Uuid>,
    pub file_name: Option<String>,
    pub interchange_control_number: Option<String>,
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
        if self.exchange_id.is_some() {
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
use erased::Str;

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
fn subscriber_of(
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
            "line_control_number": l.id.simple().to_string()[..20].to_string(),
        })).collect::<Vec<_>>(),
        "prior_authorization": claim.prior_authorization,
        "accepts_assignment": true,
        "benefits_assigned": true,
        "release_of_information": true,
    });
    if relationship != "self" {
        value["patient"] = serde_json::to_value(&patient_demo).unwrap_or(Value::Null);
    }
    let submission: canonical::ClaimSubmission = serde_json::from_value(value)
        .map_err(|_| CoreError::Internal("the claim does not map to a submission".into()))?;
    Ok((submission, claim.patient_id))
}

/// Submits claims: scrub each (errors refuse it), build the 837P through the payer connector,
/// write it into the outbox, record the exchange and move each claim to `submitted`.
pub async fn submit_claims(
    state: &AppState,
    who: &Principal,
    audit: AuditCtx,
    input: SubmitInput,
) -> ApiResult<SubmitResult> {
    let link = payer_link(state)?;
    let outbox = link.transport.outbox.clone().ok_or_else(|| {
        ApiError::Core(CoreError::Unavailable(
            "the payer connector has no outbox configured (config.outbox in connectors.toml)"
                .into(),
        ))
    })?;
    if input.claim_ids.is_none() == input.payer_id.is_none() {
        return Err(CoreError::invalid("", "give either claim_ids or payer_id").into());
    }
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
        let mut ready = Vec::new();
        for id in ids {
            let claim = match claims::get(conn, org, id) {
                Ok(c) => c,
                Err(CoreError::NotFound { .. }) => {
                    results.push(SubmittedClaim {
                        claim_id: id,
                        status: "refused",
                        patient_control_number: None,
                        findings: vec![finding("claim.not_found", "no such claim")],
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
    if ready.is_empty() {
        return Ok(SubmitResult {
            exchange_id: None,
            file_name: None,
            interchange_control_number: None,
            claims: results,
        });
    }
    // 2. The control number, then the 837P from the plugin.
    let pool = state.pool.clone();
    let control = web::block(move || -> CoreResult<u32> {
        let mut conn = pool
            .get()
            .map_err(|e| CoreError::Unavailable(format!("database: {e}")))?;
        x12_exchanges::next_control_number(&mut conn, org)
    })
    .await
    .map_err(|_| ApiError::Internal)??;
    let submissions: Vec<&canonical::ClaimSubmission> = ready.iter().map(|(_, s, _)| s).collect();
    let request = json!({"claims": submissions, "control_number": control});
    let out = call(
        state,
        &link,
        "submit_claims",
        serde_json::to_vec(&request).map_err(|_| ApiError::Internal)?,
    )
    .await?;
    let x12 = out
        .get("x12")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::BadGateway("the connector returned no 837P".into()))?
        .to_string();
    let icn = format!("{control:09}");
    // 3. Write the file under a hidden temporary name (a transfer agent skips dot files); it
    // is renamed into place only once the claims are recorded as submitted, so a failure on
    // either side never leaves a sent file for claims still `ready`.
    let file_name = format!("837P-{icn}-{}.x12", Uuid::now_v7().simple());
    let path = outbox.join(&file_name);
    let tmp = outbox.join(format!(".{file_name}.tmp"));
    let bytes = x12.clone().into_bytes();
    let tmp2 = tmp.clone();
    web::block(move || -> std::io::Result<()> {
        std::fs::create_dir_all(tmp2.parent().unwrap_or(Path::new(".")))?;
        std::fs::write(&tmp2, &bytes)
    })
    .await
    .map_err(|_| ApiError::Internal)?
    .map_err(|e| {
        tracing::error!(error = %e.kind(), "writing an 837P into the outbox failed");
        ApiError::Core(CoreError::Unavailable(
            "the outbox cannot be written".into(),
        ))
    })?;
    // 4. Record the exchange and move the claims, with their audit events.
    let keyring = state.keyring.clone();
    let pool = state.pool.clone();
    let actor = who.subject.clone();
    let fname = file_name.clone();
    let icn2 = icn.clone();
    let recorded = web::block(move || -> CoreResult<_> {
        let mut conn = pool
            .get()
            .map_err(|e| CoreError::Unavailable(format!("database: {e}")))?;
        store::write_transaction(&mut conn, |c| {
            let e = x12_exchanges::record(
                c,
                &keyring,
                org,
                &ExchangeInput {
                    direction: "out",
                    kind: "837".into(),
                    file_name: Some(fname.clone()),
                    interchange_control_number: Some(icn2.clone()),
                    group_control_number: Some(control.to_string()),
                    transaction_control_number: Some(format!("{:04}", control % 10_000)),
                    claim_ids: ready.iter().map(|(c, _, _)| c.id).collect(),
                    status: "sent".into(),
                },
                x12.as_bytes(),
            )?;
            audit.with("x12.send", "X12Exchange").append_in_tx(
                c,
                201,
                Some(e.id),
                &Disclosed::default(),
            )?;
            let mut submitted = Vec::new();
            for (claim, _, patient) in &ready {
                let t = billing::transition(
                    c,
                    &keyring,
                    org,
                    claim.id,
                    ClaimStatus::Submitted,
                    &actor,
                    Some(format!("837P interchange {icn2}")),
                    None,
                )?;
                audit.with("submit", "Claim").append_in_tx(
                    c,
                    200,
                    Some(claim.id),
                    &Disclosed::of(&t),
                )?;
                submitted.push(SubmittedClaim {
                    claim_id: claim.id,
                    status: "submitted",
                    patient_control_number: Some(claim.patient_control_number.clone()),
                    findings: Vec::new(),
                    patient_id: Some(*patient),
                });
            }
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
    results.extend(submitted);
    Ok(SubmitResult {
        exchange_id: Some(exchange_id),
        file_name: Some(file_name),
        interchange_control_number: Some(icn),
        claims: results,
    })
}

// ---------------------------------------------------------------------------------------------
// Inbox polling

/// Starts the inbox poller when the payer connector has an inbox.
pub fn spawn_inbox_poller(state: web::Data<AppState>) -> Result<(), String> {
    let Ok(link) = payer_link(&state) else {
        return Ok(());
    };
    let Some(inbox) = link.transport.inbox.clone() else {
        return Ok(());
    };
    let org = match link.transport.org {
        Some(o) => OrgId(o),
        None => {
            let mut conn = state.pool.get().map_err(|e| e.to_string())?;
            match store::orgs::list(&mut conn)
                .map_err(|e| e.to_string())?
                .as_slice()
            {
                [only] => OrgId(only.id),
                _ => {
                    return Err(
                        "several organizations: say which one the payer inbox belongs to with \
                         config.org in connectors.toml"
                            .into(),
                    );
                }
            }
        }
    };
    for d in ["processed", "failed"] {
        std::fs::create_dir_all(inbox.join(d)).map_err(|e| format!("payer inbox: {e}"))?;
    }
    let poll = link.transport.poll;
    tracing::info!(connector = %link.name, "payer inbox polling started");
    actix_web::rt::spawn(async move {
        loop {
            if let Err(e) = poll_once(&state, &inbox, org).await {
                tracing::warn!(error = %e, "payer inbox poll failed");
            }
            actix_web::rt::time::sleep(poll).await;
        }
    });
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
/// moment) is claimed by renaming it
/// into `processed/` (atomic: two servers never both get it), then applied; a file that fails
/// moves on to `failed/`.
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
        let outcome = apply_file(state, &who, audit, raw, name.clone()).await;
        match outcome {
            Ok(kind) => tracing::info!(file = %name, kind = %kind, "payer inbox file applied"),
            Err(e) => {
                // The reason names segments and rules only (never element values).
                tracing::warn!(file = %name, reason = %e, "payer inbox file failed; moved to failed/");
                let _ = std::fs::rename(&claimed, inbox.join("failed").join(&name));
            }
        }
    }
    Ok(())
}

async fn apply_file(
    state: &web::Data<AppState>,
    who: &Principal,
    audit: AuditCtx,
    raw: Vec<u8>,
    name: String,
) -> Result<String, String> {
    let kind = transaction_kind(&raw).ok_or("not an X12 interchange with a transaction set")?;
    let describe = |e: ApiError| match e {
        ApiError::Core(CoreError::Invalid(errors)) => errors
            .iter()
            .map(|f| format!("{} {}", f.pointer, f.message))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    };
    match kind.as_str() {
        "835" => {
            import_835(
                state,
                who.org,
                who.subject.clone(),
                audit,
                raw,
                Some(name),
                true,
            )
            .await
            .map_err(describe)?;
        }
        "999" | "TA1" => apply_acks(state, who, audit, raw, name, &kind)
            .await
            .map_err(describe)?,
        "277" => apply_277(state, who, audit, raw, name)
            .await
            .map_err(describe)?,
        other => return Err(format!("transaction set {other} is not handled")),
    }
    Ok(kind)
}

/// The claims an outbound 837P with this group control number carried.
fn claims_of_group(conn: &mut DbConnection, org: OrgId, gcn: &str) -> CoreResult<Vec<Uuid>> {
    Ok(x12_exchanges::recent(conn, org, 500)?
        .into_iter()
        .filter(|e| e.direction == "out" && e.kind == "837")
        .filter(|e| {
            e.group_control_number.as_deref() == Some(gcn)
                || e.interchange_control_number
                    .as_deref()
                    .is_some_and(|i| i.trim_start_matches('0') == gcn.trim_start_matches('0'))
        })
        .flat_map(|e| e.claim_ids)
        .collect())
}

/// Moves `claims` to `to` where the lifecycle allows (others are left and logged by count).
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
        if claim.status == *to {
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

async fn record_and_apply<F>(
    state: &web::Data<AppState>,
    who: &Principal,
    audit: AuditCtx,
    raw: Vec<u8>,
    name: String,
    kind: String,
    plan: F,
) -> ApiResult<()>
where
    F: FnOnce(&mut DbConnection) -> CoreResult<Vec<(Uuid, ClaimStatus, String)>> + Send + 'static,
{
    let keyring = state.keyring.clone();
    let pool = state.pool.clone();
    let org = who.org;
    let actor = who.subject.clone();
    web::block(move || -> CoreResult<()> {
        let mut conn = pool
            .get()
            .map_err(|e| CoreError::Unavailable(format!("database: {e}")))?;
        store::write_transaction(&mut conn, |c| {
            let moves = plan(c)?;
            let (icn, gcn) = control_numbers(&raw);
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
                    claim_ids: moves.iter().map(|m| m.0).collect(),
                    status: "processed".into(),
                },
                &raw,
            )?;
            audit.append_in_tx(c, 201, Some(e.id), &Disclosed::default())?;
            move_claims(c, &keyring, org, &audit, &actor, &moves)?;
            Ok(())
        })
    })
    .await
    .map_err(|_| ApiError::Internal)??;
    Ok(())
}

/// 999/TA1: a rejected 837P transaction (or interchange) rejects its claims; an accepted one
/// moves them to `accepted`.
async fn apply_acks(
    state: &web::Data<AppState>,
    who: &Principal,
    audit: AuditCtx,
    raw: Vec<u8>,
    name: String,
    kind: &str,
) -> ApiResult<()> {
    let link = payer_link(state)?;
    let out = call(state, &link, "parse_ack", raw.clone()).await?;
    let org = who.org;
    let plan = move |c: &mut DbConnection| -> CoreResult<Vec<(Uuid, ClaimStatus, String)>> {
        let mut moves = Vec::new();
        for a in out["ack999"].as_array().into_iter().flatten() {
            if a["functional_id"] != "HC" {
                continue;
            }
            let gcn = a["group_control_number"].as_str().unwrap_or_default();
            let rejected = a["accepted"] != true;
            for id in claims_of_group(c, org, gcn)? {
                moves.push(if rejected {
                    (
                        id,
                        ClaimStatus::Rejected,
                        format!("999 rejected group {gcn}"),
                    )
                } else {
                    (
                        id,
                        ClaimStatus::Accepted,
                        format!("999 accepted group {gcn}"),
                    )
                });
            }
        }
        for t in out["ta1"].as_array().into_iter().flatten() {
            if t["accepted"] == true {
                continue;
            }
            let icn = t["control_number"].as_str().unwrap_or_default();
            for id in claims_of_group(c, org, icn)? {
                moves.push((
                    id,
                    ClaimStatus::Rejected,
                    format!("TA1 rejected interchange {icn}"),
                ));
            }
        }
        Ok(moves)
    };
    record_and_apply(state, who, audit, raw, name, kind.to_string(), plan).await
}

/// 277CA: category A1-A5 accepts a claim, A3/A6/A7/A8 and R* reject it (matched by CLM01).
async fn apply_277(
    state: &web::Data<AppState>,
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
    let plan = move |c: &mut DbConnection| -> CoreResult<Vec<(Uuid, ClaimStatus, String)>> {
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
        Ok(moves)
    };
    record_and_apply(state, who, audit, raw, name, "277CA".into(), plan).await
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

/// Posts an X12 request to the clearinghouse and returns its answer. Plain HTTP only to a
/// loopback address: the body is PHI.
async fn post_to_clearinghouse(
    state: &AppState,
    link: &PayerLink,
    path: &str,
    body: String,
) -> ApiResult<Vec<u8>> {
    let base = link.transport.clearinghouse_url.clone().ok_or_else(|| {
        ApiError::Core(CoreError::Unavailable(
            "the payer connector has no clearinghouse_url configured".into(),
        ))
    })?;
    let url = reqwest::Url::parse(&format!("{base}{path}")).map_err(|_| {
        ApiError::Core(CoreError::Unavailable(
            "clearinghouse_url is not a URL".into(),
        ))
    })?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    if url.scheme() != "https" && !loopback {
        return Err(ApiError::Core(CoreError::Unavailable(
            "clearinghouse_url must be https (plain http only on loopback)".into(),
        )));
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(state.connectors.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .build()
        .map_err(|_| ApiError::Internal)?;
    let resp = client
        .post(url)
        .header("content-type", "application/edi-x12")
        .body(body)
        .send()
        .await
        .map_err(|e| {
            tracing::warn!(timeout = e.is_timeout(), "clearinghouse request failed");
            ApiError::BadGateway("the clearinghouse did not answer".into())
        })?;
    if !resp.status().is_success() {
        return Err(ApiError::BadGateway(format!(
            "the clearinghouse answered {}",
            resp.status().as_u16()
        )));
    }
    resp.bytes()
        .await
        .map(|b| b.to_vec())
        .map_err(|_| ApiError::BadGateway("the clearinghouse's answer was cut short".into()))
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
    patient_id: Uuid,
) -> ApiResult<RealTimeResult> {
    let link = payer_link(state)?;
    let org = who.org;
    let pool = state.pool.clone();
    let control = web::block(move || -> CoreResult<u32> {
        let mut conn = pool
            .get()
            .map_err(|e| CoreError::Unavailable(format!("database: {e}")))?;
        x12_exchanges::next_control_number(&mut conn, org)
    })
    .await
    .map_err(|_| ApiError::Internal)??;
    let input = json!({"requests": [request], "control_number": control});
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
    let answer = post_to_clearinghouse(state, &link, path, x12.clone()).await?;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let parsed = call(
        state,
        &link,
        op,
        serde_json::to_vec(&json!({ "x12": text })).map_err(|_| ApiError::Internal)?,
    )
    .await?;
    let responses = parsed["responses"].as_array().cloned().unwrap_or_default();
    let keyring = state.keyring.clone();
    let pool = state.pool.clone();
    let icn = format!("{control:09}");
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
                    status: "sent".into(),
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
                    status: "processed".into(),
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
    let org = who.org;
    let keyring = state.keyring.clone();
    let pool = state.pool.clone();
    let (request, patient_id) = web::block(move || -> CoreResult<(Value, Uuid)> {
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
        Ok((request, patient.id))
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
        patient_id,
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
    let (request, patient_id) = web::block(move || -> CoreResult<(Value, Uuid)> {
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
        Ok((request, patient_id))
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
        patient_id,
    )
    .await
}
