//! Admin creation of concerts and schedules; the public list; the gated schedule list and seat map.

use axum::Json as JsonOut;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Concert, Schedule, Seat};
use crate::app::AppState;
use crate::clock::{self, Millis};
use crate::error::{Error, Result};
use crate::http::auth::{Admin, AuthUser, QueueTokenHeader};
use crate::http::extract::{Json, Path};
use crate::money::{BALANCE_CAP, Money};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_concert))
        .routes(routes!(create_schedule))
        .routes(routes!(list_concerts))
        .routes(routes!(get_concert))
        .routes(routes!(list_schedules))
        .routes(routes!(seat_map))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConcert {
    /// 1 to 200 characters.
    pub title: String,
    /// 1 to 200 characters.
    pub performer: String,
    /// Up to 200 characters.
    pub venue: Option<String>,
}

fn text(field: &str, value: &str) -> Result<String> {
    let n = value.chars().count();
    if value.trim().is_empty() || n > 200 || value.chars().any(char::is_control) {
        return Err(Error::validation(format!(
            "{field} must be 1 to 200 characters, not blank, without control characters"
        )));
    }
    Ok(value.to_owned())
}

#[utoipa::path(post, path = "/admin/concerts", tag = "admin", request_body = NewConcert,
    security(("adminToken" = [])),
    responses((status = 201, body = Concert), (status = 401),
              (status = 403), (status = 422)))]
pub async fn create_concert(
    State(state): State<AppState>,
    _: Admin,
    Json(body): Json<NewConcert>,
) -> Result<(StatusCode, JsonOut<Concert>)> {
    let concert = Concert {
        id: Uuid::now_v7(),
        title: text("title", &body.title)?,
        performer: text("performer", &body.performer)?,
        venue: body
            .venue
            .as_deref()
            .map(|v| text("venue", v))
            .transpose()?,
        created_at: clock::now(),
    };
    state.store.create_concert(&concert).await?;
    Ok((StatusCode::CREATED, JsonOut(concert)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewSchedule {
    /// RFC 3339.
    pub starts_at: String,
    /// RFC 3339; before `bookingClosesAt`.
    pub booking_opens_at: String,
    /// RFC 3339; not after `startsAt`.
    pub booking_closes_at: String,
    /// 1 to 2000 (default 50).
    pub seat_count: Option<i64>,
    /// Price of every seat in won, 1 or more.
    pub price: i64,
}

fn time(field: &str, value: &str) -> Result<Millis> {
    clock::parse_rfc3339(value)
        .ok_or_else(|| Error::validation(format!("{field} must be an RFC 3339 date-time")))
}

impl NewSchedule {
    /// Checks the request and turns it into a schedule of `concert_id`.
    pub fn parse(&self, concert_id: Uuid) -> Result<Schedule> {
        let starts_at = time("startsAt", &self.starts_at)?;
        let opens = time("bookingOpensAt", &self.booking_opens_at)?;
        let closes = time("bookingClosesAt", &self.booking_closes_at)?;
        let seat_count = self.seat_count.unwrap_or(50);
        if !(1..=2000).contains(&seat_count) {
            return Err(Error::validation("seatCount must be 1 to 2000"));
        }
        if self.price <= 0 || self.price > BALANCE_CAP.0 {
            return Err(Error::validation("price must be a positive number of won"));
        }
        if opens >= closes {
            return Err(Error::validation(
                "bookingOpensAt must be before bookingClosesAt",
            ));
        }
        if closes > starts_at {
            return Err(Error::validation(
                "the booking window must close by startsAt",
            ));
        }
        Ok(Schedule {
            id: Uuid::now_v7(),
            concert_id,
            starts_at,
            booking_opens_at: opens,
            booking_closes_at: closes,
            seat_count,
            available_seats: seat_count,
            price: Money(self.price),
            bookable: false,
        })
    }
}

#[utoipa::path(post, path = "/admin/concerts/{concertId}/schedules", tag = "admin",
    request_body = NewSchedule, security(("adminToken" = [])),
    params(("concertId" = Uuid, Path)),
    responses((status = 201, body = Schedule), (status = 401), (status = 403),
              (status = 404, description = "CONCERT_NOT_FOUND"), (status = 422)))]
pub async fn create_schedule(
    State(state): State<AppState>,
    _: Admin,
    Path(concert_id): Path<Uuid>,
    Json(body): Json<NewSchedule>,
) -> Result<(StatusCode, JsonOut<Schedule>)> {
    state.concert(concert_id).await?;
    let schedule = body.parse(concert_id)?;
    let now = clock::now();
    state.store.create_schedule(&schedule, now).await?;
    Ok((StatusCode::CREATED, JsonOut(schedule.at(now))))
}

#[utoipa::path(get, path = "/concerts", tag = "catalogue",
    responses((status = 200, body = Items<Concert>)))]
pub async fn list_concerts(State(state): State<AppState>) -> Result<JsonOut<Items<Concert>>> {
    Ok(JsonOut(Items {
        items: state.store.concerts().await?,
    }))
}

#[utoipa::path(get, path = "/concerts/{concertId}", tag = "catalogue",
    params(("concertId" = Uuid, Path)),
    responses((status = 200, body = Concert), (status = 404)))]
pub async fn get_concert(
    State(state): State<AppState>,
    Path(concert_id): Path<Uuid>,
) -> Result<JsonOut<Concert>> {
    // The cache keeps its `Arc`, so the answer is a copy.
    Ok(JsonOut(Concert::clone(&*state.concert(concert_id).await?)))
}

#[utoipa::path(get, path = "/concerts/{concertId}/schedules", tag = "catalogue",
    description = "Gated: schedules not yet started, by startsAt.",
    params(("concertId" = Uuid, Path), ("X-Queue-Token" = String, Header)),
    security(("apiKey" = [])),
    responses((status = 200, body = Items<Schedule>), (status = 401),
              (status = 403), (status = 404), (status = 410)))]
pub async fn list_schedules(
    State(state): State<AppState>,
    user: AuthUser,
    token: QueueTokenHeader,
    Path(concert_id): Path<Uuid>,
) -> Result<JsonOut<Items<Schedule>>> {
    let ticket = state.queue_ticket(token, user.0).await?;
    state.concert(concert_id).await?;
    ticket.admits(concert_id)?;
    let now = clock::now();
    let items = state.store.schedules(concert_id, now).await?;
    Ok(JsonOut(Items {
        items: items.into_iter().map(|s| s.at(now)).collect(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeatMap {
    pub schedule_id: Uuid,
    pub seats: Vec<Seat>,
}

#[utoipa::path(get, path = "/schedules/{scheduleId}/seats", tag = "catalogue",
    description = "Gated: every seat by number; a lapsed hold is AVAILABLE at once.",
    params(("scheduleId" = Uuid, Path), ("X-Queue-Token" = String, Header)),
    security(("apiKey" = [])),
    responses((status = 200, body = SeatMap), (status = 401), (status = 403),
              (status = 404, description = "SCHEDULE_NOT_FOUND"), (status = 410)))]
pub async fn seat_map(
    State(state): State<AppState>,
    user: AuthUser,
    token: QueueTokenHeader,
    Path(schedule_id): Path<Uuid>,
) -> Result<JsonOut<SeatMap>> {
    let ticket = state.queue_ticket(token, user.0).await?;
    let schedule = state.schedule(schedule_id).await?;
    ticket.admits(schedule.concert_id)?;
    let now = clock::now();
    let seats = state.store.seats(schedule_id).await?;
    Ok(JsonOut(SeatMap {
        schedule_id,
        seats: seats.into_iter().map(|s| s.at(now)).collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(opens: &str, closes: &str, starts: &str, price: i64, seats: Option<i64>) -> NewSchedule {
        NewSchedule {
            starts_at: starts.into(),
            booking_opens_at: opens.into(),
            booking_closes_at: closes.into(),
            seat_count: seats,
            price,
        }
    }

    #[test]
    fn schedule_window_price_and_seats_are_checked() {
        let id = Uuid::now_v7();
        let ok = req(
            "2026-01-01T00:00:00Z",
            "2026-01-02T00:00:00Z",
            "2026-01-02T00:00:00Z",
            10,
            None,
        );
        assert_eq!(ok.parse(id).unwrap().seat_count, 50);
        let bad_window = req(
            "2026-01-02T00:00:00Z",
            "2026-01-01T00:00:00Z",
            "2026-01-03T00:00:00Z",
            10,
            None,
        );
        assert!(bad_window.parse(id).is_err());
        let after_start = req(
            "2026-01-01T00:00:00Z",
            "2026-01-03T00:00:00Z",
            "2026-01-02T00:00:00Z",
            10,
            None,
        );
        assert!(after_start.parse(id).is_err());
        let free = req(
            "2026-01-01T00:00:00Z",
            "2026-01-02T00:00:00Z",
            "2026-01-03T00:00:00Z",
            0,
            None,
        );
        assert!(free.parse(id).is_err());
        let huge = req(
            "2026-01-01T00:00:00Z",
            "2026-01-02T00:00:00Z",
            "2026-01-03T00:00:00Z",
            1,
            Some(2001),
        );
        assert!(huge.parse(id).is_err());
    }
}
