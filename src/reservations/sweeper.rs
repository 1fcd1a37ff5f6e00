//! The background sweeper: writes down what answers already show (lapsed holds are EXPIRED), and
//! forgets idempotency keys older than a day and expired proof-of-work challenges.
//!
//! Its statements are conditional updates, so several instances sweeping at once each change a
//! row at most once between them; nothing is double-processed and nothing waits on it.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::clock;
use crate::idempotency::KEEP_MS;
use crate::store::Store;

/// Most idempotency keys forgotten per sweep: a day's keys go in small statements that never
/// hold the writer for long, however many pile up.
const KEYS_PER_SWEEP: i64 = 1000;

pub fn spawn(store: Arc<dyn Store>, every: Duration, stop: CancellationToken) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            let now = clock::now();
            match store.expire_holds(now).await {
                Ok(0) => {}
                Ok(n) => {
                    metrics::counter!("encore_holds_expired_total").increment(n);
                    tracing::debug!(expired = n, "swept lapsed holds");
                }
                Err(e) => tracing::warn!(error = %e, "hold sweep failed; retrying next tick"),
            }
            // Its own statement, outside the hold sweep's transaction, so it never lengthens it.
            if let Err(e) = store
                .forget_idempotency_keys(now - KEEP_MS, KEYS_PER_SWEEP)
                .await
            {
                tracing::warn!(error = %e, "forgetting old idempotency keys failed; retrying");
            }
            if let Err(e) = store.forget_spent_proofs(now).await {
                tracing::warn!(error = %e, "forgetting expired proofs of work failed; retrying");
            }
        }
    });
}
