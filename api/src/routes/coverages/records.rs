//! Coverages as records: create, list, search, read, update.

use actix_web::{get, post, put};
use revcycle_core::model::Page;
use revcycle_core::model::coverage::{Coverage, CoverageFilter, CoverageInput, CoverageSearch};
use revcycle_core::store::coverages;

use crate::authz::res;
use crate::routes::crud;
use crate::routes::page_query::PageQuery;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_coverage)
        .service(search_coverages)
        .service(list_coverages)
        .service(get_coverage)
        .service(update_coverage);
}

crud::create! {
    /// Add a coverage
    ///
    /// A patient's insurance with one payer. Member id, group number and subscriber demographics
    /// are encrypted per field.
    #[utoipa::path(tag = "coverages", request_body = CoverageInput,
        responses((status = 201, description = "Created", body = Coverage,
            headers(("Location" = String, description = "URL of the new coverage"), ("ETag" = String)))))]
    fn create_coverage("/coverages", res::Coverage, CoverageInput)
        => |c, keyring, org, mut input| coverages::create(c, keyring, org, &mut input)
}

crud::list! {
    /// List coverages
    #[utoipa::path(tag = "coverages", params(PageQuery, CoverageFilter),
        responses((status = 200, description = "A page of coverages, oldest first", body = Page<Coverage>)))]
    fn list_coverages("/coverages", res::Coverage, CoverageFilter)
        => coverages::list
}

crud::search! {
    /// Search coverages by member id
    ///
    /// Exact match through a blind index; case, spaces and dashes do not matter.
    #[utoipa::path(tag = "coverages", request_body = CoverageSearch,
        responses((status = 200, description = "Matching coverages", body = CoverageSearchResult)))]
    fn search_coverages("/coverages/search", res::Coverage, CoverageSearch) -> CoverageSearchResult<Coverage>
        => coverages::search
}

crud::read! {
    /// Read a coverage
    #[utoipa::path(tag = "coverages", params(("id" = Uuid, Path, description = "Coverage id")),
        responses((status = 200, description = "The coverage, decrypted", body = Coverage, headers(("ETag" = String)))))]
    fn get_coverage("/coverages/{id}", res::Coverage)
        => coverages::get
}

crud::replace! {
    /// Replace a coverage
    ///
    /// Send the whole coverage with `If-Match` set to the ETag you read; a stale ETag gets 412.
    #[utoipa::path(tag = "coverages", request_body = CoverageInput,
        params(("id" = Uuid, Path, description = "Coverage id"), ("If-Match" = String, Header, description = "ETag of the version being replaced")),
        responses((status = 200, description = "Updated", body = Coverage, headers(("ETag" = String)))))]
    fn update_coverage("/coverages/{id}", res::Coverage, CoverageInput)
        => |c, keyring, org, id, version, mut input| {
            coverages::update(c, keyring, org, id, version, &mut input)
        }
}
