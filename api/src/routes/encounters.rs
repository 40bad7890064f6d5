use actix_web::{get, post, put};
use revcycle_core::model::Page;
use revcycle_core::model::encounter::{Encounter, EncounterFilter, EncounterInput};
use revcycle_core::store::encounters;

use crate::authz::res;
use crate::routes::crud;
use crate::routes::page_query::PageQuery;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_encounter)
        .service(list_encounters)
        .service(get_encounter)
        .service(update_encounter);
}

crud::create! {
    /// Record a coded encounter
    ///
    /// Diagnoses (ICD-10-CM, principal first) and service lines (CPT/HCPCS with up to four
    /// modifiers, units, charge and one to four 1-based diagnosis pointers). The patient, coverage
    /// and providers must exist in your organization, and the coverage must be the patient's.
    #[utoipa::path(tag = "encounters", request_body = EncounterInput,
        responses((status = 201, description = "Created", body = Encounter,
            headers(("Location" = String, description = "URL of the new encounter"), ("ETag" = String)))))]
    fn create_encounter("/encounters", res::Encounter, EncounterInput)
        => |c, _keyring, org, input| encounters::create(c, org, &input)
}

crud::list! {
    /// List encounters
    #[utoipa::path(tag = "encounters", params(PageQuery, EncounterFilter),
        responses((status = 200, description = "A page of encounters, oldest first", body = Page<Encounter>)))]
    fn list_encounters("/encounters", res::Encounter, EncounterFilter)
        => |c, _keyring, org, filter, page| encounters::list(c, org, filter, page)
}

crud::read! {
    /// Read an encounter
    #[utoipa::path(tag = "encounters", params(("id" = Uuid, Path, description = "Encounter id")),
        responses((status = 200, description = "The encounter", body = Encounter, headers(("ETag" = String)))))]
    fn get_encounter("/encounters/{id}", res::Encounter)
        => |c, _keyring, org, id| encounters::get(c, org, id)
}

crud::replace! {
    /// Replace an encounter
    ///
    /// Send the whole encounter with `If-Match` set to the ETag you read; a stale ETag gets 412.
    /// Claims already created from it keep their own copy of the coding.
    #[utoipa::path(tag = "encounters", request_body = EncounterInput,
        params(("id" = Uuid, Path, description = "Encounter id"), ("If-Match" = String, Header, description = "ETag of the version being replaced")),
        responses((status = 200, description = "Updated", body = Encounter, headers(("ETag" = String)))))]
    fn update_encounter("/encounters/{id}", res::Encounter, EncounterInput)
        => |c, _keyring, org, id, version, input| encounters::update(c, org, id, version, &input)
}
