//! Seat holds on PostgreSQL in batches: every hold that arrives while earlier batches are in
//! flight goes into the next call of `encore_hold_many` (migrations/postgres/0001_schema.sql), one round
//! trip and one commit for all of them.
//!
//! Why: on a small machine a hold's round trip, its commit and the wake-ups around them cost
//! more than the hold itself (measured: PostgreSQL 300 → 230 µs and encore 116 → 70 µs of CPU
//! per hold). A lone hold is sent at once by its caller's own task, so batching adds no wait
//! when the service is quiet; under load at most `IN_FLIGHT` batches run at a time and the rest
//! gather into the next ones. Each hold inside a batch is exactly `encore_hold`, so the answers
//! are those of the same holds made one after another.

use std::sync::Arc;

use sqlx::{PgPool, Postgres};
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::error::{Error, Result};
use crate::reservations::{HoldRequest, Places};
use uuid::Uuid;

/// Batches in flight at once: enough to keep both cores of PostgreSQL busy while the next batch
/// gathers; more would only make batches smaller.
const IN_FLIGHT: usize = 4;
/// Most holds in one call, so one batch never holds many row locks for long.
const MAX_BATCH: usize = 64;

/// How a hold ended, as `encore_hold` answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HoldOutcome {
    /// Held: these places.
    Held(Vec<i64>),
    /// The fan's live hold of exactly these places, sent again.
    Same(Uuid),
    SeatUnavailable,
    HoldLimitReached,
    TicketLimitReached,
}

impl HoldOutcome {
    fn parse(s: &str) -> Result<Self> {
        let bad = || Error::internal(format!("encore_hold answered {s}"));
        Ok(match s.split_once(':') {
            Some(("HELD", numbers)) => HoldOutcome::Held(
                numbers
                    .split(',')
                    .map(|n| n.parse().map_err(|_| bad()))
                    .collect::<Result<_>>()?,
            ),
            Some(("SAME", id)) => HoldOutcome::Same(Uuid::parse_str(id).map_err(|_| bad())?),
            None if s == "SEAT_UNAVAILABLE" => HoldOutcome::SeatUnavailable,
            None if s == "HOLD_LIMIT_REACHED" => HoldOutcome::HoldLimitReached,
            None if s == "TICKET_LIMIT_REACHED" => HoldOutcome::TicketLimitReached,
            _ => return Err(bad()),
        })
    }
}

struct Pending {
    req: HoldRequest,
    reply: oneshot::Sender<Result<HoldOutcome>>,
}

/// The queue of holds waiting for a batch; one per store.
pub(crate) struct HoldBatches {
    pool: PgPool,
    /// One permit per batch in flight.
    slots: Arc<Semaphore>,
    tx: mpsc::UnboundedSender<Pending>,
}

impl HoldBatches {
    /// Starts the task that forms batches; it ends when the store is dropped.
    pub(crate) fn start(pool: PgPool) -> Self {
        let slots = Arc::new(Semaphore::new(IN_FLIGHT));
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(form_batches(pool.clone(), slots.clone(), rx));
        HoldBatches { pool, slots, tx }
    }

    pub(crate) async fn hold(&self, req: &HoldRequest) -> Result<HoldOutcome> {
        // A free slot means no batch is waiting for one: this hold is a batch of one, made by
        // the caller itself. Handing it to the batch task would cost two task switches, and in a
        // crowd on one seat every other click waits for this one (`reservations/taken.rs`).
        if let Ok(_slot) = self.slots.try_acquire() {
            let mut outcomes = call_many(&self.pool, &[req]).await?;
            return Ok(outcomes.remove(0));
        }
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Pending {
                req: req.clone(),
                reply,
            })
            .map_err(|_| Error::DatabaseUnavailable("hold batches stopped".into()))?;
        answer
            .await
            .map_err(|_| Error::DatabaseUnavailable("hold batch dropped".into()))?
    }
}

/// Waits for a free batch slot, then takes everything queued meanwhile as one batch.
async fn form_batches(
    pool: PgPool,
    slots: Arc<Semaphore>,
    mut rx: mpsc::UnboundedReceiver<Pending>,
) {
    while let Some(first) = rx.recv().await {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let pool = pool.clone();
        tokio::spawn(async move {
            run(&pool, batch).await;
            drop(slot);
        });
    }
}

/// Runs one batch and answers each hold. If the batch fails as a whole on a conflict (a deadlock,
/// which the lock order below and the sweeper's `SKIP LOCKED` are there to rule out), each hold
/// is retried on its own, so one hold's trouble is never another's answer. When the database
/// itself is in trouble (gone, shutting down, a statement timeout), every hold of the batch gets
/// that answer at once: retrying one by one would only multiply the wait.
async fn run(pool: &PgPool, mut batch: Vec<Pending>) {
    // A caller that has gone (its client hung up while the hold queued) would only get a seat
    // held for nobody, kept from every other fan until it lapses.
    batch.retain(|p| !p.reply.is_closed());
    if batch.is_empty() {
        return;
    }
    // Seat order is the lock order that keeps concurrent batches free of deadlocks.
    batch.sort_by_key(|p| (p.req.schedule_id, p.req.places.first()));
    let reqs: Vec<&HoldRequest> = batch.iter().map(|p| &p.req).collect();
    match call_many(pool, &reqs).await {
        Ok(outcomes) => {
            for (p, o) in batch.into_iter().zip(outcomes) {
                let _ = p.reply.send(Ok(o));
            }
        }
        Err(e) if reqs.len() > 1 && conflict(&e) => {
            tracing::debug!(error = %e, holds = reqs.len(), "hold batch failed; holding one by one");
            for p in batch.into_iter().filter(|p| !p.reply.is_closed()) {
                let outcome = call_many(pool, &[&p.req]).await;
                let _ = p
                    .reply
                    .send(outcome.map(|mut o| o.remove(0)).map_err(Error::from));
            }
        }
        Err(e) => {
            // Every hold of the batch gets the same answer (usually 503 DATABASE_UNAVAILABLE).
            let msg = e.to_string();
            let unavailable = matches!(Error::from(e), Error::DatabaseUnavailable(_));
            for p in batch {
                let _ = p.reply.send(Err(if unavailable {
                    Error::DatabaseUnavailable(msg.clone())
                } else {
                    Error::internal(msg.clone())
                }));
            }
        }
    }
}

/// An error of the batch's own making, not the database's or the connection's (SQLSTATE classes
/// 08 connection, 53 resources, 57 operator intervention, which includes statement timeouts).
fn conflict(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => !db
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("53") || c.starts_with("57")),
        _ => false,
    }
}

/// One call of `encore_hold_many`: one outcome per request, in order.
async fn call_many(
    pool: &PgPool,
    reqs: &[&HoldRequest],
) -> std::result::Result<Vec<HoldOutcome>, sqlx::Error> {
    fn col<T>(reqs: &[&HoldRequest], f: impl Fn(&HoldRequest) -> T) -> Vec<T> {
        reqs.iter().map(|r| f(r)).collect()
    }
    let max_holds = reqs.first().map_or(0, |r| i64::from(r.max_holds));
    let max_places = reqs.first().map_or(0, |r| i64::from(r.max_places));
    let answers: Vec<String> = sqlx::query_scalar::<Postgres, Vec<String>>(
        "SELECT encore_hold_many($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(col(reqs, |r| r.id))
    .bind(col(reqs, |r| r.user_id))
    .bind(col(reqs, |r| r.concert_id))
    .bind(col(reqs, |r| r.schedule_id))
    .bind(col(reqs, |r| match &r.places {
        Places::Seats(numbers) => numbers
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(","),
        Places::Count { .. } => String::new(),
    }))
    .bind(col(reqs, |r| match r.places {
        Places::Count { first, .. } => first,
        Places::Seats(_) => 0,
    }))
    .bind(col(reqs, |r| match r.places {
        Places::Count { last, .. } => last,
        Places::Seats(_) => 0,
    }))
    .bind(col(reqs, |r| match r.places {
        Places::Count { count, .. } => count,
        Places::Seats(_) => 0,
    }))
    .bind(col(reqs, |r| r.price.0))
    .bind(col(reqs, |r| r.now))
    .bind(col(reqs, |r| r.held_until))
    .bind(max_holds)
    .bind(max_places)
    .fetch_one(pool)
    .await?;
    if answers.len() != reqs.len() {
        return Err(sqlx::Error::Protocol(format!(
            "encore_hold_many answered {} outcomes for {} holds",
            answers.len(),
            reqs.len()
        )));
    }
    answers
        .iter()
        .map(|a| HoldOutcome::parse(a).map_err(|e| sqlx::Error::Protocol(e.to_string())))
        .collect()
}

/// A waiting-list offer: one `encore_hold` call of its own, allowed to take places the waiting
/// list is owed (offers are few, made by the background round, and never batched).
pub(crate) async fn hold_offer(pool: &PgPool, r: &HoldRequest) -> Result<HoldOutcome> {
    let Places::Count { first, last, count } = r.places else {
        return Err(Error::internal("offers hold by count"));
    };
    let answer: String = sqlx::query_scalar(
        "SELECT encore_hold($1, $2, $3, $4, '', $5, $6, $7, $8, $9, $10, $11, $12, TRUE)",
    )
    .bind(r.id)
    .bind(r.user_id)
    .bind(r.concert_id)
    .bind(r.schedule_id)
    .bind(first)
    .bind(last)
    .bind(count)
    .bind(r.price.0)
    .bind(r.now)
    .bind(r.held_until)
    .bind(i64::from(r.max_holds))
    .bind(i64::from(r.max_places))
    .fetch_one(pool)
    .await?;
    HoldOutcome::parse(&answer)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sqlx::postgres::PgPoolOptions;

    use super::*;
    use crate::money::Money;

    fn hold() -> HoldRequest {
        HoldRequest {
            id: Uuid::now_v7(),
            user_id: Uuid::now_v7(),
            concert_id: Uuid::now_v7(),
            schedule_id: Uuid::now_v7(),
            places: Places::Seats(vec![1]),
            price: Money(1000),
            now: 0,
            held_until: 1,
            max_holds: 4,
            max_places: 4,
            offer: false,
        }
    }

    #[tokio::test]
    async fn a_batch_whose_callers_all_left_never_reaches_the_database() {
        // Nothing listens on port 1: any call would wait here for an hour.
        let pool = PgPoolOptions::new()
            .acquire_timeout(Duration::from_secs(3600))
            .connect_lazy("postgres://postgres@127.0.0.1:1/nothing")
            .unwrap();
        let (reply, answer) = oneshot::channel();
        drop(answer);
        let batch = vec![Pending { req: hold(), reply }];
        let ran = tokio::time::timeout(Duration::from_secs(5), run(&pool, batch)).await;
        assert!(ran.is_ok(), "the batch went to the database for nobody");
    }
}
