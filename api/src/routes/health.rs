use actix_web::{HttpResponse, get, web};
use revcycle_core::store::event_publishing;
use serde::Serialize;

use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
    /// Which database engine serves this instance.
    #[schema(example = "sqlite")]
    pub database: &'static str,
    /// Events committed and not yet acknowledged by NATS JetStream (only when the server
    /// publishes to NATS): a number that keeps growing means NATS is unreachable.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = 0)]
    pub nats_pending: Option<i64>,
}

/// Liveness and database check
///
/// Answers without authentication and serves no data: it only tells a load balancer that the
/// process is up and can reach its database, and (when the server publishes events to NATS)
/// how many events wait to be published.
#[utoipa::path(tag = "system", security(()),
    responses((status = 200, description = "Up and connected", body = Health),
              (status = 503, description = "Database unreachable", body = crate::problem::Problem, content_type = "application/problem+json")))]
#[get("/health")]
pub async fn health(state: web::Data<AppState>) -> Result<HttpResponse, crate::problem::ApiError> {
    let nats = state.events.nats.is_some();
    let (engine, nats_pending) = crate::db::run(&state, move |conn| {
        diesel::connection::SimpleConnection::batch_execute(conn, "SELECT 1")?;
        let engine = if conn.is_postgres() {
            "postgresql"
        } else {
            "sqlite"
        };
        let pending = if nats {
            Some(event_publishing::pending(conn, event_publishing::NATS)?)
        } else {
            None
        };
        Ok((engine, pending))
    })
    .await?;
    Ok(HttpResponse::Ok().json(Health {
        status: "ok",
        database: engine,
        nats_pending,
    }))
}
