//! `/v1/remittances`: a file per concern of the resource.

pub mod posting;
pub mod records;
pub mod x12_import;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.configure(x12_import::configure)
        .configure(records::configure)
        .configure(posting::configure);
}
