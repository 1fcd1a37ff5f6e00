//! `WebhookStore` in SQL, and `emit`: the outbox write every other store makes inside the
//! transaction of the change an event reports.

/// The columns of a delivery, in `Delivery`'s field order.
pub(crate) const DELIVERY_COLS: &str = "webhook_id, event_id, type, body, created_at, status, attempts, next_at, last_status_code, last_error, delivered_at";

macro_rules! impl_webhook_store {
    ($db:ty) => {
        impl $crate::store::sql::SqlStore<$db> {
            /// Writes `event` for every endpoint subscribed to its type, in `tx`: it is delivered
            /// if and only if the change commits. One statement, which writes nothing when no
            /// endpoint listens.
            pub(crate) async fn emit(
                tx: &mut <$db as sqlx::Database>::Connection,
                event: &$crate::webhooks::Event,
            ) -> $crate::error::Result<()> {
                sqlx::query(
                    "INSERT INTO webhook_deliveries (webhook_id, event_id, type, body, created_at, status, attempts, next_at)
                     SELECT id, $1, $2, $3, $4, 'PENDING', 0, $4 FROM webhooks WHERE events LIKE $5",
                )
                .bind(event.id)
                .bind(event.kind.as_str())
                .bind(event.body())
                .bind(event.created_at)
                .bind(event.subscribers())
                .execute(&mut *tx)
                .await?;
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl $crate::webhooks::WebhookStore for $crate::store::sql::SqlStore<$db> {
            async fn create_webhook(
                &self,
                w: &$crate::webhooks::Webhook,
            ) -> $crate::error::Result<()> {
                sqlx::query(
                    "INSERT INTO webhooks (id, url, events, secret, created_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(w.id)
                .bind(&w.url)
                .bind(&w.events)
                .bind(&w.secret)
                .bind(w.created_at)
                .execute(&self.write)
                .await?;
                Ok(())
            }

            async fn webhooks(&self) -> $crate::error::Result<Vec<$crate::webhooks::Webhook>> {
                Ok(sqlx::query_as(
                    "SELECT id, url, events, secret, created_at FROM webhooks ORDER BY id DESC",
                )
                .fetch_all(&self.read)
                .await?)
            }

            async fn webhook(
                &self,
                id: uuid::Uuid,
            ) -> $crate::error::Result<Option<$crate::webhooks::Webhook>> {
                Ok(sqlx::query_as(
                    "SELECT id, url, events, secret, created_at FROM webhooks WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.read)
                .await?)
            }

            async fn delete_webhook(&self, id: uuid::Uuid) -> $crate::error::Result<bool> {
                let mut tx = self.write.begin().await?;
                sqlx::query("DELETE FROM webhook_deliveries WHERE webhook_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                let gone = sqlx::query("DELETE FROM webhooks WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                Ok(gone == 1)
            }

            async fn deliveries(
                &self,
                webhook_id: uuid::Uuid,
                page: $crate::page::PageRequest,
            ) -> $crate::error::Result<$crate::page::Page<$crate::webhooks::Delivery>> {
                let sql = format!(
                    "SELECT {} FROM webhook_deliveries WHERE webhook_id = $1 AND ($2 IS NULL OR event_id < $2)
                      ORDER BY event_id DESC LIMIT $3",
                    $crate::store::sql::webhooks::DELIVERY_COLS
                );
                let rows: Vec<$crate::webhooks::Delivery> = sqlx::query_as(&sql)
                    .bind(webhook_id)
                    .bind(page.before)
                    .bind(i64::from(page.limit) + 1)
                    .fetch_all(&self.read)
                    .await?;
                Ok($crate::page::Page::from_rows(rows, page, |d| d.event_id))
            }

            async fn claim_deliveries(
                &self,
                now: i64,
                lease_until: i64,
                limit: i64,
            ) -> $crate::error::Result<Vec<$crate::webhooks::Delivery>> {
                // PostgreSQL: instances claiming at once pass over each other's rows. SQLite's
                // one writer runs each claim whole.
                let skip_locked = if <$db as sqlx::Database>::NAME == "PostgreSQL" {
                    " FOR UPDATE SKIP LOCKED"
                } else {
                    ""
                };
                let sql = format!(
                    "UPDATE webhook_deliveries SET next_at = $2, attempts = attempts + 1
                      WHERE (webhook_id, event_id) IN (
                            SELECT webhook_id, event_id FROM webhook_deliveries
                             WHERE next_at IS NOT NULL AND next_at <= $1
                             ORDER BY next_at LIMIT $3{skip_locked})
                        AND next_at <= $1
                     RETURNING {}",
                    $crate::store::sql::webhooks::DELIVERY_COLS
                );
                Ok(sqlx::query_as(&sql)
                    .bind(now)
                    .bind(lease_until)
                    .bind(limit)
                    .fetch_all(&self.write)
                    .await?)
            }

            async fn record_attempt(
                &self,
                d: &$crate::webhooks::Delivery,
                outcome: &$crate::webhooks::Outcome,
                now: i64,
            ) -> $crate::error::Result<()> {
                use $crate::webhooks::Outcome;
                let (status, next_at, code, error, delivered_at) = match outcome {
                    Outcome::Delivered { status } => {
                        ("DELIVERED", None, Some(i64::from(*status)), None, Some(now))
                    }
                    Outcome::Failed { status, error, retry_at } => (
                        if retry_at.is_some() { "PENDING" } else { "FAILED" },
                        *retry_at,
                        status.map(i64::from),
                        Some(error.as_str()),
                        None,
                    ),
                };
                // Only the attempt that holds the claim reports: one that outlived its lease
                // (another instance has tried since) changes nothing.
                sqlx::query(
                    "UPDATE webhook_deliveries SET status = $3, next_at = $4, last_status_code = $5,
                            last_error = $6, delivered_at = $7
                      WHERE webhook_id = $1 AND event_id = $2 AND attempts = $8 AND status = 'PENDING'",
                )
                .bind(d.webhook_id)
                .bind(d.event_id)
                .bind(status)
                .bind(next_at)
                .bind(code)
                .bind(error)
                .bind(delivered_at)
                .bind(d.attempts)
                .execute(&self.write)
                .await?;
                Ok(())
            }
        }
    };
}
pub(crate) use impl_webhook_store;
