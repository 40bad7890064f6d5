//! `/v1/work-queues`: a file per queue.

pub mod denial_actions;
pub mod denials;
pub mod filing_deadlines;
pub mod unidentified_remittances;
pub mod unmatched_remittances;
pub mod unpaid_claims;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.configure(denials::configure)
        .configure(denial_actions::configure)
        .configure(filing_deadlines::configure)
        .configure(unmatched_remittances::configure)
        .configure(unidentified_remittances::configure)
        .configure(unpaid_claims::configure);
}
