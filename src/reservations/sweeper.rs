//! The background sweeper: writes down what answers already show (lapsed holds are EXPIRED).
//!
//! Its statements are conditional updates, so several instances sweeping at once each change a
//! row at most once between them; nothing is double-processed and nothing waits on it.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::ReservationStore;
use crate::clock;

pub fn spawn(store: Arc<dyn ReservationStore>, every: Duration, stop: CancellationToken) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            match store.expire_holds(clock::now()).await {
                Ok(0) => {}
                Ok(n) => {
                    metrics::counter!("encore_holds_expired_total").increment(n);
                    tracing::debug!(expired = n, "swept lapsed holds");
                }
                Err(e) => tracing::warn!(error = %e, "hold sweep failed; retrying next tick"),
            }
        }
    });
}
