//! `OnSaleStore` in SQL: a concert's on-sale time, its queue's live controls, its places left.

macro_rules! impl_on_sale_store {
    ($db:ty) => {
        #[async_trait::async_trait]
        impl $crate::queue::controls::OnSaleStore for $crate::store::sql::SqlStore<$db> {
            async fn on_sale(
                &self,
                concert_id: uuid::Uuid,
            ) -> $crate::error::Result<
                Option<(Option<i64>, $crate::queue::controls::ControlRow)>,
            > {
                let row: Option<(Option<i64>, Option<i64>, Option<i64>, Option<bool>)> = sqlx::query_as(
                    "SELECT c.on_sale_at, q.active_limit, q.admit_per_minute, q.paused
                       FROM concerts c LEFT JOIN queue_controls q ON q.concert_id = c.id
                      WHERE c.id = $1",
                )
                .bind(concert_id)
                .fetch_optional(&self.read)
                .await?;
                Ok(row.map(|(at, active_limit, admit_per_minute, paused)| {
                    let controls = $crate::queue::controls::ControlRow {
                        active_limit,
                        admit_per_minute,
                        paused: paused.unwrap_or(false),
                    };
                    (at, controls)
                }))
            }

            async fn set_controls(
                &self,
                concert_id: uuid::Uuid,
                c: &$crate::queue::controls::ControlRow,
                now: i64,
            ) -> $crate::error::Result<()> {
                sqlx::query(
                    "INSERT INTO queue_controls (concert_id, active_limit, admit_per_minute, paused, updated_at)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (concert_id) DO UPDATE SET active_limit = excluded.active_limit,
                        admit_per_minute = excluded.admit_per_minute, paused = excluded.paused,
                        updated_at = excluded.updated_at",
                )
                .bind(concert_id)
                .bind(c.active_limit)
                .bind(c.admit_per_minute)
                .bind(c.paused)
                .bind(now)
                .execute(&self.write)
                .await?;
                Ok(())
            }

            async fn set_on_sale_at(
                &self,
                concert_id: uuid::Uuid,
                at: Option<i64>,
            ) -> $crate::error::Result<()> {
                sqlx::query("UPDATE concerts SET on_sale_at = $2 WHERE id = $1")
                    .bind(concert_id)
                    .bind(at)
                    .execute(&self.write)
                    .await?;
                Ok(())
            }

            async fn places(
                &self,
                concert_id: uuid::Uuid,
                now: i64,
            ) -> $crate::error::Result<$crate::queue::controls::Places> {
                let (free, held, sold, total): (Option<i64>, Option<i64>, Option<i64>, i64) = sqlx::query_as(
                    "SELECT SUM(CASE WHEN c.booking_closes_at > $2 AND (t.state = 'AVAILABLE'
                                     OR (t.state = 'HELD' AND t.held_until <= $2)) THEN 1 ELSE 0 END),
                            SUM(CASE WHEN c.booking_closes_at > $2 AND t.state = 'HELD'
                                     AND t.held_until > $2 THEN 1 ELSE 0 END),
                            SUM(CASE WHEN t.state = 'SOLD' THEN 1 ELSE 0 END),
                            COUNT(*)
                       FROM schedules c JOIN seats t ON t.schedule_id = c.id
                      WHERE c.concert_id = $1",
                )
                .bind(concert_id)
                .bind(now)
                .fetch_one(&self.read)
                .await?;
                Ok($crate::queue::controls::Places {
                    free: free.unwrap_or(0),
                    held: held.unwrap_or(0),
                    sold: sold.unwrap_or(0),
                    total,
                })
            }

            async fn record_sold_out(
                &self,
                concert_id: uuid::Uuid,
                sold_out: bool,
                now: i64,
            ) -> $crate::error::Result<bool> {
                if !sold_out {
                    let cleared = sqlx::query(
                        "UPDATE concerts SET sold_out_at = NULL WHERE id = $1 AND sold_out_at IS NOT NULL",
                    )
                    .bind(concert_id)
                    .execute(&self.write)
                    .await?
                    .rows_affected();
                    return Ok(cleared == 1);
                }
                let mut tx = self.write.begin().await?;
                let marked = sqlx::query(
                    "UPDATE concerts SET sold_out_at = $2 WHERE id = $1 AND sold_out_at IS NULL",
                )
                .bind(concert_id)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if marked == 1 {
                    let event = $crate::webhooks::Event::new(
                        $crate::webhooks::EventType::ConcertSoldOut,
                        now,
                        serde_json::json!({"concertId": concert_id, "soldOutAt": $crate::clock::to_rfc3339(now)}),
                    );
                    Self::emit(&mut tx, &event).await?;
                }
                tx.commit().await?;
                Ok(marked == 1)
            }
        }
    };
}
pub(crate) use impl_on_sale_store;
