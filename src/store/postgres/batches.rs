//! Calls gathered into batches on PostgreSQL: every request that arrives while earlier batches
//! are in flight goes into the next call of a `*_many` function, one round trip and one commit
//! for all of them. Holds (`holds.rs`) and payments (`payments.rs`) go this way.
//!
//! Why: on a small machine a call's round trip, its commit and the wake-ups around them cost
//! more than the work itself. A lone request is sent at once by its caller's own task, so
//! batching adds no wait when the service is quiet; under load at most `IN_FLIGHT` batches run
//! at a time and the rest gather into the next ones. Each request inside a batch runs exactly as
//! its single call would, so the answers are those of the same requests made one after another.

use std::future::Future;
use std::sync::Arc;

use sqlx::PgPool;
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::error::{Error, Result};

/// Batches in flight at once: enough to keep both cores of PostgreSQL busy while the next batch
/// gathers; more would only make batches smaller.
const IN_FLIGHT: usize = 4;
/// Most requests in one call, so one batch never holds many row locks for long.
const MAX_BATCH: usize = 64;

/// A request that can go in a batch.
pub(crate) trait Batched: Clone + Send + Sync + 'static {
    type Outcome: Send + 'static;
    /// The order of a batch's requests: the lock order that keeps concurrent batches free of
    /// deadlocks.
    type Key: Ord;
    fn key(&self) -> Self::Key;
    /// One call of the `*_many` function: one outcome per request, in order.
    fn call_many(
        pool: &PgPool,
        reqs: &[&Self],
    ) -> impl Future<Output = std::result::Result<Vec<Self::Outcome>, sqlx::Error>> + Send;
}

struct Pending<R: Batched> {
    req: R,
    reply: oneshot::Sender<Result<R::Outcome>>,
}

/// The queue of requests of one kind waiting for a batch; one per store.
pub(crate) struct Batches<R: Batched> {
    pool: PgPool,
    /// One permit per batch in flight.
    slots: Arc<Semaphore>,
    tx: mpsc::UnboundedSender<Pending<R>>,
}

impl<R: Batched> Batches<R> {
    /// Starts the task that forms batches; it ends when the store is dropped.
    pub(crate) fn start(pool: PgPool) -> Self {
        let slots = Arc::new(Semaphore::new(IN_FLIGHT));
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(form_batches(pool.clone(), slots.clone(), rx));
        Batches { pool, slots, tx }
    }

    pub(crate) async fn call(&self, req: &R) -> Result<R::Outcome> {
        // A free slot means no batch is waiting for one: this request is a batch of one, made by
        // the caller itself. Handing it to the batch task would cost two task switches, and in a
        // crowd on one seat every other click waits for this one (`reservations/taken.rs`).
        if let Ok(_slot) = self.slots.try_acquire() {
            let mut outcomes = R::call_many(&self.pool, &[req]).await?;
            return outcomes
                .pop()
                .ok_or_else(|| Error::internal("a batch of one answered nothing"));
        }
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Pending {
                req: req.clone(),
                reply,
            })
            .map_err(|_| Error::DatabaseUnavailable("batches stopped".into()))?;
        answer
            .await
            .map_err(|_| Error::DatabaseUnavailable("batch dropped".into()))?
    }
}

/// Waits for a free batch slot, then takes everything queued meanwhile as one batch.
async fn form_batches<R: Batched>(
    pool: PgPool,
    slots: Arc<Semaphore>,
    mut rx: mpsc::UnboundedReceiver<Pending<R>>,
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

/// Runs one batch and answers each request. If the batch fails as a whole on a conflict (a
/// deadlock, which the lock order is there to rule out), each request is retried on its own, so
/// one request's trouble is never another's answer. When the database itself is in trouble
/// (gone, shutting down, a statement timeout), every request of the batch gets that answer at
/// once: retrying one by one would only multiply the wait.
async fn run<R: Batched>(pool: &PgPool, mut batch: Vec<Pending<R>>) {
    // A caller that has gone (its client hung up while the request queued) would only get a
    // seat held, or paid, for nobody.
    batch.retain(|p| !p.reply.is_closed());
    if batch.is_empty() {
        return;
    }
    batch.sort_by_key(|p| p.req.key());
    let reqs: Vec<&R> = batch.iter().map(|p| &p.req).collect();
    match R::call_many(pool, &reqs).await {
        Ok(outcomes) => {
            for (p, o) in batch.into_iter().zip(outcomes) {
                let _ = p.reply.send(Ok(o));
            }
        }
        Err(e) if reqs.len() > 1 && conflict(&e) => {
            tracing::debug!(error = %e, requests = reqs.len(), "a batch failed; calling one by one");
            for p in batch.into_iter().filter(|p| !p.reply.is_closed()) {
                let outcome = R::call_many(pool, &[&p.req]).await;
                let _ = p.reply.send(
                    outcome
                        .map_err(Error::from)
                        .and_then(|mut o| o.pop().ok_or_else(|| Error::internal("no answer"))),
                );
            }
        }
        Err(e) => {
            // Every request of the batch gets the same answer (usually 503 DATABASE_UNAVAILABLE).
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sqlx::postgres::PgPoolOptions;

    use super::*;

    #[derive(Clone)]
    struct Probe;

    impl Batched for Probe {
        type Outcome = ();
        type Key = ();
        fn key(&self) {}
        async fn call_many(
            pool: &PgPool,
            _reqs: &[&Self],
        ) -> std::result::Result<Vec<()>, sqlx::Error> {
            pool.acquire().await.map(|_| vec![()])
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
        let batch = vec![Pending { req: Probe, reply }];
        let ran = tokio::time::timeout(Duration::from_secs(5), run(&pool, batch)).await;
        assert!(ran.is_ok(), "the batch went to the database for nobody");
    }
}
