//! Concerts, their schedules (dates) and the seat map of each schedule.

pub mod handlers;

use async_trait::async_trait;
use serde::Serialize;
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
}

/// A schedule as stored; `availableSeats` and `bookable` are derived at read time.
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
    pub seat_count: i64,
    /// Seats neither sold nor under a live hold, counted at the time of the answer.
    pub available_seats: i64,
    #[schema(value_type = i64)]
    pub price: Money,
    /// Now is inside the booking window and a seat is available.
    #[sqlx(default)]
    pub bookable: bool,
}

impl Schedule {
    pub fn booking_open(&self, now: Millis) -> bool {
        self.booking_opens_at <= now && now < self.booking_closes_at
    }

    /// Fills in `bookable` for the moment of the answer.
    pub fn at(mut self, now: Millis) -> Self {
        self.bookable = self.booking_open(now) && self.available_seats > 0;
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
    pub fn at(self, now: Millis) -> Seat {
        let status = match self.state.as_str() {
            "SOLD" => SeatStatus::Sold,
            "HELD" if self.held_until.is_some_and(|t| t > now) => SeatStatus::Held,
            _ => SeatStatus::Available,
        };
        Seat {
            number: self.number,
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
    /// Inserts the schedule and its seats 1..=seat_count at its price, in one transaction.
    async fn create_schedule(&self, schedule: &Schedule, now: Millis) -> Result<()>;
    /// Schedules of a concert that have not started yet, by `starts_at`.
    async fn schedules(&self, concert_id: Uuid, now: Millis) -> Result<Vec<Schedule>>;
    async fn schedule(&self, id: Uuid, now: Millis) -> Result<Option<Schedule>>;
    /// All seats of a schedule by number.
    async fn seats(&self, schedule_id: Uuid) -> Result<Vec<SeatRow>>;
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
        assert_eq!(row("HELD", Some(100)).at(99).status, SeatStatus::Held);
        assert_eq!(row("HELD", Some(100)).at(100).status, SeatStatus::Available);
        assert_eq!(row("SOLD", None).at(100).status, SeatStatus::Sold);
        assert_eq!(row("AVAILABLE", None).at(0).status, SeatStatus::Available);
    }
}
