//! `/v1/work-queues`: a file per queue.

pub mod denials;
pub mod unidentified_remittances;
pub mod unmatched_remittances;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.configure(denials::configure)
        .configure(unmatched_remittances::configure)
        .configure(unidentified_remittances::configure);
}
