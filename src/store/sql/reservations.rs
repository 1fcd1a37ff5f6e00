//! `ReservationStore` in SQL: the seat row's conditional update decides every race for a seat.

macro_rules! impl_reservation_store {
    ($db:ty) => {
        #[async_trait::async_trait]
        impl $crate::reservations::ReservationStore for $crate::store::sql::SqlStore<$db> {
            async fn hold(
                &self,
                r: &$crate::reservations::HoldRequest,
            ) -> $crate::error::Result<$crate::reservations::Reservation> {
                use $crate::error::Error;
                let mut tx = self.write.begin().await?;
                // The race for the seat: exactly one transaction can move it out of "free".
                let won = sqlx::query(
                    "UPDATE seats SET state = 'HELD', held_until = $3, reservation_id = $4
                      WHERE schedule_id = $1 AND number = $2
                        AND (state = 'AVAILABLE' OR (state = 'HELD' AND held_until <= $5))",
                )
                .bind(r.schedule_id)
                .bind(r.seat_number)
                .bind(r.held_until)
                .bind(r.id)
                .bind(r.now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if won == 0 {
                    return Err(Error::SeatUnavailable);
                }
                // Lock the user's row so their concurrent holds are counted one after another.
                sqlx::query("UPDATE users SET last_hold_at = $2 WHERE id = $1")
                    .bind(r.user_id)
                    .bind(r.now)
                    .execute(&mut *tx)
                    .await?;
                let live: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM reservations
                      WHERE user_id = $1 AND schedule_id = $2 AND status = 'HELD' AND held_until > $3",
                )
                .bind(r.user_id)
                .bind(r.schedule_id)
                .bind(r.now)
                .fetch_one(&mut *tx)
                .await?;
                if live >= i64::from(r.max_holds) {
                    return Err(Error::HoldLimitReached);
                }
                // A lapsed hold on this seat that the sweeper has not reached yet ends here.
                sqlx::query(
                    "UPDATE reservations SET status = 'EXPIRED'
                      WHERE schedule_id = $1 AND seat_number = $2 AND status = 'HELD' AND held_until <= $3",
                )
                .bind(r.schedule_id)
                .bind(r.seat_number)
                .bind(r.now)
                .execute(&mut *tx)
                .await?;
                let sql = format!(
                    "INSERT INTO reservations (user_id, {cols})
                     VALUES ($8, $1, $2, $3, $4, $5, 'HELD', $6, $7, NULL) RETURNING {cols}",
                    cols = $crate::store::sql::RESERVATION_COLS
                );
                let created = sqlx::query_as(&sql)
                    .bind(r.id)
                    .bind(r.concert_id)
                    .bind(r.schedule_id)
                    .bind(r.seat_number)
                    .bind(r.price)
                    .bind(r.held_until)
                    .bind(r.now)
                    .bind(r.user_id)
                    .fetch_one(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(created)
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
                Ok(sqlx::query_as(&sql).bind(id).bind(user_id).fetch_optional(&self.read).await?)
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
                let r = self.reservation(id, user_id).await?.ok_or(Error::ReservationNotFound)?;
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
                    "UPDATE reservations SET status = 'CANCELLED' WHERE id = $1 AND status = 'HELD' RETURNING {}",
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
                // Two separate statements (no transaction): each takes only one kind of row lock,
                // so the sweeper cannot deadlock with a hold, a payment or another sweeper.
                let expired = sqlx::query(
                    "UPDATE reservations SET status = 'EXPIRED' WHERE status = 'HELD' AND held_until <= $1",
                )
                .bind(now)
                .execute(&self.write)
                .await?
                .rows_affected();
                sqlx::query(
                    "UPDATE seats SET state = 'AVAILABLE', held_until = NULL, reservation_id = NULL
                      WHERE state = 'HELD' AND held_until <= $1",
                )
                .bind(now)
                .execute(&self.write)
                .await?;
                Ok(expired)
            }
        }
    };
}
pub(crate) use impl_reservation_store;
