//! `/v1/coverages`: a file per concern of the resource.

pub mod eligibility;
pub mod records;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.configure(records::configure)
        .configure(eligibility::configure);
}
