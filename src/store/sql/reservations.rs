//! `ReservationStore` in SQL: the seat rows' conditional updates decide every race for a place.

/// The places of the user's reservations `WHERE` picks (binds `$1`.. as the caller's query).
pub(crate) const SEATS_OF: &str =
    "SELECT reservation_id, number FROM reservation_seats WHERE reservation_id IN";

macro_rules! impl_reservation_store {
    ($db:ty) => {
        impl $crate::store::sql::SqlStore<$db> {
            /// Fills in each reservation's place numbers from `reservation_seats`.
            async fn with_numbers<'e, E>(
                exec: E,
                mut rows: Vec<$crate::reservations::Reservation>,
            ) -> $crate::error::Result<Vec<$crate::reservations::Reservation>>
            where
                E: sqlx::Executor<'e, Database = $db>,
            {
                if rows.is_empty() {
                    return Ok(rows);
                }
                let marks: Vec<String> = (1..=rows.len()).map(|i| format!("${i}")).collect();
                let sql = format!(
                    "{} ({}) ORDER BY number",
                    $crate::store::sql::reservations::SEATS_OF,
                    marks.join(", ")
                );
                let mut q = sqlx::query_as::<_, (uuid::Uuid, i64)>(&sql);
                for r in &rows {
                    q = q.bind(r.id);
                }
                for (id, number) in q.fetch_all(exec).await? {
                    if let Some(r) = rows.iter_mut().find(|r| r.id == id) {
                        r.numbers.push(number);
                    }
                }
                Ok(rows)
            }
        }

        #[async_trait::async_trait]
        impl $crate::reservations::ReservationStore for $crate::store::sql::SqlStore<$db> {
            async fn hold(
                &self,
                r: &$crate::reservations::HoldRequest,
            ) -> $crate::error::Result<$crate::reservations::Hold> {
                // Backend-specific: a transaction on SQLite, one function call on PostgreSQL.
                let hold = self.hold_places(r).await?;
                if let $crate::reservations::Hold::Made(made) = &hold {
                    self.recent_holds.held(r.user_id, made);
                }
                Ok(hold)
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
                let found: Option<$crate::reservations::Reservation> = sqlx::query_as(&sql)
                    .bind(id)
                    .bind(user_id)
                    .fetch_optional(&self.read)
                    .await?;
                let rows = Self::with_numbers(&self.read, found.into_iter().collect()).await?;
                Ok(rows.into_iter().next())
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
                let rows = Self::with_numbers(&self.read, rows).await?;
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
                Self::lock_places(&mut tx, r.schedule_id, r.id).await?;
                let freed =
                    sqlx::query(<$db as $crate::store::sql::SeatStatements>::FREE_HELD_SEATS)
                        .bind(r.schedule_id)
                        .bind(r.id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                if freed != r.numbers.len() as u64 {
                    return Err(Error::ReservationNotHeld);
                }
                let sql = format!(
                    "{} RETURNING {}",
                    $crate::store::sql::CANCEL_HOLD,
                    $crate::store::sql::RESERVATION_COLS
                );
                let mut cancelled: $crate::reservations::Reservation = sqlx::query_as(&sql)
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(Error::ReservationNotHeld)?;
                tx.commit().await?;
                cancelled.numbers = r.numbers;
                Ok(cancelled)
            }

            async fn expire_holds(&self, now: i64) -> $crate::error::Result<u64> {
                // One transaction that frees lapsed places (`free_lapsed`, per backend), then
                // ends every lapsed hold left without a place, so no one ever sees a place still
                // HELD for a reservation already EXPIRED; a payment racing the sweep finds either
                // a live hold or HOLD_EXPIRED.
                let mut tx = self.write.begin().await?;
                Self::free_lapsed(&mut tx, now).await?;
                let expired = sqlx::query($crate::store::sql::EXPIRE_EMPTY_HOLDS)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                Ok(expired)
            }
        }
    };
}
pub(crate) use impl_reservation_store;
