//! Remittances (835) as records: store one, list, read.

use actix_web::{get, post};
use revcycle_core::model::Page;
use revcycle_core::model::remittance::{Remittance, RemittanceFilter, RemittanceInput};
use revcycle_core::store::remittances;

use crate::authz::res;
use crate::routes::crud;
use crate::routes::page_query::PageQuery;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_remittance)
        .service(list_remittances)
        .service(get_remittance);
}

crud::create! {
    /// Store a remittance
    ///
    /// The structured form of a payer's 835: payment header (trace number, date, method, total),
    /// claim payments with CAS adjustments and service-line detail, and PLB provider
    /// adjustments. It is kept exactly as received (a received document is never edited);
    /// posting it to claims is a separate step. A second remittance with the same trace number
    /// from the same payer is refused with 409.
    #[utoipa::path(tag = "remittances", request_body = RemittanceInput,
        responses((status = 201, description = "Stored", body = Remittance,
            headers(("Location" = String, description = "URL of the stored remittance"), ("ETag" = String)))))]
    fn create_remittance("/remittances", res::Remittance, RemittanceInput)
        => |c, _keyring, org, input| remittances::create(c, org, &input)
}

crud::list! {
    /// List remittances
    #[utoipa::path(tag = "remittances", params(PageQuery, RemittanceFilter),
        responses((status = 200, description = "A page of remittances, oldest first", body = Page<Remittance>)))]
    fn list_remittances("/remittances", res::Remittance, RemittanceFilter)
        => |c, _keyring, org, filter, page| remittances::list(c, org, filter, page)
}

crud::read! {
    /// Read a remittance
    #[utoipa::path(tag = "remittances", params(("id" = Uuid, Path, description = "Remittance id")),
        responses((status = 200, description = "The remittance as received", body = Remittance, headers(("ETag" = String)))))]
    fn get_remittance("/remittances/{id}", res::Remittance)
        => |c, _keyring, org, id| remittances::get(c, org, id)
}
