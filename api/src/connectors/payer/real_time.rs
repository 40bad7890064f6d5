//! Real-time eligibility (270/271) and claim status (276/277) over a clearinghouse HTTP API.

use actix_web::web;
use revcycle_connector_abi::canonical::v1 as canonical;
use revcycle_core::access::{Mask, Principal, View};
use revcycle_core::audit::{Disclosed, Discloses};
use revcycle_core::error::{CoreError, CoreResult};
use revcycle_core::model::event::{EventData, RealTimeCompleted};
use revcycle_core::store::x12_exchanges::{self, ExchangeInput};
use revcycle_core::store::{self, claims, coverages, patients, payers, providers};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::canonical_parts::{demographics, payer_ref, provider_ref, subscriber_of};
use super::claim_mapping::claim_submission;
use super::http::post_to_clearinghouse;
use super::interchange::allocate_control_number;
use super::link::{call_as, payer_link};
use super::real_time_check::{Asked, mismatch};
use crate::problem::{ApiError, ApiResult};
use crate::request_audit::context::AuditCtx;
use crate::state::AppState;

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

/// The payer of a real-time request and the claim it is about (276), for routing and the
/// exchange record.
pub(super) struct RealTimeTarget {
    payer_id: Uuid,
    payer_code: Option<String>,
    claim_id: Option<Uuid>,
    patient_id: Uuid,
}

/// A real-time request: a 270 or a 276.
pub(super) enum RealTimeRequest {
    Eligibility(canonical::EligibilityRequest),
    ClaimStatus(canonical::ClaimStatusRequest),
}

impl RealTimeRequest {
    /// The plugin's operation, the clearinghouse path, and the kinds of X12 out and in.
    fn route(&self) -> (&'static str, &'static str, (&'static str, &'static str)) {
        match self {
            RealTimeRequest::Eligibility(_) => {
                ("check_eligibility", "/eligibility", ("270", "271"))
            }
            RealTimeRequest::ClaimStatus(_) => ("claim_status", "/claim-status", ("276", "277")),
        }
    }

    /// What the answer must echo.
    fn asked(&self) -> Asked {
        match self {
            RealTimeRequest::Eligibility(r) => Asked {
                trace_number: r.trace_number.clone(),
                member_id: r.subscriber.member_id.clone(),
                claim_control_number: None,
            },
            RealTimeRequest::ClaimStatus(r) => Asked {
                trace_number: r.trace_number.clone(),
                member_id: r.subscriber.member_id.clone(),
                claim_control_number: Some(r.claim_control_number.clone()),
            },
        }
    }

    /// The plugin's input to build the request's X12.
    fn build_input(&self, envelope: canonical::EnvelopeOverrides) -> serde_json::Result<Vec<u8>> {
        match self {
            RealTimeRequest::Eligibility(r) => {
                serde_json::to_vec(&canonical::CheckEligibilityInput {
                    requests: vec![r.clone()],
                    x12: None,
                    envelope,
                })
            }
            RealTimeRequest::ClaimStatus(r) => serde_json::to_vec(&canonical::ClaimStatusInput {
                requests: vec![r.clone()],
                x12: None,
                envelope,
            }),
        }
    }

    /// The plugin's input to read an answer.
    fn read_input(&self, x12: String) -> serde_json::Result<Vec<u8>> {
        match self {
            RealTimeRequest::Eligibility(_) => {
                serde_json::to_vec(&canonical::CheckEligibilityInput {
                    x12: Some(x12),
                    ..Default::default()
                })
            }
            RealTimeRequest::ClaimStatus(_) => serde_json::to_vec(&canonical::ClaimStatusInput {
                x12: Some(x12),
                ..Default::default()
            }),
        }
    }
}

/// Request out, answer in: the plugin builds the request, the clearinghouse answers, the
/// plugin reads the answer; both files are recorded with the request's audit event.
pub(super) async fn real_time(
    state: &AppState,
    who: &Principal,
    audit: AuditCtx,
    request: RealTimeRequest,
    target: RealTimeTarget,
) -> ApiResult<RealTimeResult> {
    let (op, path, kinds) = request.route();
    let asked = request.asked();
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
    let input = request
        .build_input(canonical::EnvelopeOverrides {
            control_number: Some(control),
            sender_id: Some(sender),
            receiver_id: route.receiver_id.clone(),
            ..Default::default()
        })
        .map_err(|_| ApiError::Internal)?;
    let out: canonical::RequestX12 = call_as(state, &link, op, input).await?;
    if out.x12.is_empty() {
        return Err(ApiError::BadGateway(
            "the connector built no request".into(),
        ));
    }
    let x12 = out.x12;
    let answer = post_to_clearinghouse(state, &route, path, x12.clone()).await?;
    let text = String::from_utf8_lossy(&answer).into_owned();
    // The answer as the operation's typed output (a 502 when the plugin's is another shape),
    // then as the JSON the check below and the API's answer use.
    let read = request.read_input(text).map_err(|_| ApiError::Internal)?;
    let (responses, answer_envelopes) = match &request {
        RealTimeRequest::Eligibility(_) => {
            let a: canonical::EligibilityAnswers = call_as(state, &link, op, read).await?;
            (values(&a.responses)?, a.envelopes)
        }
        RealTimeRequest::ClaimStatus(_) => {
            let a: canonical::ClaimStatusAnswers = call_as(state, &link, op, read).await?;
            (values(&a.responses)?, a.envelopes)
        }
    };
    let answer_control_numbers = answer_envelopes.control_numbers();
    // An answer to another request is recorded as failed and never shown as the answer.
    let refused = mismatch(kinds.1, &asked, &responses);
    let answer_detail = refused.clone();
    let keyring = state.keyring.clone();
    let pool = state.pool.clone();
    let (sent_icn, sent_gcn) = out.envelopes.control_numbers();
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
                    interchange_control_number: sent_icn.clone(),
                    group_control_number: sent_gcn.clone(),
                    claim_ids: claim_ids.clone(),
                    status: "sent".into(),
                    payer_id: Some(payer_id),
                    transport: Some("http".into()),
                    ..Default::default()
                },
                x12.as_bytes(),
            )?;
            let (ricn, rgcn) = answer_control_numbers.clone();
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
            let done = RealTimeCompleted {
                request_exchange_id: sent.id,
                answer_exchange_id: got.id,
                payer_id,
                claim_id: claim_ids.first().copied(),
                status: got.status.clone(),
            };
            store::events::emit(
                c,
                org,
                &if kinds.0 == "270" {
                    EventData::EligibilityCompleted(done)
                } else {
                    EventData::ClaimStatusCompleted(done)
                },
            )?;
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
    let (request, target) = crate::db::run_long(state, move |conn| {
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
        let request = canonical::EligibilityRequest {
            schema_version: canonical::SCHEMA_VERSION,
            trace_number: Some(Uuid::now_v7().simple().to_string()[..30].to_string()),
            payer: payer_ref(&payer),
            provider: provider_ref(&provider),
            subscriber,
            dependent: (relationship != "self").then_some(demo),
            service_type_codes: input
                .service_type_codes
                .unwrap_or_else(|| vec!["30".into()]),
            date_of_service: input.date_of_service.map(|d| d.to_string()),
        };
        let request = RealTimeRequest::Eligibility(request);
        let target = RealTimeTarget {
            payer_id: payer.id,
            payer_code: Some(payer.payer_code.clone()),
            claim_id: None,
            patient_id: patient.id,
        };
        Ok((request, target))
    })
    .await?;
    real_time(state, who, audit, request, target).await
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
    let (request, target) = crate::db::run_long(state, move |conn| {
        let claim = claims::get(conn, org, claim_id)?;
        let (submission, patient_id) = claim_submission(conn, &keyring, org, &claim)?;
        let billing = providers::get(conn, org, claim.billing_provider_id)?;
        let request = canonical::ClaimStatusRequest {
            schema_version: canonical::SCHEMA_VERSION,
            trace_number: Some(Uuid::now_v7().simple().to_string()[..30].to_string()),
            payer: submission.payer.clone(),
            provider: provider_ref(&billing),
            subscriber: submission.subscriber.clone(),
            patient: submission.patient.clone(),
            claim_control_number: claim.patient_control_number.clone(),
            payer_claim_number: None,
            total_charge: Some(claim.total_charge.to_string()),
            service_period: canonical::Period {
                start: Some(claim.service_date_from.to_string()),
                end: Some(claim.service_date_to.to_string()),
            },
        };
        let request = RealTimeRequest::ClaimStatus(request);
        let target = RealTimeTarget {
            payer_id: claim.payer_id.unwrap_or_default(),
            payer_code: submission.payer.payer_id.clone(),
            claim_id: Some(claim.id),
            patient_id,
        };
        Ok((request, target))
    })
    .await?;
    real_time(state, who, audit, request, target).await
}

/// Typed answers as JSON values.
fn values<T: Serialize>(items: &[T]) -> ApiResult<Vec<Value>> {
    items
        .iter()
        .map(|i| serde_json::to_value(i).map_err(|_| ApiError::Internal))
        .collect()
}
