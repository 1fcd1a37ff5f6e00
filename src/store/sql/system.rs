//! `SystemStore` in SQL.

macro_rules! impl_system_store {
    ($db:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::SystemStore for $crate::store::sql::SqlStore<$db> {
            async fn ping(&self) -> $crate::error::Result<()> {
                sqlx::query("SELECT 1").execute(&self.read).await?;
                Ok(())
            }

            async fn secret(&self, name: &str) -> $crate::error::Result<[u8; 32]> {
                let mut fresh = [0u8; 32];
                rand::RngCore::fill_bytes(&mut rand::rng(), &mut fresh);
                // Whoever inserts first wins; everyone then reads the same value.
                sqlx::query("INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(name)
                    .bind(&fresh[..])
                    .execute(&self.write)
                    .await?;
                let value: Vec<u8> = sqlx::query_scalar("SELECT value FROM secrets WHERE name = $1")
                    .bind(name)
                    .fetch_one(&self.write)
                    .await?;
                value
                    .try_into()
                    .map_err(|_| $crate::error::Error::internal(format!("secret {name} is not 32 bytes")))
            }

            async fn save_queue_snapshot(&self, json: &str) -> $crate::error::Result<()> {
                sqlx::query(
                    "INSERT INTO queue_snapshots (id, data, saved_at) VALUES (1, $1, $2)
                     ON CONFLICT (id) DO UPDATE SET data = excluded.data, saved_at = excluded.saved_at",
                )
                .bind(json)
                .bind($crate::clock::now())
                .execute(&self.write)
                .await?;
                Ok(())
            }

            async fn take_queue_snapshot(&self) -> $crate::error::Result<Option<String>> {
                Ok(sqlx::query_scalar("DELETE FROM queue_snapshots WHERE id = 1 RETURNING data")
                    .fetch_optional(&self.write)
                    .await?)
            }

            async fn forget_idempotency_keys(&self, before: i64, at_most: i64) -> $crate::error::Result<u64> {
                Ok(sqlx::query($crate::store::sql::FORGET_IDEMPOTENCY_KEYS)
                    .bind(before)
                    .bind(at_most)
                    .execute(&self.write)
                    .await?
                    .rows_affected())
            }

            async fn spend_proof(&self, id: &[u8; 32], expires_at: i64) -> $crate::error::Result<bool> {
                let inserted = sqlx::query(
                    "INSERT INTO spent_proofs (id, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                )
                .bind(&id[..])
                .bind(expires_at)
                .execute(&self.write)
                .await?
                .rows_affected();
                Ok(inserted == 1)
            }

            async fn forget_spent_proofs(&self, now: i64) -> $crate::error::Result<u64> {
                Ok(sqlx::query(
                    "DELETE FROM spent_proofs WHERE id IN
                       (SELECT id FROM spent_proofs WHERE expires_at <= $1 LIMIT 1000)",
                )
                .bind(now)
                .execute(&self.write)
                .await?
                .rows_affected())
            }

            async fn is_empty(&self) -> $crate::error::Result<bool> {
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM concerts").fetch_one(&self.write).await?;
                Ok(n == 0)
            }
        }
    };
}
pub(crate) use impl_system_store;
