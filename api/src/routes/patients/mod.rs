//! `/v1/patients`: a file per concern of the resource.

pub mod accounts;
pub mod disclosures;
pub mod records;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.configure(records::configure)
        .configure(accounts::configure)
        .configure(disclosures::configure);
}
