//! The queue's live controls for its promoter (`GET/PATCH /admin/concerts/{id}/queue`) and the
//! public record of the pre-queue draw (`GET /concerts/{id}/queue/draw`).

use axum::Json as JsonOut;
use axum::extract::State;
use uuid::Uuid;

use super::controls::{QueuePatch, QueueView};
use super::draw::{self, DrawView};
use crate::app::AppState;
use crate::clock::{self, Millis};
use crate::error::{Error, Result};
use crate::http::auth::Admin;
use crate::http::extract::{Json, Path};

/// The largest active limit or admissions per minute a promoter may set.
const MAX_CONTROL: i64 = 1_000_000;

#[utoipa::path(get, path = "/admin/concerts/{concertId}/queue", tag = "admin",
    security(("adminToken" = [])), params(("concertId" = Uuid, Path)),
    responses((status = 200, body = QueueView), (status = 404, description = "CONCERT_NOT_FOUND"),
              (status = 422)))]
pub async fn queue_view(
    State(state): State<AppState>,
    _: Admin,
    Path(concert_id): Path<Uuid>,
) -> Result<JsonOut<QueueView>> {
    state.concert(concert_id).await?;
    Ok(JsonOut(view(&state, concert_id, clock::now()).await?))
}

#[utoipa::path(patch, path = "/admin/concerts/{concertId}/queue", tag = "admin",
    request_body = QueuePatch, security(("adminToken" = [])), params(("concertId" = Uuid, Path)),
    description = "Changes the live controls; every instance follows within a second. Paused \
        admits nobody, and waiters keep their places.",
    responses((status = 200, body = QueueView), (status = 404, description = "CONCERT_NOT_FOUND"),
              (status = 422, description = "VALIDATION_FAILED: a limit or rate below 0 or above 1,000,000")))]
pub async fn queue_patch(
    State(state): State<AppState>,
    _: Admin,
    Path(concert_id): Path<Uuid>,
    Json(body): Json<QueuePatch>,
) -> Result<JsonOut<QueueView>> {
    state.concert(concert_id).await?;
    let check = |field: &str, v: i64| {
        if (0..=MAX_CONTROL).contains(&v) {
            Ok(v)
        } else {
            Err(Error::validation(format!(
                "{field} must be 0 to {MAX_CONTROL}"
            )))
        }
    };
    let now = clock::now();
    let mut controls = state.controls.policy(concert_id, now).await?.controls;
    if let Some(limit) = body.active_limit {
        controls.active_limit = Some(check("activeLimit", limit)?);
    }
    if let Some(rate) = body.admit_per_minute {
        controls.admit_per_minute = rate.map(|r| check("admitPerMinute", r)).transpose()?;
    }
    if let Some(paused) = body.paused {
        controls.paused = paused;
    }
    state.store.set_controls(concert_id, &controls, now).await?;
    state.controls.refresh(concert_id, now).await?;
    Ok(JsonOut(view(&state, concert_id, now).await?))
}

async fn view(state: &AppState, concert_id: Uuid, now: Millis) -> Result<QueueView> {
    let policy = state.controls.policy(concert_id, now).await?;
    let size = state.queue.size(concert_id, now).await?;
    Ok(QueueView {
        waiting: size.waiting,
        active: size.active,
        admitted_per_minute: size.admitted_per_minute,
        free_places: policy.places.free.max(0),
        sold: policy.places.sold,
        active_limit: i64::from(policy.active_limit()),
        admit_per_minute: policy.controls.admit_per_minute,
        paused: policy.controls.paused,
    })
}

#[utoipa::path(get, path = "/concerts/{concertId}/queue/draw", tag = "queue",
    description = "The pre-queue draw, for anyone to check: the commitment (SHA-256 of the seed) \
        from the first PRE_QUEUE ticket on, the seed from onSaleAt on, and the ticket ids in drawn \
        order. See `algorithm`.",
    params(("concertId" = Uuid, Path)),
    responses((status = 200, body = DrawView), (status = 404, description = "CONCERT_NOT_FOUND"),
              (status = 422)))]
pub async fn draw(
    State(state): State<AppState>,
    Path(concert_id): Path<Uuid>,
) -> Result<JsonOut<DrawView>> {
    state.concert(concert_id).await?;
    let now = clock::now();
    let policy = state.controls.policy(concert_id, now).await?;
    let (drawn, ids) = state.queue.draw_list(concert_id).await?;
    let revealed = policy.on_sale_at.is_some_and(|at| now >= at);
    Ok(JsonOut(DrawView {
        on_sale_at: policy.on_sale_at,
        commitment: policy.seed.as_ref().map(draw::commitment),
        seed: policy.seed.filter(|_| revealed).map(|s| draw::hex(&s)),
        algorithm: draw::ALGORITHM,
        ticket_ids: ids.into_iter().map(draw::ticket_id).collect(),
        drawn,
    }))
}
