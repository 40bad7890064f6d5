use actix_web::{HttpResponse, get, web};
use serde::Serialize;

use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
    /// Which database engine serves this instance.
    #[schema(example = "sqlite")]
    pub database: &'static str,
}

/// Liveness and database check
///
/// Answers without authentication and serves no data: it only tells a load balancer that the
/// process is up and can reach its database.
#[utoipa::path(tag = "system", security(()),
    responses((status = 200, description = "Up and connected", body = Health),
              (status = 503, description = "Database unreachable", body = crate::problem::Problem, content_type = "application/problem+json")))]
#[get("/health")]
pub async fn health(state: web::Data<AppState>) -> Result<HttpResponse, crate::problem::ApiError> {
    let engine = crate::db::run(&state, |conn| {
        diesel::connection::SimpleConnection::batch_execute(conn, "SELECT 1")?;
        Ok(if conn.is_postgres() {
            "postgresql"
        } else {
            "sqlite"
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(Health {
        status: "ok",
        database: engine,
    }))
}
