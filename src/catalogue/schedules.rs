//! Schedules: admin creation (a seating plan, or part 1's seat count and price), the gated list
//! of a concert's schedules with their free places, and part 1's list of seats.

use axum::Json as JsonOut;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::handlers::Items;
use super::plan::{Layout, Plan};
use super::seatmap::availability;
use super::{Schedule, ScheduleStatus, Seat};
use crate::app::AppState;
use crate::clock::{self, Millis};
use crate::error::{Error, Result};
use crate::http::auth::{Admin, Gated};
use crate::http::extract::{Json, Path};

/// Either a `plan`, or `seatCount` + `price` (one grade, one section, one row of seats).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewSchedule {
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub starts_at: String,
    /// RFC 3339; before `bookingClosesAt`.
    #[schema(format = DateTime)]
    pub booking_opens_at: String,
    /// RFC 3339; not after `startsAt`.
    #[schema(format = DateTime)]
    pub booking_closes_at: String,
    /// Without a plan: 1 to 2000 seats (default 50).
    #[schema(minimum = 1, maximum = 2000)]
    pub seat_count: Option<i64>,
    /// Without a plan: the price of every seat, 1 to 100,000,000 won. Required then.
    #[schema(minimum = 1, maximum = 100_000_000)]
    pub price: Option<i64>,
    /// The seating plan; not together with `seatCount` or `price`.
    pub plan: Option<Plan>,
}

fn time(field: &str, value: &str) -> Result<Millis> {
    clock::parse_rfc3339(value)
        .ok_or_else(|| Error::validation(format!("{field} must be an RFC 3339 date-time")))
}

impl NewSchedule {
    /// Checks the request and turns it into a schedule of `concert_id` with its plan.
    pub fn parse(self, concert_id: Uuid) -> Result<(Schedule, Plan, Layout)> {
        let starts_at = time("startsAt", &self.starts_at)?;
        let opens = time("bookingOpensAt", &self.booking_opens_at)?;
        let closes = time("bookingClosesAt", &self.booking_closes_at)?;
        let plan = match (self.plan, self.seat_count, self.price) {
            (Some(plan), None, None) => plan,
            (Some(_), _, _) => {
                return Err(Error::validation(
                    "give either a plan or seatCount and price, not both",
                ));
            }
            (None, seats, Some(price)) => {
                let seats = seats.unwrap_or(50);
                if !(1..=2000).contains(&seats) {
                    return Err(Error::validation("seatCount must be 1 to 2000"));
                }
                if !(1..=super::plan::MAX_PRICE).contains(&price) {
                    return Err(Error::validation("price must be 1 to 100000000 won"));
                }
                Plan::single(seats as u32, price)
            }
            (None, _, None) => return Err(Error::validation("price is required without a plan")),
        };
        check_window(starts_at, opens, closes)?;
        let layout = plan.layout()?;
        let schedule = Schedule {
            id: Uuid::now_v7(),
            concert_id,
            starts_at,
            booking_opens_at: opens,
            booking_closes_at: closes,
            seat_count: layout.places,
            available_seats: layout.places,
            price: layout.lowest_price(),
            bookable: false,
            grades: Vec::new(),
            status: ScheduleStatus::Scheduled,
        };
        Ok((schedule, plan, layout))
    }
}

/// A booking window opens before it closes and closes by the start.
pub fn check_window(starts_at: Millis, opens: Millis, closes: Millis) -> Result<()> {
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
    Ok(())
}

#[utoipa::path(post, path = "/admin/concerts/{concertId}/schedules", tag = "admin",
    request_body = NewSchedule, security(("adminToken" = [])),
    description = "Creates a schedule and every place of its plan (up to 70,000) at once.",
    params(("concertId" = Uuid, Path)),
    responses((status = 201, body = Schedule), (status = 404, description = "CONCERT_NOT_FOUND"),
              (status = 422, description = "VALIDATION_FAILED: the detail names the field, e.g. plan.sections[3].grade")))]
pub async fn create_schedule(
    State(state): State<AppState>,
    _: Admin,
    Path(concert_id): Path<Uuid>,
    Json(body): Json<NewSchedule>,
) -> Result<(StatusCode, JsonOut<Schedule>)> {
    state.concert(concert_id).await?;
    let (mut schedule, plan, layout) = body.parse(concert_id)?;
    let now = clock::now();
    state
        .store
        .create_schedule(&schedule, &plan, &layout, now)
        .await?;
    schedule.grades = layout
        .grades
        .iter()
        .enumerate()
        .map(|(i, g)| super::GradeAvailability {
            code: g.code.clone(),
            name: g.name.clone(),
            price: g.price,
            available: layout
                .sections
                .iter()
                .filter(|s| s.grade == i)
                .map(|s| s.len())
                .sum(),
        })
        .collect();
    Ok((StatusCode::CREATED, JsonOut(schedule.at(now))))
}

#[utoipa::path(get, path = "/concerts/{concertId}/schedules", tag = "catalogue",
    description = "Gated: schedules not yet started, by startsAt, with their free places.",
    params(("concertId" = Uuid, Path), ("X-Queue-Token" = String, Header)),
    security(("apiKey" = [])),
    responses((status = 200, body = Items<Schedule>), (status = 404), (status = 422)))]
pub async fn list_schedules(
    State(state): State<AppState>,
    gate: Gated,
    Path(concert_id): Path<Uuid>,
) -> Result<JsonOut<Items<Schedule>>> {
    let ticket = state.queue_ticket(&gate).await?;
    state.concert(concert_id).await?;
    ticket.admits(concert_id)?;
    let now = clock::now();
    let mut items = Vec::new();
    for s in state.store.schedules(concert_id, now).await? {
        items.push(with_availability(&state, s, now).await?);
    }
    Ok(JsonOut(Items { items }))
}

/// Fills in a schedule's free places, per grade and in all, and `bookable`.
pub async fn with_availability(state: &AppState, mut s: Schedule, now: Millis) -> Result<Schedule> {
    let layout = state.layout(s.id).await?;
    let snap = state.seat_states.snapshot(s.id, layout.places, now).await?;
    (s.available_seats, s.grades) = availability(&layout, &snap);
    Ok(s.at(now))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeatList {
    pub schedule_id: Uuid,
    pub seats: Vec<Seat>,
}

#[utoipa::path(get, path = "/schedules/{scheduleId}/seats", tag = "catalogue",
    description = "Gated: every seat by number (standing places are not seats: see the seat \
        map); a lapsed hold is AVAILABLE at once.",
    params(("scheduleId" = Uuid, Path), ("X-Queue-Token" = String, Header)),
    security(("apiKey" = [])),
    responses((status = 200, body = SeatList), (status = 404, description = "SCHEDULE_NOT_FOUND"),
              (status = 422)))]
pub async fn seats(
    State(state): State<AppState>,
    gate: Gated,
    Path(schedule_id): Path<Uuid>,
) -> Result<JsonOut<SeatList>> {
    let ticket = state.queue_ticket(&gate).await?;
    let schedule = state.schedule(schedule_id).await?;
    ticket.admits(schedule.concert_id)?;
    let layout = state.layout(schedule_id).await?;
    let now = clock::now();
    let seats = state.store.seats(schedule_id).await?;
    Ok(JsonOut(SeatList {
        schedule_id,
        seats: seats
            .into_iter()
            .filter(|s| s.number <= layout.seats)
            .map(|s| {
                let label = layout.label(s.number).unwrap_or_default();
                s.at(now, label)
            })
            .collect(),
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
            price: Some(price),
            plan: None,
        }
    }

    #[test]
    fn schedule_window_price_and_seats_are_checked() {
        let id = Uuid::now_v7();
        let (a, b, c) = (
            "2026-01-01T00:00:00Z",
            "2026-01-02T00:00:00Z",
            "2026-01-03T00:00:00Z",
        );
        let (ok, _, layout) = req(a, b, b, 10, None).parse(id).unwrap();
        assert_eq!((ok.seat_count, layout.seats), (50, 50));
        assert!(
            req(b, a, c, 10, None).parse(id).is_err(),
            "window backwards"
        );
        assert!(
            req(a, c, b, 10, None).parse(id).is_err(),
            "closes after start"
        );
        assert!(req(a, b, c, 0, None).parse(id).is_err(), "free");
        assert!(req(a, b, c, 1, Some(2001)).parse(id).is_err(), "too many");
        let mut both = req(a, b, c, 10, None);
        both.plan = Some(Plan::single(10, 10));
        assert!(both.parse(id).is_err(), "a plan and a price");
        let mut neither = req(a, b, c, 10, None);
        neither.price = None;
        assert!(neither.parse(id).is_err(), "no plan, no price");
    }
}
