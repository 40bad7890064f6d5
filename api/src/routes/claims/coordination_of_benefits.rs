//! Coordination of benefits: billing the next payer (secondary, then tertiary) and reading what
//! a secondary claim carries.

use actix_web::{HttpResponse, get, post, web};
use revcycle_core::store::cob::{self, SecondaryClaim};
use uuid::Uuid;

use crate::authz::{Authorized, act, res};
use crate::db;
use crate::extract::IdempotencyKey;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_secondary_claim)
        .service(get_secondary_claim);
}

/// Bill the next payer (secondary, then tertiary)
///
/// Coordination of benefits: once a payer has adjudicated the claim (paid, partially_paid,
/// denied, appealed or closed) and its remittance is posted, creates a `draft` claim for the
/// same services billed to the patient's next active coverage on the date of service: the
/// secondary coverage for a primary claim, the tertiary coverage for a secondary claim. The
/// new claim carries every earlier payer's decision as its posted remittance gave it (paid,
/// patient responsibility, each CAS adjustment per line and at claim level, net of CLP02 22
/// reversals), which its 837P sends as loops 2320/2330A/2330B/2430. It posts no charges (the
/// services were charged on the primary claim); its payer's 835 posts onto the primary
/// claim's lines, settling what the earlier payers left to the patient. One such claim per
/// claim (409); 409 also when the payer's decision is not posted yet. Accepts an
/// `Idempotency-Key`.
#[utoipa::path(tag = "billing",
    params(("id" = Uuid, Path, description = "The claim the next payer follows (a primary or a secondary claim)"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key answers with the first response")),
    responses(
        (status = 201, description = "The secondary (or tertiary) claim and the decisions it carries", body = SecondaryClaim),
        (status = 409, description = "Not yet adjudicated (or its remittance not posted), a next payer's claim exists, or the claim is tertiary", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The patient has no active coverage of the next priority on the date of service", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such claim", body = Problem, content_type = "application/problem+json")))]
#[post("/claims/{id}/secondary")]
pub async fn create_secondary_claim(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::Claim, act::Create>,
    id: web::Path<Uuid>,
    key: IdempotencyKey,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let org = who.org;
    let replayed = revcycle_core::audit::Disclosed {
        patient_ids: Default::default(),
        fields: ["primary_adjudication"].into(),
    };
    db::write_once(
        &state,
        &who,
        audit,
        201,
        Some(id),
        key.0,
        format!("secondary:{id}"),
        replayed,
        move |c| cob::create_secondary(c, org, id),
    )
    .await
}

/// Read a secondary claim's coordination of benefits
///
/// The secondary (or tertiary) claim with the earlier payers' decisions it carries; 404 when
/// the claim follows no other claim.
#[utoipa::path(tag = "billing", params(("id" = Uuid, Path, description = "Secondary claim id")),
    responses(
        (status = 200, description = "The secondary claim and the adjudication it carries", body = SecondaryClaim),
        (status = 404, description = "No such secondary claim", body = Problem, content_type = "application/problem+json")))]
#[get("/claims/{id}/cob")]
pub async fn get_secondary_claim(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::Claim, act::Read>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let r = db::run(&state, move |c| cob::get_secondary(c, who.org, id)).await?;
    Ok(db::json(&who, r))
}
