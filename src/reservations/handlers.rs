//! `POST /reservations` (gated hold), the user's list and detail, and `DELETE` (cancel).

use axum::Json as JsonOut;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::taken::Turn;
use super::{HoldRequest, Reservation};
use crate::app::AppState;
use crate::clock;
use crate::error::{Error, Result};
use crate::http::auth::{AuthUser, QueueTokenHeader};
use crate::http::extract::{Json, Path, Query};
use crate::page::{Page, PageQuery};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(hold, list))
        .routes(routes!(detail, cancel))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewReservation {
    pub schedule_id: Uuid,
    /// 1 to the schedule's seatCount; any other number is 404 SEAT_NOT_FOUND.
    pub seat_number: i64,
}

#[utoipa::path(post, path = "/reservations", tag = "reservations", request_body = NewReservation,
    description = "Gated: holds one seat until heldUntil = now + ENCORE_HOLD_TTL.",
    params(("X-Queue-Token" = String, Header)), security(("apiKey" = [])),
    responses((status = 201, body = Reservation),
              (status = 401), (status = 403),
              (status = 404, description = "SCHEDULE_NOT_FOUND or SEAT_NOT_FOUND"),
              (status = 409, description = "SEAT_UNAVAILABLE or HOLD_LIMIT_REACHED"),
              (status = 410, description = "QUEUE_TOKEN_EXPIRED"),
              (status = 422, description = "BOOKING_CLOSED or VALIDATION_FAILED")))]
pub async fn hold(
    State(state): State<AppState>,
    user: AuthUser,
    token: QueueTokenHeader,
    Json(body): Json<NewReservation>,
) -> Result<(StatusCode, JsonOut<Reservation>)> {
    let ticket = state.queue_ticket(token, user.0).await?;
    let schedule = state.schedule(body.schedule_id).await?;
    ticket.admits(schedule.concert_id)?;
    // Any number that is not on the seat map names no seat.
    if !(1..=schedule.seat_count).contains(&body.seat_number) {
        return Err(Error::SeatNotFound);
    }
    let now = clock::now();
    if !schedule.booking_open(now) {
        return Err(Error::BookingClosed);
    }
    let in_flight = match state.taken.turn(schedule.id, body.seat_number).await {
        Turn::Taken => {
            metrics::counter!("encore_holds_total", "result" => "seat_unavailable").increment(1);
            return Err(Error::SeatUnavailable);
        }
        Turn::Lead(guard) => Some(guard),
        Turn::Ask => None,
    };
    // Waiting on a hold in flight took time: the hold is stamped when it is asked for.
    let now = clock::now();
    let req = HoldRequest {
        id: Uuid::now_v7(),
        user_id: user.0,
        concert_id: schedule.concert_id,
        schedule_id: schedule.id,
        seat_number: body.seat_number,
        price: schedule.price,
        now,
        held_until: now + clock::millis(state.settings.hold_ttl),
        max_holds: state.settings.max_holds_per_user,
    };
    let result = state.store.hold(&req).await;
    if result.is_ok() {
        state
            .taken
            .held(req.schedule_id, req.seat_number, req.held_until, now);
    }
    // Holds waiting on this one now find the seat taken, or ask the database themselves.
    drop(in_flight);
    let outcome = match &result {
        Ok(_) => "held",
        Err(Error::SeatUnavailable) => "seat_unavailable",
        Err(Error::HoldLimitReached) => "limit",
        Err(_) => "error",
    };
    metrics::counter!("encore_holds_total", "result" => outcome).increment(1);
    Ok((StatusCode::CREATED, JsonOut(result?)))
}

#[utoipa::path(get, path = "/reservations", tag = "reservations", params(PageQuery),
    description = "The user's own reservations, newest first.", security(("apiKey" = [])),
    responses((status = 200, body = Page<Reservation>), (status = 401), (status = 422)))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    Query(q): Query<PageQuery>,
) -> Result<JsonOut<Page<Reservation>>> {
    let page = state.store.reservations(user.0, q.parse()?).await?;
    let now = clock::now();
    Ok(JsonOut(Page {
        items: page.items.into_iter().map(|r| r.at(now)).collect(),
        next_cursor: page.next_cursor,
    }))
}

#[utoipa::path(get, path = "/reservations/{reservationId}", tag = "reservations",
    params(("reservationId" = Uuid, Path)), security(("apiKey" = [])),
    responses((status = 200, body = Reservation), (status = 401),
              (status = 404, description = "RESERVATION_NOT_FOUND, also for another user's")))]
pub async fn detail(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<JsonOut<Reservation>> {
    let r = state
        .store
        .reservation(id, user.0)
        .await?
        .ok_or(Error::ReservationNotFound)?;
    Ok(JsonOut(r.at(clock::now())))
}

#[utoipa::path(delete, path = "/reservations/{reservationId}", tag = "reservations",
    description = "Cancels a live hold; the seat is AVAILABLE at once.",
    params(("reservationId" = Uuid, Path)), security(("apiKey" = [])),
    responses((status = 200, body = Reservation), (status = 401), (status = 404),
              (status = 409, description = "RESERVATION_NOT_HELD")))]
pub async fn cancel(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<JsonOut<Reservation>> {
    let r = state.store.cancel(id, user.0, clock::now()).await?;
    state.taken.freed(r.schedule_id, r.seat_number);
    Ok(JsonOut(r))
}
