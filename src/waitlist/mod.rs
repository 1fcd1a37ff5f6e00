//! The waiting list of a sold-out schedule: entries in join order; a place that comes back is
//! offered to the first entry it fits, as a hold for that fan, and an unpaid offer lapses and
//! passes on.

pub mod handlers;
pub mod offers;

use async_trait::async_trait;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::clock::Millis;
use crate::error::Result;
use crate::reservations::ReservationView;

/// A waiting-list entry as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Entry {
    pub id: Uuid,
    pub user_id: Uuid,
    pub concert_id: Uuid,
    pub schedule_id: Uuid,
    pub quantity: i64,
    pub grade: Option<String>,
    /// WAITING, OFFERING (an instance is making the offer), OFFERED, FULFILLED, EXPIRED or
    /// CANCELLED.
    pub status: String,
    pub reservation_id: Option<Uuid>,
    pub created_at: Millis,
}

/// An entry as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = WaitlistEntry)]
pub struct EntryView {
    pub id: Uuid,
    pub schedule_id: Uuid,
    pub quantity: i64,
    pub grade: Option<String>,
    /// `WAITING`, `OFFERED`, `FULFILLED`, `EXPIRED` or `CANCELLED`.
    pub status: String,
    /// 1-based among the schedule's waiting entries; null unless WAITING.
    pub position: Option<i64>,
    /// The hold made for this entry (pay it like any reservation, no queue token needed).
    pub offer: Option<ReservationView>,
}

#[async_trait]
pub trait WaitlistStore: Send + Sync {
    /// Adds the entry, or answers the fan's live entry for the schedule (`false`).
    async fn add_entry(&self, entry: &Entry) -> Result<(Entry, bool)>;
    async fn entries_of(&self, user_id: Uuid) -> Result<Vec<Entry>>;
    async fn entry(&self, id: Uuid, user_id: Uuid) -> Result<Option<Entry>>;
    /// Ends a live entry; its offer, if any, is the caller's to cancel.
    async fn cancel_entry(&self, id: Uuid, user_id: Uuid) -> Result<Option<Entry>>;
    /// 1-based place of a waiting entry among its schedule's.
    async fn position(&self, entry: &Entry) -> Result<i64>;
    /// Free places of a schedule now, counted in the database.
    async fn free_places(&self, schedule_id: Uuid, now: Millis) -> Result<i64>;
    /// Whether the schedule has entries waiting.
    async fn has_waiting(&self, schedule_id: Uuid) -> Result<bool>;
    /// Offers paid turn FULFILLED, lapsed or cancelled ones EXPIRED; claims older than
    /// `stale_before` go back to WAITING.
    async fn settle_offers(&self, now: Millis, stale_before: Millis) -> Result<()>;
    /// Schedules with entries waiting.
    async fn waiting_schedules(&self) -> Result<Vec<Uuid>>;
    /// The first `limit` waiting entries of a schedule, in join order.
    async fn waiting_entries(&self, schedule_id: Uuid, limit: i64) -> Result<Vec<Entry>>;
    /// Claims a waiting entry for an offer: true for exactly one caller.
    async fn claim(&self, id: Uuid, now: Millis) -> Result<bool>;
    /// Ends a claim: `OFFERED` with the hold made, or back to `WAITING`, or `EXPIRED`.
    async fn settle_claim(&self, id: Uuid, status: &str, reservation: Option<Uuid>) -> Result<()>;
}
