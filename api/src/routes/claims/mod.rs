//! `/v1/claims`: a file per concern of the resource.

pub mod coordination_of_benefits;
pub mod ledger;
pub mod lifecycle;
pub mod payer_exchange;
pub mod records;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.configure(records::configure)
        .configure(payer_exchange::configure)
        .configure(lifecycle::configure)
        .configure(ledger::configure)
        .configure(coordination_of_benefits::configure);
}
