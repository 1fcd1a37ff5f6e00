//! The fair waiting queue: one FIFO line per concert, at most N ACTIVE fans at a time.
//!
//! `Queue` is the backend contract; `embedded` keeps the line in this process, `redis` in Redis
//! for several instances. Both compute a ticket's position in O(log n).

pub mod admin;
pub mod beats;
pub mod controls;
pub mod draw;
pub mod embedded;
pub mod events;
pub mod fenwick;
pub mod growth;
pub mod handlers;
pub mod line;
#[cfg(test)]
mod line_model;
pub mod notify;
pub mod proof;
pub mod rate;
pub mod redis;

pub mod token;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::clock::{self, Millis};
use crate::error::{Error, Result};
use controls::Admission;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TicketStatus {
    /// Joined before the on-sale time: placed by the draw at that time.
    PreQueue,
    Waiting,
    Active,
    Expired,
    /// Final: every place of the concert is sold (the waiting list may still offer one).
    SoldOut,
}

/// A fan's place in a concert's queue, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Ticket {
    pub token: String,
    /// The ticket's public id, as the draw lists it (safe to show: it cannot be used as a token).
    pub ticket_id: String,
    pub concert_id: Uuid,
    pub status: TicketStatus,
    /// 1-based among those still waiting (1 = next in); null unless WAITING.
    pub position: Option<u64>,
    /// From the admission rate observed (before enough admissions, from the active and hold
    /// times); null unless WAITING.
    pub estimated_wait_seconds: Option<u64>,
    #[serde(serialize_with = "clock::ser_opt", deserialize_with = "de_opt_time")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub active_until: Option<Millis>,
    /// The concert's on-sale time, if it has one.
    #[serde(
        default,
        serialize_with = "clock::ser_opt",
        deserialize_with = "de_opt_time"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub on_sale_at: Option<Millis>,
    /// Places of the concert neither sold nor held (at most a second old).
    #[serde(default)]
    pub seats_left: Option<i64>,
    /// How long the wait may be, from `low` to `high` seconds; null unless WAITING.
    #[serde(default)]
    pub estimated_wait: Option<rate::WaitRange>,
    /// The admission rate behind the estimate (the backend's; not part of the answer).
    #[serde(skip)]
    #[schema(ignore)]
    pub rate: Option<rate::AdmissionRate>,
}

/// What a join gives: the user's live ticket (`false`) or a new one (`true`).
pub type Joined = (Ticket, bool);

impl Ticket {
    /// The ticket as the concert's policy shows it: its on-sale time, the places left, and
    /// SOLD_OUT for anyone not admitted once nothing is left to sell.
    pub fn under(mut self, policy: &controls::Policy, prior: &rate::Prior) -> Ticket {
        self.on_sale_at = policy.on_sale_at;
        self.seats_left = Some(policy.places.free.max(0));
        if let (Some(position), Some(rate)) = (self.position, self.rate) {
            let range = rate.wait(
                position,
                policy.read_at.max(clock::now()),
                policy.admit_limit(),
                prior,
            );
            self.estimated_wait_seconds = range.map(|r| r.low.midpoint(r.high));
            self.estimated_wait = range;
        }
        if policy.sold_out()
            && matches!(self.status, TicketStatus::Waiting | TicketStatus::PreQueue)
        {
            self.status = TicketStatus::SoldOut;
            self.position = None;
            self.estimated_wait_seconds = None;
            self.estimated_wait = None;
        }
        self
    }
}

/// Where a live ticket stands; the backend attaches the token (signed, or the one presented).
#[derive(Debug, Clone, Copy)]
pub enum Standing {
    PreQueue,
    /// `position` is 1-based; `rate` is the concert's observed admission rate.
    Waiting {
        position: u64,
        rate: rate::AdmissionRate,
    },
    Active {
        until: Millis,
    },
    /// Not ACTIVE, and the concert is sold out.
    SoldOut,
}

impl Standing {
    pub fn into_ticket(self, token: String, concert_id: Uuid, id: token::TicketId) -> Ticket {
        let (status, position, rate, active_until) = match self {
            Standing::PreQueue => (TicketStatus::PreQueue, None, None, None),
            Standing::Waiting { position, rate } => {
                (TicketStatus::Waiting, Some(position), Some(rate), None)
            }
            Standing::Active { until } => (TicketStatus::Active, None, None, Some(until)),
            Standing::SoldOut => (TicketStatus::SoldOut, None, None, None),
        };
        Ticket {
            token,
            ticket_id: draw::ticket_id(id),
            concert_id,
            status,
            position,
            estimated_wait_seconds: None,
            estimated_wait: None,
            active_until,
            on_sale_at: None,
            seats_left: None,
            rate,
        }
    }
}

fn de_opt_time<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Millis>, D::Error> {
    let s: Option<String> = Option::deserialize(d)?;
    Ok(s.and_then(|s| clock::parse_rfc3339(&s)))
}

/// What a gate needs to know about a live ticket.
#[derive(Debug, Clone, Copy)]
pub struct GateTicket {
    pub user_id: Uuid,
    pub concert_id: Uuid,
    pub active: bool,
}

impl GateTicket {
    /// The ticket is `user`'s and ACTIVE. Checked before the resource is looked up, so a waiting
    /// fan learns nothing about which schedules exist.
    pub fn open_for(self, user_id: Uuid) -> Result<Self> {
        if self.user_id != user_id {
            return Err(Error::QueueTokenMismatch);
        }
        if !self.active {
            return Err(Error::QueueNotActive);
        }
        Ok(self)
    }

    /// The ticket is for the concert the call is about.
    pub fn admits(&self, concert_id: Uuid) -> Result<()> {
        if self.concert_id != concert_id {
            return Err(Error::QueueTokenMismatch);
        }
        Ok(())
    }
}

/// Limits every backend enforces.
#[derive(Debug, Clone, Copy)]
pub struct QueueConfig {
    pub active_limit: u32,
    pub active_ttl: Millis,
    pub idle_timeout: Millis,
    /// Admissions per minute; `None`: no cap.
    pub admit_per_minute: Option<u32>,
}

impl QueueConfig {
    /// The service's TTLs with one call's limits.
    pub fn with(self, a: &controls::Admission) -> QueueConfig {
        QueueConfig {
            active_limit: a.limit,
            admit_per_minute: a.per_minute,
            ..self
        }
    }
}

/// Waiting and active counts of one concert's queue, for `/metrics` and the admin view.
#[derive(Debug, Clone, Copy)]
pub struct QueueSize {
    pub concert_id: Uuid,
    pub waiting: u64,
    pub active: u64,
    /// Admissions over the last minute.
    pub admitted_per_minute: u64,
}

/// The queue backend. Every call that can move the line takes the concert's `Admission` (its
/// live limits and where its sale stands at the call's time, `adm.now`), which the caller reads
/// from `controls`.
#[async_trait]
pub trait Queue: Send + Sync {
    /// Checks a token's signature (401 `QUEUE_TOKEN_INVALID`) once per call: the calls below
    /// take what it names.
    fn verify<'a>(&self, token: &'a str) -> Result<token::Verified<'a>> {
        self.codec().verify(token)
    }
    /// The codec that signs this queue's tokens.
    fn codec(&self) -> &token::TokenCodec;
    /// The user's live ticket for the concert (`false`), or a new one (`true`): at the back of
    /// the line, or in the pre-queue before the on-sale time.
    async fn join(&self, user: Uuid, concert: Uuid, adm: &Admission) -> Result<Joined>;
    /// The ticket now; also its heartbeat. `QUEUE_TOKEN_EXPIRED` once it is gone.
    async fn poll(&self, t: token::Verified<'_>, adm: &Admission) -> Result<Ticket>;
    /// Who the ticket belongs to and whether it is ACTIVE, without a heartbeat.
    async fn gate(&self, t: token::Verified<'_>, adm: &Admission) -> Result<GateTicket>;
    /// Gives the place up; the next waiter moves up at once.
    async fn leave(&self, t: token::Verified<'_>, adm: &Admission) -> Result<()>;
    /// The user paid: their ticket for the concert expires and the next waiter is admitted.
    async fn finish(&self, user_id: Uuid, concert_id: Uuid, adm: &Admission) -> Result<()>;
    /// Draws the pre-queue when due, expires what is due and admits into free slots.
    async fn tick(&self, concert_id: Uuid, adm: &Admission) -> Result<()>;
    /// Concerts with a line.
    async fn concerts(&self) -> Result<Vec<Uuid>>;
    /// The pre-queue's drawn order (`true`), or its tickets in join order before the draw.
    async fn draw_list(&self, concert_id: Uuid) -> Result<(bool, Vec<token::TicketId>)>;
    /// A value that changes whenever positions or statuses in the concert's queue may have.
    fn changes(&self, concert_id: Uuid) -> watch::Receiver<u64>;
    async fn size(&self, concert_id: Uuid, now: Millis) -> Result<QueueSize>;
    /// Answers when the backend is reachable.
    async fn ping(&self) -> Result<()>;
    /// Called once on graceful shutdown: keep everyone's place for the next start.
    async fn shutdown(&self) -> Result<()>;
}
