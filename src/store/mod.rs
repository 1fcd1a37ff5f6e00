//! Persistence: one trait per feature, combined in `Store`, with one SQL implementation shared by
//! the SQLite (embedded) and PostgreSQL (scaled) backends, chosen by the URL scheme at start.

pub mod postgres;
pub mod sql;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;

use crate::cancellations::CancellationStore;
use crate::catalogue::CatalogueStore;
use crate::clock::Millis;
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::payments::PaymentStore;
use crate::queue::controls::OnSaleStore;
use crate::refunds::RefundStore;
use crate::reservations::ReservationStore;
use crate::tickets::TicketStore;
use crate::users::UserStore;
use crate::waitlist::WaitlistStore;
use crate::wallet::WalletStore;
use crate::webhooks::WebhookStore;

/// `TryFrom<String>` for enums kept in a TEXT column by the names the API gives them (serde's),
/// read with `#[sqlx(try_from = "String")]`: a column and an answer spell a value the same way.
macro_rules! text_enum {
    ($($t:ty),+) => {$(
        impl TryFrom<String> for $t {
            type Error = $crate::error::Error;

            fn try_from(s: String) -> Result<Self, Self::Error> {
                use serde::de::{IntoDeserializer, value::Error};
                serde::Deserialize::deserialize(s.into_deserializer()).map_err(|e: Error| {
                    $crate::error::Error::internal(format!(concat!(stringify!($t), " in the database: {}"), e))
                })
            }
        }
    )+};
}
pub(crate) use text_enum;

/// Service-level state: health, shared secrets, the embedded queue's shutdown snapshot, the
/// forgetting of old idempotency keys.
#[async_trait]
pub trait SystemStore: Send + Sync {
    async fn ping(&self) -> Result<()>;
    /// A 32-byte secret shared by every instance on this database, created on first use.
    async fn secret(&self, name: &str) -> Result<[u8; 32]>;
    async fn save_queue_snapshot(&self, json: &str) -> Result<()>;
    /// The snapshot saved by the last graceful shutdown, removed so it is used once.
    async fn take_queue_snapshot(&self) -> Result<Option<String>>;
    /// Deletes at most `at_most` idempotency keys created before `before`; how many went.
    async fn forget_idempotency_keys(&self, before: Millis, at_most: i64) -> Result<u64>;
    /// Records a proof-of-work challenge as spent until `expires_at`; false if it was already.
    async fn spend_proof(&self, id: &[u8; 32], expires_at: Millis) -> Result<bool>;
    /// Forgets spent challenges that have expired (they fail on their expiry anyway).
    async fn forget_spent_proofs(&self, now: Millis) -> Result<u64>;
    /// No concert exists yet (the demo seeds only then).
    async fn is_empty(&self) -> Result<bool>;
}

/// Everything the handlers need from the database.
pub trait Store:
    UserStore
    + CatalogueStore
    + ReservationStore
    + WalletStore
    + PaymentStore
    + RefundStore
    + TicketStore
    + CancellationStore
    + SystemStore
    + OnSaleStore
    + WaitlistStore
    + WebhookStore
{
}

// The two backends; a type that lacks one of the parts above does not compile here.
impl Store for sql::SqlStore<sqlx::Sqlite> {}
impl Store for sql::SqlStore<sqlx::Postgres> {}

/// Opens the database named by the URL and brings its schema up to date.
pub async fn connect(settings: &Settings) -> Result<Arc<dyn Store>> {
    let url = settings.database_url.as_str();
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::connect(url, settings.db_pool_size).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(
            postgres::connect(url, settings.db_pool_size, settings.db_statement_timeout).await?,
        ))
    } else {
        Err(Error::Startup(format!(
            "ENCORE_DATABASE_URL must start with sqlite:// or postgres://, got {url:?}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use crate::reservations::ReservationStatus;
    use crate::wallet::TransactionKind;

    #[test]
    fn a_text_column_reads_as_the_name_the_api_gives() {
        for s in [
            ReservationStatus::Held,
            ReservationStatus::Confirmed,
            ReservationStatus::Refunded,
        ] {
            let text = serde_json::to_value(s)
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned();
            assert_eq!(ReservationStatus::try_from(text).unwrap(), s);
        }
        assert_eq!(
            TransactionKind::try_from("REFUND".to_owned()).unwrap(),
            TransactionKind::Refund
        );
        let err = ReservationStatus::try_from("held".to_owned()).unwrap_err();
        assert_eq!(err.status(), axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        assert!(err.log_detail().contains("ReservationStatus"), "{err:?}");
    }
}
