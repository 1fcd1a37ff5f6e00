//! Paying a hold from the wallet: debit, ledger line, CONFIRMED reservation and SOLD seat, at once.

pub mod handlers;

use async_trait::async_trait;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::clock::{self, Millis};
use crate::error::Result;
use crate::idempotency::{IdemKey, Replayable};
use crate::money::Money;
use crate::reservations::Reservation;

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    pub id: Uuid,
    pub reservation_id: Uuid,
    /// The price paid, in won.
    #[schema(value_type = i64)]
    pub amount: Money,
    #[schema(value_type = i64)]
    pub balance_after: Money,
    #[serde(serialize_with = "clock::ser")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Millis,
}

/// A payment and the reservation it confirmed: its concert retires the payer's queue ticket,
/// its places turn SOLD on this instance's seat map.
#[derive(Debug, Clone)]
pub struct Paid {
    pub payment: Payment,
    pub reservation: Reservation,
}

#[async_trait]
pub trait PaymentStore: Send + Sync {
    /// Pays a live hold in one transaction. Errors: `RESERVATION_NOT_FOUND`, `ALREADY_PAID`,
    /// `RESERVATION_NOT_HELD`, `HOLD_EXPIRED`, `INSUFFICIENT_BALANCE`. However many run at once
    /// for one reservation, one succeeds and the wallet is debited once.
    async fn pay(
        &self,
        user_id: Uuid,
        reservation_id: Uuid,
        now: Millis,
        idem: Option<&IdemKey>,
    ) -> Result<Replayable<Paid>>;
    async fn payment(&self, id: Uuid, user_id: Uuid) -> Result<Option<Payment>>;
}
