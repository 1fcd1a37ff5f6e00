//! `POST /admin/schedules/{id}/cancel` and `GET /admin/schedules/{id}` with the refunds' progress.

use axum::Json as JsonOut;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::RefundProgress;
use crate::app::AppState;
use crate::catalogue::Schedule;
use crate::catalogue::schedules::with_availability;
use crate::clock;
use crate::error::{Error, Result};
use crate::http::auth::Admin;
use crate::http::extract::Path;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(cancel))
        .routes(routes!(detail))
}

/// A schedule as the box office sees it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminSchedule {
    #[serde(flatten)]
    pub schedule: Schedule,
    /// The paid reservations to refund once the schedule is cancelled ({0, 0} before).
    pub refunds: RefundProgress,
}

async fn view(state: &AppState, id: Uuid) -> Result<AdminSchedule> {
    // Read from the database, not the cache: the status changes.
    let schedule = state
        .store
        .schedule(id)
        .await?
        .ok_or(Error::ScheduleNotFound)?;
    let schedule = with_availability(state, schedule, clock::now()).await?;
    let refunds = state.store.refund_progress(id).await?;
    Ok(AdminSchedule { schedule, refunds })
}

#[utoipa::path(post, path = "/admin/schedules/{scheduleId}/cancel", tag = "admin",
    description = "Calls the schedule off: it turns CANCELLED (never bookable again), its places can no \
        longer be held or paid, live holds end (CANCELLED), waiting-list entries end, and every CONFIRMED \
        reservation is refunded in full exactly once by a background job that any instance advances and \
        that resumes after a crash; refunds.done reaches refunds.total. Cancelling again changes nothing.",
    params(("scheduleId" = Uuid, Path)), security(("adminToken" = [])),
    responses((status = 202, body = AdminSchedule), (status = 401), (status = 403),
              (status = 404, description = "SCHEDULE_NOT_FOUND"), (status = 422)))]
pub async fn cancel(
    State(state): State<AppState>,
    _: Admin,
    Path(id): Path<Uuid>,
) -> Result<(StatusCode, JsonOut<AdminSchedule>)> {
    let schedule = state.schedule(id).await?;
    if state.store.cancel_schedule(id, clock::now()).await? {
        // Seat maps and the queue's places left follow within a second (their reads are at
        // most that old); the queue's policy is read again here at once.
        state
            .controls
            .refresh(schedule.concert_id, clock::now())
            .await?;
    }
    Ok((StatusCode::ACCEPTED, JsonOut(view(&state, id).await?)))
}

#[utoipa::path(get, path = "/admin/schedules/{scheduleId}", tag = "admin",
    params(("scheduleId" = Uuid, Path)), security(("adminToken" = [])),
    responses((status = 200, body = AdminSchedule), (status = 401), (status = 403),
              (status = 404, description = "SCHEDULE_NOT_FOUND"), (status = 422)))]
pub async fn detail(
    State(state): State<AppState>,
    _: Admin,
    Path(id): Path<Uuid>,
) -> Result<JsonOut<AdminSchedule>> {
    Ok(JsonOut(view(&state, id).await?))
}
