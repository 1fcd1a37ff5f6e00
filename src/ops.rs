//! Operations: `/health`, `/ready`, `/metrics` and `/openapi.json`.

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::AppState;
use crate::error::Result;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(ready))
        .routes(routes!(metrics))
        .routes(routes!(openapi))
}

#[derive(Serialize, ToSchema)]
pub struct Status {
    pub status: &'static str,
}

#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, body = Status, description = "the process serves")))]
pub async fn health() -> Json<Status> {
    Json(Status { status: "ok" })
}

#[utoipa::path(get, path = "/ready", tag = "operations",
    responses((status = 200, body = Status), (status = 503,
               description = "DATABASE_UNAVAILABLE or QUEUE_UNAVAILABLE")))]
pub async fn ready(State(state): State<AppState>) -> Result<Json<Status>> {
    state.store.ping().await?;
    state.queue.ping().await?;
    Ok(Json(Status { status: "ready" }))
}

#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, content_type = "text/plain", body = String,
               description = "Prometheus text: requests and latency by route and status, queue sizes per concert, holds, payments")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    // Queue sizes are read at scrape time; a queue outage leaves the last values in place.
    let now = crate::clock::now();
    for concert in state.queue.concerts().await.unwrap_or_default() {
        if let Ok(s) = state.queue.size(concert, now).await {
            let concert = s.concert_id.to_string();
            metrics::gauge!("encore_queue_waiting", "concert_id" => concert.clone())
                .set(s.waiting as f64);
            metrics::gauge!("encore_queue_active", "concert_id" => concert).set(s.active as f64);
        }
    }
    (
        [("content-type", "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, content_type = "application/json", description = "this OpenAPI 3.1 document")))]
pub async fn openapi() -> Json<&'static utoipa::openapi::OpenApi> {
    Json(crate::openapi::document())
}
