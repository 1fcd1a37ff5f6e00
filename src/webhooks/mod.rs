//! Webhooks: events written to an outbox in the transaction of the change they report, then
//! delivered by any instance, at least once, signed like Stripe's.

pub mod address;
pub mod delivery;
pub mod handlers;

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::clock::{self, Millis};
use crate::error::Result;
use crate::page::{Page, PageRequest};

/// What a webhook can be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum EventType {
    #[serde(rename = "reservation.confirmed")]
    ReservationConfirmed,
    #[serde(rename = "reservation.refunded")]
    ReservationRefunded,
    #[serde(rename = "schedule.cancelled")]
    ScheduleCancelled,
    #[serde(rename = "ticket.checked_in")]
    TicketCheckedIn,
    #[serde(rename = "concert.sold_out")]
    ConcertSoldOut,
}

impl EventType {
    pub const ALL: [EventType; 5] = [
        EventType::ReservationConfirmed,
        EventType::ReservationRefunded,
        EventType::ScheduleCancelled,
        EventType::TicketCheckedIn,
        EventType::ConcertSoldOut,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::ReservationConfirmed => "reservation.confirmed",
            EventType::ReservationRefunded => "reservation.refunded",
            EventType::ScheduleCancelled => "schedule.cancelled",
            EventType::TicketCheckedIn => "ticket.checked_in",
            EventType::ConcertSoldOut => "concert.sold_out",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

/// One event, as every subscribed endpoint receives it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub kind: EventType,
    #[serde(serialize_with = "clock::ser")]
    pub created_at: Millis,
    pub data: serde_json::Value,
}

impl Event {
    pub fn new(kind: EventType, now: Millis, data: serde_json::Value) -> Event {
        Event {
            id: Uuid::now_v7(),
            kind,
            created_at: now,
            data,
        }
    }

    /// The POST body: `{"id","type","createdAt","data"}`.
    pub fn body(&self) -> String {
        serde_json::to_string(self).expect("an event serializes")
    }

    /// The `LIKE` pattern that finds the endpoints subscribed to this event's type (see the
    /// `webhooks.events` column).
    pub fn subscribers(&self) -> String {
        format!("% {} %", self.kind.as_str())
    }
}

/// `Encore-Signature` of `body` sent at `t` (unix seconds):
/// `t={t},v1={hex HMAC-SHA256(secret as UTF-8, "{t}.{body}")}`.
pub fn signature(secret: &str, t: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={t},v1={hex}")
}

/// An endpoint as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Webhook {
    pub id: Uuid,
    pub url: String,
    /// Subscribed types, each between spaces.
    pub events: String,
    pub secret: String,
    pub created_at: Millis,
}

impl Webhook {
    pub fn event_types(&self) -> Vec<EventType> {
        self.events
            .split_whitespace()
            .filter_map(EventType::parse)
            .collect()
    }
}

/// One event's delivery to one endpoint, as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Delivery {
    pub webhook_id: Uuid,
    pub event_id: Uuid,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub body: String,
    pub created_at: Millis,
    pub status: String,
    pub attempts: i64,
    pub next_at: Option<Millis>,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub delivered_at: Option<Millis>,
}

/// What an attempt came to.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// A 2xx answer.
    Delivered { status: u16 },
    /// Anything else; tried again at `retry_at`, or never again (FAILED) when `None`.
    Failed {
        status: Option<u16>,
        error: String,
        retry_at: Option<Millis>,
    },
}

#[async_trait]
pub trait WebhookStore: Send + Sync {
    async fn create_webhook(&self, webhook: &Webhook) -> Result<()>;
    async fn webhooks(&self) -> Result<Vec<Webhook>>;
    /// Removes the endpoint and its deliveries; false if there was none.
    async fn delete_webhook(&self, id: Uuid) -> Result<bool>;
    async fn webhook(&self, id: Uuid) -> Result<Option<Webhook>>;
    /// The endpoint's deliveries, newest event first.
    async fn deliveries(&self, webhook_id: Uuid, page: PageRequest) -> Result<Page<Delivery>>;
    /// Claims up to `limit` deliveries due at `now` for one attempt each: their `next_at` moves
    /// to `lease_until` (so another instance takes one again only if this attempt never
    /// reports) and their `attempts` count up. Concurrent claims never share a row.
    async fn claim_deliveries(
        &self,
        now: Millis,
        lease_until: Millis,
        limit: i64,
    ) -> Result<Vec<Delivery>>;
    /// Records an attempt's outcome.
    async fn record_attempt(&self, d: &Delivery, outcome: &Outcome, now: Millis) -> Result<()>;
}

/// `reservation.confirmed`: `user` paid `r` at `now`.
pub fn reservation_confirmed(
    r: &crate::reservations::Reservation,
    user: Uuid,
    now: Millis,
) -> Event {
    let mut data = reservation_data(r);
    data["userId"] = serde_json::json!(user);
    data["confirmedAt"] = serde_json::json!(clock::to_rfc3339(now));
    Event::new(EventType::ReservationConfirmed, now, data)
}

/// The `data` of a reservation event: who bought which places of which date, for how much.
pub fn reservation_data(r: &crate::reservations::Reservation) -> serde_json::Value {
    serde_json::json!({
        "reservationId": r.id,
        "bookingRef": crate::reservations::booking_ref(r.id),
        "concertId": r.concert_id,
        "scheduleId": r.schedule_id,
        "places": r.numbers,
        "price": r.price,
    })
}
