//! The fair waiting queue: one FIFO line per concert, at most N ACTIVE fans at a time.
//!
//! `Queue` is the backend contract; `embedded` keeps the line in this process, `redis` in Redis
//! for several instances. Both compute a ticket's position in O(log n).

pub mod beats;
pub mod embedded;
pub mod events;
pub mod fenwick;
pub mod growth;
pub mod handlers;
pub mod line;
#[cfg(test)]
mod line_model;
pub mod notify;
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TicketStatus {
    Waiting,
    Active,
    Expired,
}

/// A fan's place in a concert's queue, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Ticket {
    pub token: String,
    pub concert_id: Uuid,
    pub status: TicketStatus,
    /// 1-based among those still waiting (1 = next in); null when ACTIVE.
    pub position: Option<u64>,
    /// From the admission rate actually observed; null when unknown or ACTIVE.
    pub estimated_wait_seconds: Option<u64>,
    #[serde(serialize_with = "clock::ser_opt", deserialize_with = "de_opt_time")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub active_until: Option<Millis>,
}

/// Where a live ticket stands; the backend attaches the token (signed, or the one presented).
#[derive(Debug, Clone, Copy)]
pub enum Standing {
    /// `position` is 1-based; `eta` comes from the concert's observed admission rate.
    Waiting {
        position: u64,
        eta: Option<u64>,
    },
    Active {
        until: Millis,
    },
}

impl Standing {
    pub fn into_ticket(self, token: String, concert_id: Uuid) -> Ticket {
        let (status, position, estimated_wait_seconds, active_until) = match self {
            Standing::Waiting { position, eta } => {
                (TicketStatus::Waiting, Some(position), eta, None)
            }
            Standing::Active { until } => (TicketStatus::Active, None, None, Some(until)),
        };
        Ticket {
            token,
            concert_id,
            status,
            position,
            estimated_wait_seconds,
            active_until,
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
}

/// Waiting and active counts of one concert's queue, for `/metrics`.
#[derive(Debug, Clone, Copy)]
pub struct QueueSize {
    pub concert_id: Uuid,
    pub waiting: u64,
    pub active: u64,
}

#[async_trait]
pub trait Queue: Send + Sync {
    /// The user's live ticket for the concert (`false`), or a new one at the back (`true`).
    async fn join(&self, user_id: Uuid, concert_id: Uuid, now: Millis) -> Result<(Ticket, bool)>;
    /// The ticket now; also its heartbeat. `QUEUE_TOKEN_EXPIRED` once it is gone.
    async fn poll(&self, token: &str, now: Millis) -> Result<Ticket>;
    /// Who the ticket belongs to and whether it is ACTIVE, without a heartbeat.
    async fn gate(&self, token: &str, now: Millis) -> Result<GateTicket>;
    /// Gives the place up; the next waiter moves up at once.
    async fn leave(&self, token: &str, now: Millis) -> Result<()>;
    /// The user paid: their ticket for the concert expires and the next waiter is admitted.
    async fn finish(&self, user_id: Uuid, concert_id: Uuid, now: Millis) -> Result<()>;
    /// Expires what is due (active TTL, idle waiters) and admits into freed slots.
    async fn tick(&self, now: Millis) -> Result<()>;
    /// A value that changes whenever positions or statuses in the concert's queue may have.
    fn changes(&self, concert_id: Uuid) -> watch::Receiver<u64>;
    async fn sizes(&self) -> Result<Vec<QueueSize>>;
    /// Answers when the backend is reachable.
    async fn ping(&self) -> Result<()>;
    /// Called once on graceful shutdown: keep everyone's place for the next start.
    async fn shutdown(&self) -> Result<()>;
}
