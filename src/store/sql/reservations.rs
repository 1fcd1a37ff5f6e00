//! `ReservationStore` in SQL: the seat row's conditional update decides every race for a seat.

macro_rules! impl_reservation_store {
    ($db:ty) => {
        #[async_trait::async_trait]
        impl $crate::reservations::ReservationStore for $crate::store::sql::SqlStore<$db> {
            async fn hold(
                &self,
                r: &$crate::reservations::HoldRequest,
            ) -> $crate::error::Result<$crate::reservations::Reservation> {
                // Backend-specific: a transaction on SQLite, one function call on PostgreSQL.
                self.hold_seat(r).await
            }

            async fn reservation(
                &self,
                id: uuid::Uuid,
                user_id: uuid::Uuid,
            ) -> $crate::error::Result<Option<$crate::reservations::Reservation>> {
                let sql = format!(
                    "SELECT {} FROM reservations WHERE id = $1 AND user_id = $2",
                    $crate::store::sql::RESERVATION_COLS
                );
                Ok(sqlx::query_as(&sql)
                    .bind(id)
                    .bind(user_id)
                    .fetch_optional(&self.read)
                    .await?)
            }

            async fn reservations(
                &self,
                user_id: uuid::Uuid,
                page: $crate::page::PageRequest,
            ) -> $crate::error::Result<$crate::page::Page<$crate::reservations::Reservation>> {
                let sql = format!(
                    "SELECT {} FROM reservations WHERE user_id = $1 AND ($2 IS NULL OR id < $2)
                      ORDER BY id DESC LIMIT $3",
                    $crate::store::sql::RESERVATION_COLS
                );
                let rows: Vec<$crate::reservations::Reservation> = sqlx::query_as(&sql)
                    .bind(user_id)
                    .bind(page.before)
                    .bind(i64::from(page.limit) + 1)
                    .fetch_all(&self.read)
                    .await?;
                Ok($crate::page::Page::from_rows(rows, page, |r| r.id))
            }

            async fn cancel(
                &self,
                id: uuid::Uuid,
                user_id: uuid::Uuid,
                now: i64,
            ) -> $crate::error::Result<$crate::reservations::Reservation> {
                use $crate::error::Error;
                let r = self
                    .reservation(id, user_id)
                    .await?
                    .ok_or(Error::ReservationNotFound)?;
                let mut tx = self.write.begin().await?;
                let freed = sqlx::query(
                    "UPDATE seats SET state = 'AVAILABLE', held_until = NULL, reservation_id = NULL
                      WHERE schedule_id = $1 AND number = $2 AND reservation_id = $3
                        AND state = 'HELD' AND held_until > $4",
                )
                .bind(r.schedule_id)
                .bind(r.seat_number)
                .bind(r.id)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if freed == 0 {
                    return Err(Error::ReservationNotHeld);
                }
                let sql = format!(
                    "{} RETURNING {}",
                    $crate::store::sql::CANCEL_HOLD,
                    $crate::store::sql::RESERVATION_COLS
                );
                let cancelled = sqlx::query_as(&sql)
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(Error::ReservationNotHeld)?;
                tx.commit().await?;
                Ok(cancelled)
            }

            async fn expire_holds(&self, now: i64) -> $crate::error::Result<u64> {
                // One transaction that ends seat and reservation together (`expire_lapsed`, per
                // backend), so no one ever sees a seat still HELD for a reservation already
                // EXPIRED; a payment racing the sweep finds either a live hold or HOLD_EXPIRED.
                let mut tx = self.write.begin().await?;
                let expired = Self::expire_lapsed(&mut tx, now).await?;
                // Idempotency keys are kept for a day, as payment providers do.
                sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
                    .bind(now - $crate::idempotency::KEEP_MS)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(expired)
            }
        }
    };
}
pub(crate) use impl_reservation_store;
