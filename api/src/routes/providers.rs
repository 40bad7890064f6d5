use actix_web::{get, post, put};
use revcycle_core::model::Page;
use revcycle_core::model::provider::{Provider, ProviderFilter, ProviderInput};
use revcycle_core::store::providers;

use crate::authz::res;
use crate::routes::crud;
use crate::routes::page_query::PageQuery;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_provider)
        .service(list_providers)
        .service(get_provider)
        .service(update_provider);
}

crud::create! {
    /// Create a provider
    ///
    /// One NPI is one provider, with the set of claim slots it may fill in `roles`: `billing`
    /// (the practice or group that is paid, 837P loop 2010AA), `rendering` (the clinician, loop
    /// 2310B), `referring` (2310A), `supervising` (2310D). A solo practitioner who bills under
    /// their own NPI is one provider with `["billing", "rendering"]`. A second provider with the
    /// same NPI gets 409: add the role to the existing one (`PUT`). The NPI's check digit is
    /// verified.
    #[utoipa::path(tag = "providers", request_body = ProviderInput,
        responses((status = 201, description = "Created", body = Provider,
            headers(("Location" = String, description = "URL of the new provider"), ("ETag" = String)))))]
    fn create_provider("/providers", res::Provider, ProviderInput)
        => |c, _keyring, org, input| providers::create(c, org, &input)
}

crud::list! {
    /// List providers
    #[utoipa::path(tag = "providers", params(PageQuery, ProviderFilter),
        responses((status = 200, description = "A page of providers, oldest first", body = Page<Provider>)))]
    fn list_providers("/providers", res::Provider, ProviderFilter)
        => |c, _keyring, org, filter, page| providers::list(c, org, filter, page)
}

crud::read! {
    /// Read a provider
    #[utoipa::path(tag = "providers", params(("id" = Uuid, Path, description = "Provider id")),
        responses((status = 200, description = "The provider", body = Provider, headers(("ETag" = String)))))]
    fn get_provider("/providers/{id}", res::Provider)
        => |c, _keyring, org, id| providers::get(c, org, id)
}

crud::replace! {
    /// Replace a provider
    ///
    /// Send the whole provider with `If-Match` set to the ETag you read; a stale ETag gets 412.
    #[utoipa::path(tag = "providers", request_body = ProviderInput,
        params(("id" = Uuid, Path, description = "Provider id"), ("If-Match" = String, Header, description = "ETag of the version being replaced")),
        responses((status = 200, description = "Updated", body = Provider, headers(("ETag" = String)))))]
    fn update_provider("/providers/{id}", res::Provider, ProviderInput)
        => |c, _keyring, org, id, version, input| providers::update(c, org, id, version, &input)
}
