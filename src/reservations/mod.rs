//! Holds of orders of one or more places: one live reservation per place, enforced by the
//! database; holds lapse at `heldUntil`.

pub mod handlers;
pub mod order;
pub mod sweeper;
pub mod taken;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::catalogue::plan::Layout;
use crate::clock::{self, Millis};
use crate::error::Result;
use crate::money::Money;
use crate::page::{Page, PageRequest};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReservationStatus {
    Held,
    Confirmed,
    Cancelled,
    Expired,
    /// Paid, then refunded: its places were freed and the wallet got `refund.amount` back.
    Refunded,
}

crate::store::text_enum!(ReservationStatus);

/// A reservation as stored: an order of one or more places of one schedule, held until
/// `held_until`, then confirmed (paid), cancelled or expired. `numbers` are its places.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Reservation {
    pub id: Uuid,
    pub concert_id: Uuid,
    pub schedule_id: Uuid,
    /// The first seat's number; `None` for standing places.
    pub seat_number: Option<i64>,
    pub quantity: i64,
    /// The order's total.
    pub price: Money,
    #[sqlx(try_from = "String")]
    pub status: ReservationStatus,
    pub held_until: Millis,
    pub created_at: Millis,
    pub confirmed_at: Option<Millis>,
    /// Set with status REFUNDED: what the wallet got back.
    pub refund_amount: Option<Money>,
    /// Set with status REFUNDED: what the refund kept.
    pub refund_fee: Option<Money>,
    /// Place numbers, ascending (read from `reservation_seats`).
    #[sqlx(skip)]
    pub numbers: Vec<i64>,
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

    /// The answer of the API: every place named from the schedule's layout, with what a ticket
    /// shows.
    pub fn view(self, shown: &Shown, now: Millis) -> ReservationView {
        let r = self.at(now);
        let seats = r
            .numbers
            .iter()
            .filter_map(|&n| SeatView::of(&shown.layout, n))
            .collect();
        ReservationView {
            booking_ref: booking_ref(r.id),
            title: shown.title.clone(),
            venue: shown.venue.clone(),
            starts_at: shown.starts_at,
            id: r.id,
            concert_id: r.concert_id,
            schedule_id: r.schedule_id,
            seat_number: r.seat_number,
            seats,
            price: r.price,
            status: r.status,
            held_until: r.held_until,
            created_at: r.created_at,
            confirmed_at: r.confirmed_at,
            refund: r
                .refund_amount
                .zip(r.refund_fee)
                .map(|(amount, fee)| Refund { amount, fee }),
        }
    }
}

/// What a reservation of one schedule shows besides itself (`AppState::shown`).
#[derive(Debug, Clone)]
pub struct Shown {
    pub layout: std::sync::Arc<Layout>,
    pub title: String,
    pub venue: Option<String>,
    pub starts_at: Millis,
}

/// The booking reference of a reservation: `ENC-` and eight Crockford base-32 characters in two
/// groups, from 40 of the id's random bits (a UUIDv7's `rand_b`), so it needs no storage. It
/// names a booking to a person together with the holder's name; 40 bits make two bookings of
/// one concert sharing a reference unlikely, not impossible, so the API goes by id.
pub fn booking_ref(id: Uuid) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let b = id.as_bytes();
    let bits = u64::from_be_bytes([0, 0, 0, b[11], b[12], b[13], b[14], b[15]]);
    let mut out = String::with_capacity(13);
    out.push_str("ENC-");
    for i in 0..8 {
        if i == 4 {
            out.push('-');
        }
        let shift = 35 - 5 * i;
        out.push(ALPHABET[((bits >> shift) & 31) as usize] as char);
    }
    out
}

/// What a refund gave back and kept, in won.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct Refund {
    /// The price less the fee: what the wallet got back.
    #[schema(value_type = i64)]
    pub amount: Money,
    #[schema(value_type = i64)]
    pub fee: Money,
}

/// A reservation as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Reservation)]
pub struct ReservationView {
    pub id: Uuid,
    /// A short reference for people (`ENC-7F3K-Q9XM`), derived from the id.
    #[schema(example = "ENC-7F3K-Q9XM", pattern = "^ENC-[0-9A-Z]{4}-[0-9A-Z]{4}$")]
    pub booking_ref: String,
    pub concert_id: Uuid,
    /// The concert's title.
    pub title: String,
    /// The concert's venue, if it has one.
    pub venue: Option<String>,
    pub schedule_id: Uuid,
    /// When the schedule starts.
    #[serde(serialize_with = "clock::ser")]
    #[schema(value_type = String, format = DateTime)]
    pub starts_at: Millis,
    /// The first seat's number (part 1's single seat); null for standing places.
    pub seat_number: Option<i64>,
    /// Every place of the order, seats by number.
    pub seats: Vec<SeatView>,
    /// The order's total, in won.
    #[schema(value_type = i64)]
    pub price: Money,
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
    /// Null unless REFUNDED.
    pub refund: Option<Refund>,
}

/// One place of an order.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeatView {
    /// `A-1-7` for a seat; the section's code for a standing place.
    pub label: String,
    /// The seat's number; null for a standing place.
    pub number: Option<i64>,
    pub section: String,
    /// The row's name; null for a standing place.
    pub row: Option<String>,
    pub grade: String,
    #[schema(value_type = i64)]
    pub price: Money,
}

impl SeatView {
    pub fn of(layout: &Layout, number: i64) -> Option<SeatView> {
        let spot = layout.spot(number)?;
        let grade = &layout.grades[spot.section.grade];
        Some(SeatView {
            label: layout.label(number)?,
            number: spot.seat.map(|_| number),
            section: spot.section.code.clone(),
            row: spot.seat.map(|(row, _)| row.name.clone()),
            grade: grade.code.clone(),
            price: grade.price,
        })
    }
}

/// The places an order asks for, as the database takes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Places {
    /// These seats (ascending), every one or none.
    Seats(Vec<i64>),
    /// `count` places of the range `first..=last` (a standing section), whichever are free.
    Count { first: i64, last: i64, count: i64 },
}

impl Places {
    pub fn count(&self) -> i64 {
        match self {
            Places::Seats(s) => s.len() as i64,
            Places::Count { count, .. } => *count,
        }
    }

    /// The lowest place the order names; orders are sorted by it (the lock order).
    pub fn first(&self) -> i64 {
        match self {
            Places::Seats(s) => s.first().copied().unwrap_or(0),
            Places::Count { first, .. } => *first,
        }
    }
}

/// A checked request to hold an order.
#[derive(Debug, Clone)]
pub struct HoldRequest {
    pub id: Uuid,
    pub user_id: Uuid,
    pub concert_id: Uuid,
    pub schedule_id: Uuid,
    pub places: Places,
    /// The order's total.
    pub price: Money,
    pub now: Millis,
    pub held_until: Millis,
    /// Live holds per fan per schedule.
    pub max_holds: u32,
    /// Live-held plus paid places per fan per concert.
    pub max_places: u32,
    /// A waiting-list offer: the only kind of hold that may take places of a schedule whose
    /// waiting list has entries waiting.
    pub offer: bool,
}

impl HoldRequest {
    /// A hold of `places` for `user`, stamped `now`, priced from the layout, under the
    /// service's limits.
    pub fn new(
        settings: &crate::config::Settings,
        user_id: Uuid,
        schedule: &crate::catalogue::Schedule,
        layout: &Layout,
        places: Places,
        now: Millis,
    ) -> HoldRequest {
        let price = match &places {
            Places::Seats(numbers) => numbers
                .iter()
                .filter_map(|&n| layout.price(n))
                .fold(Money(0), |a, b| Money(a.0 + b.0)),
            Places::Count { first, count, .. } => {
                Money(layout.price(*first).map_or(0, |p| p.0) * count)
            }
        };
        HoldRequest {
            id: Uuid::now_v7(),
            user_id,
            concert_id: schedule.concert_id,
            schedule_id: schedule.id,
            places,
            price,
            now,
            held_until: now + clock::millis(settings.hold_ttl),
            max_holds: settings.max_holds_per_user,
            max_places: settings.max_tickets_per_user,
            offer: false,
        }
    }

    /// The reservation this request makes when it is held as `numbers`.
    pub fn held(&self, numbers: Vec<i64>) -> Reservation {
        Reservation {
            id: self.id,
            concert_id: self.concert_id,
            schedule_id: self.schedule_id,
            seat_number: match self.places {
                Places::Seats(_) => numbers.first().copied(),
                Places::Count { .. } => None,
            },
            quantity: numbers.len() as i64,
            price: self.price,
            status: ReservationStatus::Held,
            held_until: self.held_until,
            created_at: self.now,
            confirmed_at: None,
            refund_amount: None,
            refund_fee: None,
            numbers,
        }
    }
}

/// What a hold did.
#[derive(Debug, Clone)]
pub enum Hold {
    /// A new reservation.
    Made(Reservation),
    /// The fan's live hold of exactly these places, sent again: nothing changed.
    Again(Reservation),
}

#[async_trait]
pub trait ReservationStore: Send + Sync {
    /// Holds every place of the order if each is free (available, or its hold has lapsed) and
    /// the fan is under both limits, else nothing: `SEAT_UNAVAILABLE`, `HOLD_LIMIT_REACHED` or
    /// `TICKET_LIMIT_REACHED`. Atomic in the database.
    async fn hold(&self, req: &HoldRequest) -> Result<Hold>;
    /// The user's reservation (another user's reads as missing).
    async fn reservation(&self, id: Uuid, user_id: Uuid) -> Result<Option<Reservation>>;
    async fn reservations(&self, user_id: Uuid, page: PageRequest) -> Result<Page<Reservation>>;
    /// Cancels a live hold and frees its seat: `RESERVATION_NOT_HELD` if it is not live.
    async fn cancel(&self, id: Uuid, user_id: Uuid, now: Millis) -> Result<Reservation>;
    /// Marks lapsed holds EXPIRED and their seats AVAILABLE; idempotent, safe on many instances.
    async fn expire_holds(&self, now: Millis) -> Result<u64>;
}
