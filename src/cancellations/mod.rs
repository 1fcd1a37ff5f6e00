//! Calling off a schedule: it turns CANCELLED, its places VOID, its live holds end, and every paid
//! reservation of it is refunded in full exactly once by a job any instance advances.

pub mod handlers;

use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::AppState;
use crate::clock::{self, Millis};
use crate::error::Result;

/// Refunds looked at per round.
const BATCH: i64 = 200;

/// How far a cancelled schedule's refunds have come.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct RefundProgress {
    /// Paid reservations when the schedule was cancelled.
    pub total: i64,
    /// Of those, refunded (or found already refunded by their fan).
    pub done: i64,
}

#[async_trait]
pub trait CancellationStore: Send + Sync {
    /// In one transaction: the schedule turns CANCELLED, its free and held places VOID, its holds
    /// CANCELLED, its waiting entries CANCELLED, and its paid reservations are listed for the
    /// refund job. False when it was cancelled already (nothing changes).
    async fn cancel_schedule(&self, schedule_id: Uuid, now: Millis) -> Result<bool>;
    async fn refund_progress(&self, schedule_id: Uuid) -> Result<RefundProgress>;
    /// Up to `limit` listed refunds not done yet, as (schedule, reservation), in that order,
    /// after `after`.
    async fn pending_refunds(
        &self,
        after: Option<(Uuid, Uuid)>,
        limit: i64,
    ) -> Result<Vec<(Uuid, Uuid)>>;
    /// Refunds one listed reservation in full and marks it done, in one transaction; false when
    /// another caller did it first.
    async fn refund_listed(
        &self,
        schedule_id: Uuid,
        reservation_id: Uuid,
        now: Millis,
    ) -> Result<bool>;
}

/// One round of the refund job: the listed refunds not done yet, each in its own transaction,
/// batch after batch in key order. One that fails (a wallet at its cap) is passed over, so it
/// never holds up the others, and tried again next round.
pub async fn round(state: &AppState) -> Result<u64> {
    let mut done = 0;
    let mut after = None;
    loop {
        let pending = state.store.pending_refunds(after, BATCH).await?;
        let Some(&last) = pending.last() else {
            return Ok(done);
        };
        after = Some(last);
        for (schedule, reservation) in pending {
            if state.stop.is_cancelled() {
                return Ok(done);
            }
            match state
                .store
                .refund_listed(schedule, reservation, clock::now())
                .await
            {
                Ok(true) => done += 1,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, %reservation, "cancellation refund failed; retrying")
                }
            }
        }
    }
}

/// The job's loop: every instance runs it; the per-reservation conditional update makes running
/// it anywhere, any number of times, refund each reservation once.
pub fn spawn(state: AppState, every: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = state.stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            match round(&state).await {
                Ok(0) => {}
                Ok(n) => {
                    metrics::counter!("encore_cancellation_refunds_total").increment(n);
                }
                Err(e) => tracing::warn!(error = %e, "cancellation refunds failed; retrying"),
            }
        }
    });
}
