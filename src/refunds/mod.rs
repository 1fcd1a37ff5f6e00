//! Refunds of paid reservations under the concert's fee policy: the places freed (to the
//! waiting list first), the wallet credited, in one transaction.

pub mod handlers;
pub mod policy;

use async_trait::async_trait;
use uuid::Uuid;

use crate::clock::Millis;
use crate::error::Result;
use crate::idempotency::{IdemKey, Replayable};
use crate::reservations::Reservation;

#[async_trait]
pub trait RefundStore: Send + Sync {
    /// Refunds a CONFIRMED reservation of `user_id` in one transaction: its places turn
    /// AVAILABLE, it turns REFUNDED with the fee of the concert's policy at `now`, and the wallet
    /// gets the price less the fee (a `REFUND` ledger line). Errors: `RESERVATION_NOT_FOUND`,
    /// `RESERVATION_NOT_CONFIRMED`, `REFUND_CLOSED`. However many run at once for one
    /// reservation, one succeeds. `shown` completes the answer stored under `idem`.
    async fn refund(
        &self,
        user_id: Uuid,
        reservation_id: Uuid,
        now: Millis,
        idem: Option<&IdemKey>,
        shown: &crate::reservations::Shown,
    ) -> Result<Replayable<Reservation>>;
}
