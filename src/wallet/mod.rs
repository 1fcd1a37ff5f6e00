//! The prepaid wallet: a balance that always equals the sum of its ledger and is never negative.

pub mod handlers;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::clock::{self, Millis};
use crate::error::Result;
use crate::idempotency::{IdemKey, Replayable};
use crate::money::Money;
use crate::page::{Page, PageRequest};

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Wallet {
    #[schema(value_type = i64)]
    pub balance: Money,
    #[serde(serialize_with = "clock::ser")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Millis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TransactionKind {
    Charge,
    Payment,
    /// A refunded reservation's price less its fee.
    Refund,
}

crate::store::text_enum!(TransactionKind);

/// One ledger line: `amount` is positive for a CHARGE or a REFUND, negative for a PAYMENT.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Transaction {
    pub id: Uuid,
    #[sqlx(try_from = "String")]
    pub kind: TransactionKind,
    #[schema(value_type = i64)]
    pub amount: Money,
    #[schema(value_type = i64)]
    pub balance_after: Money,
    pub reservation_id: Option<Uuid>,
    #[serde(serialize_with = "clock::ser")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Millis,
}

/// The answer to a charge.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChargeReceipt {
    #[schema(value_type = i64)]
    pub balance: Money,
    pub transaction: Transaction,
}

#[async_trait]
pub trait WalletStore: Send + Sync {
    async fn wallet(&self, user_id: Uuid) -> Result<Wallet>;
    /// Adds `amount` and writes a CHARGE line in one transaction; `BALANCE_LIMIT` past the cap.
    async fn charge(
        &self,
        user_id: Uuid,
        amount: Money,
        now: Millis,
        idem: Option<&IdemKey>,
    ) -> Result<Replayable<ChargeReceipt>>;
    async fn transactions(&self, user_id: Uuid, page: PageRequest) -> Result<Page<Transaction>>;
}
