//! Concerts, their schedules (dates), each schedule's seating plan and its seat map.

pub mod admin;
pub mod handlers;
pub mod plan;
pub mod schedules;
pub mod seat_states;
pub mod seatmap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::clock::{self, Millis};
use crate::error::Result;
use crate::money::Money;

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Concert {
    pub id: Uuid,
    pub title: String,
    pub performer: String,
    pub venue: Option<String>,
    #[serde(serialize_with = "clock::ser")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Millis,
    /// When the sale opens: joins before it are PRE_QUEUE, drawn into the line at this time.
    #[serde(serialize_with = "clock::ser_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub on_sale_at: Option<Millis>,
    /// Every schedule still open for booking has neither a free place nor a live hold (at most
    /// a second old).
    #[sqlx(default)]
    pub sold_out: bool,
    /// Refund fee tiers (see `POST /reservations/{id}/refund`); null: free until 24 hours before
    /// the start, then closed.
    // Changes with `PATCH`, so a cached concert's copy may be stale: refunds read it from the
    // database, and the concert's answers read the concert again.
    #[schema(value_type = Option<Vec<crate::refunds::policy::RefundTier>>)]
    pub refund_policy: Option<crate::refunds::policy::RefundPolicy>,
}

impl Concert {
    /// The concert as its queue policy shows it now: the on-sale time and whether it is sold
    /// out, both read at most a second ago (a concert's other fields never change).
    pub fn under(mut self, policy: &crate::queue::controls::Policy) -> Concert {
        self.on_sale_at = policy.on_sale_at;
        self.sold_out = policy.sold_out();
        self
    }
}

/// A grade of a schedule's plan with its free places.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GradeAvailability {
    pub code: String,
    pub name: String,
    #[schema(value_type = i64)]
    pub price: Money,
    /// Places of the grade neither sold nor under a live hold.
    pub available: i64,
}

/// A schedule as stored; `availableSeats`, `grades` and `bookable` are filled in at read time.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Schedule {
    pub id: Uuid,
    pub concert_id: Uuid,
    #[serde(serialize_with = "clock::ser")]
    #[schema(value_type = String, format = DateTime)]
    pub starts_at: Millis,
    #[serde(serialize_with = "clock::ser")]
    #[schema(value_type = String, format = DateTime)]
    pub booking_opens_at: Millis,
    #[serde(serialize_with = "clock::ser")]
    #[schema(value_type = String, format = DateTime)]
    pub booking_closes_at: Millis,
    /// Places: seats plus standing capacity.
    pub seat_count: i64,
    /// Places neither sold nor under a live hold (at most a second old for holds made through
    /// other instances).
    #[sqlx(default)]
    pub available_seats: i64,
    /// The lowest grade price, in won.
    #[schema(value_type = i64)]
    pub price: Money,
    /// Not cancelled, now is inside the booking window and a place is available.
    #[sqlx(default)]
    pub bookable: bool,
    /// The plan's grades with their prices and free places.
    #[sqlx(skip)]
    pub grades: Vec<GradeAvailability>,
    /// CANCELLED: called off, never bookable again (`POST /admin/schedules/{id}/cancel`).
    #[sqlx(try_from = "String")]
    pub status: ScheduleStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ScheduleStatus {
    Scheduled,
    Cancelled,
}

crate::store::text_enum!(ScheduleStatus);

impl Schedule {
    pub fn booking_open(&self, now: Millis) -> bool {
        self.booking_opens_at <= now && now < self.booking_closes_at
    }

    /// Fills in `bookable` for the moment of the answer.
    pub fn at(mut self, now: Millis) -> Self {
        self.bookable = self.status == ScheduleStatus::Scheduled
            && self.booking_open(now)
            && self.available_seats > 0;
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SeatStatus {
    Available,
    Held,
    Sold,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Seat {
    pub number: i64,
    /// `{section}-{row}-{n}`, e.g. `MAIN-1-7`.
    pub label: String,
    #[schema(value_type = i64)]
    pub price: Money,
    pub status: SeatStatus,
}

/// A seat row as stored; a hold past `held_until` reads as AVAILABLE at once.
#[derive(Debug, sqlx::FromRow)]
pub struct SeatRow {
    pub number: i64,
    pub price: Money,
    pub state: String,
    pub held_until: Option<Millis>,
}

impl SeatRow {
    pub fn at(self, now: Millis, label: String) -> Seat {
        let status = match self.state.as_str() {
            // A cancelled schedule's place reads as taken.
            "SOLD" | "VOID" => SeatStatus::Sold,
            "HELD" if self.held_until.is_some_and(|t| t > now) => SeatStatus::Held,
            _ => SeatStatus::Available,
        };
        Seat {
            number: self.number,
            label,
            price: self.price,
            status,
        }
    }
}

#[async_trait]
pub trait CatalogueStore: Send + Sync {
    async fn create_concert(&self, concert: &Concert) -> Result<()>;
    async fn concerts(&self) -> Result<Vec<Concert>>;
    async fn concert(&self, id: Uuid) -> Result<Option<Concert>>;
    /// Sets (or with `None` removes) the concert's refund policy.
    async fn set_refund_policy(
        &self,
        concert_id: Uuid,
        policy: Option<&crate::refunds::policy::RefundPolicy>,
    ) -> Result<()>;
    /// Inserts the schedule, its plan and every place of its layout, in one transaction.
    async fn create_schedule(
        &self,
        schedule: &Schedule,
        plan: &plan::Plan,
        layout: &plan::Layout,
        now: Millis,
    ) -> Result<()>;
    /// The schedule's seating plan, as stored with it.
    async fn plan(&self, schedule_id: Uuid) -> Result<Option<plan::Plan>>;
    /// Schedules of a concert that have not started yet, by `starts_at`.
    async fn schedules(&self, concert_id: Uuid, now: Millis) -> Result<Vec<Schedule>>;
    async fn schedule(&self, id: Uuid) -> Result<Option<Schedule>>;
    /// Every place of a schedule by number (seats, then standing places).
    async fn seats(&self, schedule_id: Uuid) -> Result<Vec<SeatRow>>;
    /// The places of a schedule that are not AVAILABLE (held, sold or void), in no order: what
    /// a reload of its place states needs, a few rows where a stadium has 70,000.
    async fn taken_seats(&self, schedule_id: Uuid) -> Result<Vec<SeatRow>>;
    /// Changes the concert's texts; `None` leaves a field as it is, `Some(None)` removes the
    /// venue. False if there is no such concert.
    async fn edit_concert(&self, id: Uuid, edit: &ConcertEdit) -> Result<bool>;
    /// Every schedule of a concert, past and cancelled ones too, by `starts_at`.
    async fn all_schedules(&self, concert_id: Uuid) -> Result<Vec<Schedule>>;
    /// Moves a schedule that is not cancelled; false if it is (or does not exist).
    async fn edit_schedule(
        &self,
        id: Uuid,
        starts_at: Millis,
        opens: Millis,
        closes: Millis,
    ) -> Result<bool>;
    /// Tickets checked in per schedule of a concert.
    async fn checked_in(&self, concert_id: Uuid) -> Result<Vec<(Uuid, i64)>>;
}

/// The texts of a concert the box office may change after creation.
#[derive(Debug, Default)]
pub struct ConcertEdit {
    pub title: Option<String>,
    pub performer: Option<String>,
    pub venue: Option<Option<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lapsed_hold_reads_as_available() {
        let row = |state: &str, until| SeatRow {
            number: 1,
            price: Money(10),
            state: state.into(),
            held_until: until,
        };
        let at = |r: SeatRow, now| r.at(now, String::new()).status;
        assert_eq!(at(row("HELD", Some(100)), 99), SeatStatus::Held);
        assert_eq!(at(row("HELD", Some(100)), 100), SeatStatus::Available);
        assert_eq!(at(row("SOLD", None), 100), SeatStatus::Sold);
        assert_eq!(at(row("AVAILABLE", None), 0), SeatStatus::Available);
    }
}
