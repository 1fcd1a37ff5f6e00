//! `POST /admin/schedules/{id}/cancel`, `GET` and `PATCH /admin/schedules/{id}`: a schedule with
//! the refunds' progress, called off or moved.

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
use crate::http::extract::{Json, Path};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(cancel))
        .routes(routes!(detail, edit))
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

pub async fn view(state: &AppState, id: Uuid) -> Result<AdminSchedule> {
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
    responses((status = 202, body = AdminSchedule),
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
    responses((status = 200, body = AdminSchedule),
              (status = 404, description = "SCHEDULE_NOT_FOUND"), (status = 422)))]
pub async fn detail(
    State(state): State<AppState>,
    _: Admin,
    Path(id): Path<Uuid>,
) -> Result<JsonOut<AdminSchedule>> {
    Ok(JsonOut(view(&state, id).await?))
}

/// Any of these; absent fields stay as they are. The result must keep the rules of creation:
/// the booking window opens before it closes and closes by the start.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScheduleEdit {
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub starts_at: Option<String>,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub booking_opens_at: Option<String>,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub booking_closes_at: Option<String>,
}

#[utoipa::path(patch, path = "/admin/schedules/{scheduleId}", tag = "admin", request_body = ScheduleEdit,
    description = "Moves a schedule or its booking window; every instance follows within 2 seconds. Tickets \
        already issued stay valid (they name the schedule, not its time); refund tiers count from the new \
        start.",
    params(("scheduleId" = Uuid, Path)), security(("adminToken" = [])),
    responses((status = 200, body = AdminSchedule),
              (status = 404, description = "SCHEDULE_NOT_FOUND"),
              (status = 409, description = "SCHEDULE_CANCELLED: a called-off date does not move"),
              (status = 422, description = "VALIDATION_FAILED: a time that is not RFC 3339, or a window \
                  that does not open before it closes and close by the start")))]
pub async fn edit(
    State(state): State<AppState>,
    _: Admin,
    Path(id): Path<Uuid>,
    Json(body): Json<ScheduleEdit>,
) -> Result<JsonOut<AdminSchedule>> {
    let current = state
        .store
        .schedule(id)
        .await?
        .ok_or(Error::ScheduleNotFound)?;
    let time = |field: &str, v: Option<String>, was: clock::Millis| match v {
        None => Ok(was),
        Some(v) => clock::parse_rfc3339(&v)
            .ok_or_else(|| Error::validation(format!("{field} must be an RFC 3339 date-time"))),
    };
    let starts = time("startsAt", body.starts_at, current.starts_at)?;
    let opens = time(
        "bookingOpensAt",
        body.booking_opens_at,
        current.booking_opens_at,
    )?;
    let closes = time(
        "bookingClosesAt",
        body.booking_closes_at,
        current.booking_closes_at,
    )?;
    crate::catalogue::schedules::check_window(starts, opens, closes)?;
    if !state.store.edit_schedule(id, starts, opens, closes).await? {
        return Err(Error::ScheduleCancelled);
    }
    state.forget_catalogue(None, Some(id));
    Ok(JsonOut(view(&state, id).await?))
}
