//! Seat holds: one live reservation per seat, enforced by the database; holds lapse at `heldUntil`.

pub mod handlers;
pub mod sweeper;
pub mod taken;

use async_trait::async_trait;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::clock::{self, Millis};
use crate::error::{Error, Result};
use crate::money::Money;
use crate::page::{Page, PageRequest};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReservationStatus {
    Held,
    Confirmed,
    Cancelled,
    Expired,
}

impl TryFrom<String> for ReservationStatus {
    type Error = Error;

    fn try_from(s: String) -> Result<Self> {
        Ok(match s.as_str() {
            "HELD" => Self::Held,
            "CONFIRMED" => Self::Confirmed,
            "CANCELLED" => Self::Cancelled,
            "EXPIRED" => Self::Expired,
            other => {
                return Err(Error::internal(format!(
                    "unknown reservation status {other}"
                )));
            }
        })
    }
}

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Reservation {
    pub id: Uuid,
    pub concert_id: Uuid,
    pub schedule_id: Uuid,
    pub seat_number: i64,
    #[schema(value_type = i64)]
    pub price: Money,
    #[sqlx(try_from = "String")]
    pub status: ReservationStatus,
    #[serde(serialize_with = "clock::ser")]
    #[schema(value_type = String, format = DateTime)]
    pub held_until: Millis,
    #[serde(serialize_with = "clock::ser")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Millis,
    #[serde(serialize_with = "clock::ser_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub confirmed_at: Option<Millis>,
}

impl Reservation {
    /// The reservation as of `now`: a hold past `heldUntil` is EXPIRED whether or not the sweeper
    /// has run.
    pub fn at(mut self, now: Millis) -> Self {
        if self.status == ReservationStatus::Held && self.held_until <= now {
            self.status = ReservationStatus::Expired;
        }
        self
    }
}

/// A checked request to hold one seat.
#[derive(Debug, Clone)]
pub struct HoldRequest {
    pub id: Uuid,
    pub user_id: Uuid,
    pub concert_id: Uuid,
    pub schedule_id: Uuid,
    pub seat_number: i64,
    pub price: Money,
    pub now: Millis,
    pub held_until: Millis,
    pub max_holds: u32,
}

#[async_trait]
pub trait ReservationStore: Send + Sync {
    /// Holds the seat if it is free (available, or its hold has lapsed) and the user is under the
    /// hold limit: `SEAT_UNAVAILABLE` / `HOLD_LIMIT_REACHED` otherwise. Atomic in the database.
    async fn hold(&self, req: &HoldRequest) -> Result<Reservation>;
    /// The user's reservation (another user's reads as missing).
    async fn reservation(&self, id: Uuid, user_id: Uuid) -> Result<Option<Reservation>>;
    async fn reservations(&self, user_id: Uuid, page: PageRequest) -> Result<Page<Reservation>>;
    /// Cancels a live hold and frees its seat: `RESERVATION_NOT_HELD` if it is not live.
    async fn cancel(&self, id: Uuid, user_id: Uuid, now: Millis) -> Result<Reservation>;
    /// Marks lapsed holds EXPIRED and their seats AVAILABLE; idempotent, safe on many instances.
    async fn expire_holds(&self, now: Millis) -> Result<u64>;
}
