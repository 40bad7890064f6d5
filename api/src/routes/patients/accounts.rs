//! Patient accounts: balance, payments and payment plans, all folded from the ledger
//! (statements are in `routes::statements`).

use actix_web::{HttpResponse, get, post, web};
use revcycle_core::audit::Disclosed;
use revcycle_core::model::Page;
use revcycle_core::store::accounts::{
    self, PatientBalance, PatientPaymentInput, PatientPaymentResult,
};
use revcycle_core::store::payment_plans::{self, PaymentPlan, PaymentPlanInput};
use uuid::Uuid;

use crate::authz::{Authorized, act, res};
use crate::db;
use crate::extract::{IdempotencyKey, JsonBody};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(patient_balance)
        .service(patient_payment)
        .service(create_payment_plan)
        .service(list_payment_plans);
}

/// Set up a payment plan
///
/// The patient pays what they owe now (or `amount`, at most that) in 2 to 60 monthly
/// installments from `first_due`: equal installments in whole cents, the last taking the
/// remainder. Payments are posted as usual (`POST /v1/patients/{id}/payments`); the plan's
/// progress (`paid_to_date`, installments `paid`, `status` `completed`) is derived from the
/// patient payments posted since it began. One active plan per patient (409 otherwise).
/// Needs the *update* permission on claims, like payments. Accepts an `Idempotency-Key`.
#[utoipa::path(tag = "accounts", request_body = PaymentPlanInput,
    params(("id" = Uuid, Path, description = "Patient id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body answer with the first response")),
    responses(
        (status = 201, description = "The plan with its schedule", body = PaymentPlan),
        (status = 409, description = "The patient already has an active plan", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Installments out of range, or an amount above what the patient owes", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such patient", body = Problem, content_type = "application/problem+json")))]
#[post("/patients/{id}/payment-plans")]
pub async fn create_payment_plan(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::Claim, act::Update>,
    id: web::Path<Uuid>,
    key: IdempotencyKey,
    body: JsonBody<PaymentPlanInput>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let org = who.org;
    let input = body.value;
    let replayed = Disclosed {
        patient_ids: [id].into(),
        fields: ["balances", "payment_plan"].into(),
    };
    db::write_once(
        &state,
        &who,
        audit,
        201,
        Some(id),
        key.0,
        body.hash,
        replayed,
        move |c| payment_plans::create(c, org, id, &input),
    )
    .await
}

/// List a patient's payment plans
///
/// Oldest first, each with its schedule and progress, as one page like every other list
/// (`next_cursor` is always absent: a patient has few plans).
#[utoipa::path(tag = "accounts", params(("id" = Uuid, Path, description = "Patient id")),
    responses(
        (status = 200, description = "The patient's plans", body = Page<PaymentPlan>),
        (status = 404, description = "No such patient", body = Problem, content_type = "application/problem+json")))]
#[get("/patients/{id}/payment-plans")]
pub async fn list_payment_plans(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::Patient, act::Read>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let items = db::run(&state, move |c| payment_plans::list(c, who.org, id)).await?;
    Ok(db::json(
        &who,
        Page {
            items,
            next_cursor: None,
        },
    ))
}

/// Read a patient's balance
///
/// What the patient owes (`patient_due`: the patient part of all their claims less any
/// unapplied credit), what payers still owe on their claims (`insurance_pending`), the
/// unapplied credit, and each claim's balance, oldest date of service first.
#[utoipa::path(tag = "accounts", params(("id" = Uuid, Path, description = "Patient id")),
    responses(
        (status = 200, description = "The patient's balance", body = PatientBalance),
        (status = 404, description = "No such patient", body = Problem, content_type = "application/problem+json")))]
#[get("/patients/{id}/balance")]
pub async fn patient_balance(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::Patient, act::Read>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let b = db::run(&state, move |c| accounts::patient_balance(c, who.org, id)).await?;
    Ok(db::json(&who, b))
}

/// Record a patient payment
///
/// Posts a payment from the patient. With `claim_id` it goes to that claim's open items;
/// without, to the patient's open items oldest date of service first (lines in line order).
/// Whatever exceeds what is owed becomes unapplied credit on the account, never a negative
/// claim balance. Needs the *update* permission on claims (payments change claim balances).
///
/// Send an `Idempotency-Key` so a retried request cannot post the payment twice: a retry with
/// the same key and body answers with the first response (`Idempotent-Replayed: true`).
#[utoipa::path(tag = "accounts", request_body = PatientPaymentInput,
    params(("id" = Uuid, Path, description = "Patient id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body answer with the first response")),
    responses(
        (status = 200, description = "The entries posted and the balance after", body = PatientPaymentResult),
        (status = 422, description = "Not a positive amount, or the named claim has nothing owed by the patient", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such patient", body = Problem, content_type = "application/problem+json")))]
#[post("/patients/{id}/payments")]
pub async fn patient_payment(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::Claim, act::Update>,
    id: web::Path<Uuid>,
    key: IdempotencyKey,
    body: JsonBody<PatientPaymentInput>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let org = who.org;
    let input = body.value;
    let replayed = Disclosed {
        patient_ids: [id].into(),
        fields: ["balances", "ledger"].into(),
    };
    db::write_once(
        &state,
        &who,
        audit,
        200,
        Some(id),
        key.0,
        body.hash,
        replayed,
        move |c| accounts::patient_payment(c, org, id, &input),
    )
    .await
}
