//! `POST /reservations` (the gated hold of an order), the user's list and detail, and `DELETE`
//! (cancel).

use axum::Json as JsonOut;
use axum::extract::State;
use axum::http::StatusCode;
use uuid::Uuid;

use std::collections::HashSet;

use super::order::{NewReservation, Order};
use super::taken::Turn;
use super::{Hold, HoldRequest, Places, ReservationView};
use crate::app::AppState;
use crate::catalogue::Schedule;
use crate::catalogue::plan::Layout;
use crate::catalogue::seat_states::{AVAILABLE, HELD};
use crate::clock;
use crate::error::{Error, Result};
use crate::http::auth::{AuthUser, Gated};
use crate::http::extract::{Json, Path, Query};
use crate::page::{Page, PageQuery};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(hold, list))
        .routes(routes!(detail, cancel))
}

/// Attempts at a best-available pick before answering SEAT_UNAVAILABLE: each retry skips the
/// places the last one lost.
const PICKS: usize = 3;

#[utoipa::path(post, path = "/reservations", tag = "reservations", request_body = NewReservation,
    description = "Gated: holds an order of places, all or nothing, until heldUntil = now + \
        ENCORE_HOLD_TTL. The same live hold sent again by its fan (same schedule, same seats) \
        answers 200 with that reservation.",
    params(("X-Queue-Token" = String, Header)), security(("apiKey" = [])),
    responses((status = 201, body = ReservationView, description = "held"),
              (status = 200, body = ReservationView, description = "the fan's same live hold, sent again"),
              (status = 404, description = "SCHEDULE_NOT_FOUND or SEAT_NOT_FOUND"),
              (status = 409, description = "SEAT_UNAVAILABLE (a place is taken, or fewer than quantity are free), HOLD_LIMIT_REACHED or TICKET_LIMIT_REACHED"),
              (status = 410, description = "QUEUE_TOKEN_EXPIRED"),
              (status = 422, description = "BOOKING_CLOSED or VALIDATION_FAILED")))]
pub async fn hold(
    State(state): State<AppState>,
    gate: Gated,
    Json(body): Json<NewReservation>,
) -> Result<(StatusCode, JsonOut<ReservationView>)> {
    let ticket = state.queue_ticket(&gate).await?;
    let schedule = state.schedule(body.schedule_id).await?;
    ticket.admits(schedule.concert_id)?;
    let layout = state.layout(schedule.id).await?;
    let order = body.order(&layout, state.settings.max_seats_per_order)?;
    if !schedule.booking_open(clock::now()) {
        return Err(Error::BookingClosed);
    }
    let mut tried = HashSet::new();
    let mut outcome = Err(Error::SeatUnavailable);
    for _ in 0..PICKS {
        let places = match &order {
            Order::Seats(numbers) => Places::Seats(numbers.clone()),
            Order::Best { .. } => {
                let now = clock::now();
                let snap = state
                    .seat_states
                    .snapshot(schedule.id, layout.places, now)
                    .await?;
                match order.pick(&layout, &snap, &tried) {
                    Ok(places) => places,
                    Err(e) => {
                        outcome = Err(e);
                        break;
                    }
                }
            }
        };
        if let Places::Seats(numbers) = &places {
            tried.extend(numbers.iter().copied());
        }
        outcome = hold_places(&state, gate.user.0, &schedule, &layout, places).await;
        let lost_a_pick =
            matches!(outcome, Err(Error::SeatUnavailable)) && matches!(order, Order::Best { .. });
        if !lost_a_pick {
            break;
        }
    }
    let result = match &outcome {
        Ok(_) => "held",
        Err(Error::SeatUnavailable) => "seat_unavailable",
        Err(Error::HoldLimitReached) => "limit",
        Err(Error::TicketLimitReached) => "ticket_limit",
        Err(_) => "error",
    };
    metrics::counter!("encore_holds_total", "result" => result).increment(1);
    let now = clock::now();
    Ok(match outcome? {
        Hold::Made(r) => (
            StatusCode::CREATED,
            JsonOut(r.view(&state.shown(schedule.id).await?, now)),
        ),
        Hold::Again(r) => (
            StatusCode::OK,
            JsonOut(r.view(&state.shown(schedule.id).await?, now)),
        ),
    })
}

/// One attempt at holding `places` for `user`: through this instance's memo of seats just taken,
/// then the database; a hold made is written onto the seat map at once.
async fn hold_places(
    state: &AppState,
    user: Uuid,
    schedule: &Schedule,
    layout: &Layout,
    places: Places,
) -> Result<Hold> {
    let named: &[i64] = match &places {
        Places::Seats(numbers) => numbers,
        Places::Count { .. } => &[],
    };
    let in_flight = if named.is_empty() {
        None
    } else {
        match state.taken.turn(schedule.id, named, user).await {
            Turn::Taken => return Err(Error::SeatUnavailable),
            Turn::Lead(guard) => Some(guard),
            Turn::Ask => None,
        }
    };
    // Waiting on a hold in flight took time: the hold is stamped when it is asked for.
    let now = clock::now();
    let req = HoldRequest::new(&state.settings, user, schedule, layout, places, now);
    let result = state.store.hold(&req).await;
    if let Ok(Hold::Made(r)) = &result {
        state
            .taken
            .held(req.schedule_id, &r.numbers, user, req.held_until, now);
        state
            .seat_states
            .patch(req.schedule_id, &r.numbers, HELD, req.held_until, now);
        let n = r.numbers.len() as i64;
        state.controls.places_changed(req.concert_id, -n, n);
    }
    // Holds waiting on this one now find the seat taken, or ask the database themselves.
    drop(in_flight);
    result
}

#[utoipa::path(get, path = "/reservations", tag = "reservations", params(PageQuery),
    description = "The user's own reservations, newest first.", security(("apiKey" = [])),
    responses((status = 200, body = Page<ReservationView>), (status = 422)))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    Query(q): Query<PageQuery>,
) -> Result<JsonOut<Page<ReservationView>>> {
    let page = state.store.reservations(user.0, q.parse()?).await?;
    let now = clock::now();
    let mut items = Vec::with_capacity(page.items.len());
    for r in page.items {
        let shown = state.shown(r.schedule_id).await?;
        items.push(r.view(&shown, now));
    }
    Ok(JsonOut(Page {
        items,
        next_cursor: page.next_cursor,
    }))
}

#[utoipa::path(get, path = "/reservations/{reservationId}", tag = "reservations",
    params(("reservationId" = Uuid, Path)), security(("apiKey" = [])),
    responses((status = 200, body = ReservationView), (status = 422),
              (status = 404, description = "RESERVATION_NOT_FOUND, also for another user's")))]
pub async fn detail(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<JsonOut<ReservationView>> {
    let r = state.own_reservation(id, user.0).await?;
    let shown = state.shown(r.schedule_id).await?;
    Ok(JsonOut(r.view(&shown, clock::now())))
}

#[utoipa::path(delete, path = "/reservations/{reservationId}", tag = "reservations",
    description = "Cancels a live hold; every place of it is AVAILABLE at once.",
    params(("reservationId" = Uuid, Path)), security(("apiKey" = [])),
    responses((status = 200, body = ReservationView), (status = 404),
              (status = 409, description = "RESERVATION_NOT_HELD"), (status = 422)))]
pub async fn cancel(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<JsonOut<ReservationView>> {
    let now = clock::now();
    let r = state.store.cancel(id, user.0, now).await?;
    state.taken.freed(r.schedule_id, &r.numbers);
    state
        .seat_states
        .patch(r.schedule_id, &r.numbers, AVAILABLE, 0, now);
    let n = r.numbers.len() as i64;
    state.controls.places_changed(r.concert_id, n, -n);
    let shown = state.shown(r.schedule_id).await?;
    Ok(JsonOut(r.view(&shown, now)))
}
