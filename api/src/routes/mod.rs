//! HTTP routes under `/v1`, one module per resource. Each handler reads as the rule: who is
//! calling, what they sent (already parsed), one store call, the response.

use serde::Deserialize;
use utoipa::IntoParams;

pub mod accounts;
pub mod audit;
pub mod billing;
pub mod claims;
pub mod codes;
pub mod connectors;
pub mod coverages;
pub mod encounters;
pub mod health;
pub mod keys;
pub mod patients;
pub mod payer;
pub mod payers;
pub mod providers;
pub mod remittances;
pub mod reports;
pub mod work_queues;

/// Cursor pagination parameters shared by every list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` from the previous page; empty or absent for the first page.
    pub cursor: Option<String>,
}

impl PageQuery {
    pub fn params(&self) -> revcycle_core::store::ListParams {
        revcycle_core::store::ListParams {
            limit: self.limit,
            // `cursor=` (empty) asks for the first page, like no cursor at all.
            cursor: self.cursor.clone().filter(|c| !c.is_empty()),
        }
    }
}

/// Register every `/v1` route; utoipa collects their documentation from the same calls.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(
        utoipa_actix_web::scope("/v1")
            .configure(payer::configure)
            .configure(payers::configure)
            .configure(providers::configure)
            .configure(patients::configure)
            .configure(coverages::configure)
            .configure(encounters::configure)
            .configure(claims::configure)
            .configure(remittances::configure)
            .configure(billing::configure)
            .configure(work_queues::configure)
            .configure(accounts::configure)
            .configure(reports::configure)
            .configure(keys::configure)
            .configure(audit::configure)
            .configure(connectors::configure)
            .configure(codes::configure),
    );
    cfg.service(health::health);
}
