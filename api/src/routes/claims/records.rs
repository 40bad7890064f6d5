//! Claims as records: create one from an encounter, list, read, recode a draft.

use actix_web::{get, post, put};
use revcycle_core::model::Page;
use revcycle_core::model::claim::{Claim, ClaimFilter, ClaimInput, ClaimUpdate};
use revcycle_core::store::claims;

use crate::authz::res;
use crate::routes::crud;
use crate::routes::page_query::PageQuery;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_claim)
        .service(list_claims)
        .service(get_claim)
        .service(update_claim);
}

crud::create! {
    /// Create a claim from an encounter
    ///
    /// Copies the encounter's diagnoses and service lines, takes the payer from its coverage,
    /// assigns a unique patient control number (CLM01, 20 characters) and totals the charges.
    /// The claim starts as `draft`. A replacement (frequency 7) or void (8) names the original
    /// claim and the payer's claim control number for it.
    #[utoipa::path(tag = "claims", request_body = ClaimInput,
        responses((status = 201, description = "Created", body = Claim,
            headers(("Location" = String, description = "URL of the new claim"), ("ETag" = String)))))]
    fn create_claim("/claims", res::Claim, ClaimInput)
        => |c, _keyring, org, input| claims::create(c, org, &input)
}

crud::list! {
    /// List claims
    #[utoipa::path(tag = "claims", params(PageQuery, ClaimFilter),
        responses((status = 200, description = "A page of claims, oldest first", body = Page<Claim>)))]
    fn list_claims("/claims", res::Claim, ClaimFilter)
        => |c, _keyring, org, filter, page| claims::list(c, org, filter, page)
}

crud::read! {
    /// Read a claim
    #[utoipa::path(tag = "claims", params(("id" = Uuid, Path, description = "Claim id")),
        responses((status = 200, description = "The claim with its lines", body = Claim, headers(("ETag" = String)))))]
    fn get_claim("/claims/{id}", res::Claim)
        => |c, _keyring, org, id| claims::get(c, org, id)
}

crud::replace! {
    /// Recode a draft claim
    ///
    /// Replace the coding of a claim still in `draft` (409 once it has moved on). Send
    /// `If-Match` with the ETag you read; a stale ETag gets 412.
    #[utoipa::path(tag = "claims", request_body = ClaimUpdate,
        params(("id" = Uuid, Path, description = "Claim id"), ("If-Match" = String, Header, description = "ETag of the version being replaced")),
        responses((status = 200, description = "Updated", body = Claim, headers(("ETag" = String)))))]
    fn update_claim("/claims/{id}", res::Claim, ClaimUpdate)
        => |c, _keyring, org, id, version, input| claims::update(c, org, id, version, &input)
}
