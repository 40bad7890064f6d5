//! HTTP routes under `/v1`, one module per URL resource (`/v1/claims/...` in `claims`,
//! `/v1/work-queues/...` in `work_queues`); a resource with several concerns is a folder with a
//! file per concern, each registering its own handlers. A handler parses the request, checks
//! the caller, calls one use case or repository function of `core`, and maps the answer.

pub mod admin_keys;
pub mod appeal_letter_template;
pub mod audit_events;
pub mod claims;
pub mod codes;
pub mod connectors;
pub mod coverages;
pub mod crud;
pub mod encounters;
pub mod health;
pub mod page_query;
pub mod patients;
pub mod payers;
pub mod providers;
pub mod remittances;
pub mod reports;
pub mod statements;
pub mod subscriptions;
pub mod work_queues;

/// Register every `/v1` route; utoipa collects their documentation from the same calls.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(
        utoipa_actix_web::scope("/v1")
            .configure(payers::configure)
            .configure(providers::configure)
            .configure(patients::configure)
            .configure(coverages::configure)
            .configure(encounters::configure)
            .configure(claims::configure)
            .configure(remittances::configure)
            .configure(work_queues::configure)
            .configure(appeal_letter_template::configure)
            .configure(reports::configure)
            .configure(statements::configure)
            .configure(admin_keys::configure)
            .configure(audit_events::configure)
            .configure(connectors::configure)
            .configure(subscriptions::configure)
            .configure(codes::configure),
    );
    cfg.service(health::health);
}
