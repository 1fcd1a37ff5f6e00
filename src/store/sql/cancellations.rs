//! `CancellationStore` in SQL: the cancel as one transaction, and each listed refund as one
//! transaction that starts by claiming its row (`done` 0 → 1), so it happens once.

macro_rules! impl_cancellation_store {
    ($db:ty) => {
        impl $crate::store::sql::SqlStore<$db> {
            /// Locks a schedule's places in number order, as hold batches lock them, so a cancel
            /// never deadlocks with a batch; SQLite's one writer has nothing to order.
            async fn lock_schedule_places(
                tx: &mut sqlx::Transaction<'_, $db>,
                schedule_id: uuid::Uuid,
            ) -> $crate::error::Result<()> {
                if <$db as sqlx::Database>::NAME == "PostgreSQL" {
                    sqlx::query("SELECT 1 FROM seats WHERE schedule_id = $1 ORDER BY number FOR UPDATE")
                        .bind(schedule_id)
                        .execute(&mut **tx)
                        .await?;
                }
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl $crate::cancellations::CancellationStore for $crate::store::sql::SqlStore<$db> {
            async fn cancel_schedule(
                &self,
                schedule_id: uuid::Uuid,
                now: i64,
            ) -> $crate::error::Result<bool> {
                let mut tx = self.write.begin().await?;
                let cancelled = sqlx::query(
                    "UPDATE schedules SET status = 'CANCELLED' WHERE id = $1 AND status = 'SCHEDULED'",
                )
                .bind(schedule_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if cancelled == 0 {
                    return Ok(false);
                }
                Self::lock_schedule_places(&mut tx, schedule_id).await?;
                // Free and held places alike: no hold or payment can take them from now on.
                sqlx::query(
                    "UPDATE seats SET state = 'VOID', held_until = NULL, reservation_id = NULL
                      WHERE schedule_id = $1 AND state IN ('AVAILABLE', 'HELD')",
                )
                .bind(schedule_id)
                .execute(&mut *tx)
                .await?;
                sqlx::query("UPDATE reservations SET status = 'CANCELLED' WHERE schedule_id = $1 AND status = 'HELD'")
                    .bind(schedule_id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("UPDATE waitlist SET status = 'CANCELLED' WHERE schedule_id = $1 AND status IN ('WAITING', 'OFFERING')")
                    .bind(schedule_id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO schedule_refunds (schedule_id, reservation_id, done)
                     SELECT schedule_id, id, 0 FROM reservations WHERE schedule_id = $1 AND status = 'CONFIRMED'",
                )
                .bind(schedule_id)
                .execute(&mut *tx)
                .await?;
                let (concert_id, refunds): (uuid::Uuid, i64) = sqlx::query_as(
                    "SELECT s.concert_id, (SELECT COUNT(*) FROM schedule_refunds r WHERE r.schedule_id = s.id)
                       FROM schedules s WHERE s.id = $1",
                )
                .bind(schedule_id)
                .fetch_one(&mut *tx)
                .await?;
                let event = $crate::webhooks::Event::new(
                    $crate::webhooks::EventType::ScheduleCancelled,
                    now,
                    serde_json::json!({"scheduleId": schedule_id, "concertId": concert_id,
                                       "cancelledAt": $crate::clock::to_rfc3339(now),
                                       "refundsTotal": refunds}),
                );
                Self::emit(&mut tx, &event).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn refund_progress(
                &self,
                schedule_id: uuid::Uuid,
            ) -> $crate::error::Result<$crate::cancellations::RefundProgress> {
                let (total, done): (i64, i64) = sqlx::query_as(
                    "SELECT COUNT(*), COUNT(CASE WHEN done = 1 THEN 1 END) FROM schedule_refunds WHERE schedule_id = $1",
                )
                .bind(schedule_id)
                .fetch_one(&self.read)
                .await?;
                Ok($crate::cancellations::RefundProgress { total, done })
            }

            async fn pending_refunds(
                &self,
                after: Option<(uuid::Uuid, uuid::Uuid)>,
                limit: i64,
            ) -> $crate::error::Result<Vec<(uuid::Uuid, uuid::Uuid)>> {
                let (schedule, reservation) = after.unzip();
                Ok(sqlx::query_as(
                    "SELECT schedule_id, reservation_id FROM schedule_refunds
                      WHERE done = 0 AND ($1 IS NULL OR (schedule_id, reservation_id) > ($1, $2))
                      ORDER BY schedule_id, reservation_id LIMIT $3",
                )
                .bind(schedule)
                .bind(reservation)
                .bind(limit)
                .fetch_all(&self.read)
                .await?)
            }

            async fn refund_listed(
                &self,
                schedule_id: uuid::Uuid,
                reservation_id: uuid::Uuid,
                now: i64,
            ) -> $crate::error::Result<bool> {
                use $crate::error::Error;
                let mut tx = self.write.begin().await?;
                let claimed = sqlx::query(
                    "UPDATE schedule_refunds SET done = 1
                      WHERE schedule_id = $1 AND reservation_id = $2 AND done = 0",
                )
                .bind(schedule_id)
                .bind(reservation_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if claimed == 0 {
                    return Ok(false);
                }
                Self::lock_places(&mut tx, schedule_id, reservation_id).await?;
                // Places of a cancelled schedule are never sold again.
                sqlx::query(<$db as $crate::store::sql::SeatStatements>::VOID_SOLD_SEATS)
                .bind(schedule_id)
                .bind(reservation_id)
                .execute(&mut *tx)
                .await?;
                let refunded: Option<(uuid::Uuid, $crate::money::Money, uuid::Uuid)> = sqlx::query_as(
                    "UPDATE reservations SET status = 'REFUNDED', refund_amount = price, refund_fee = 0
                      WHERE id = $1 AND status || '' = 'CONFIRMED' RETURNING user_id, price, concert_id",
                )
                .bind(reservation_id)
                .fetch_optional(&mut *tx)
                .await?;
                // Not CONFIRMED any more: its fan refunded it first, in full (the schedule was
                // cancelled), and the row is done all the same.
                if let Some((user_id, price, concert_id)) = refunded {
                    let event = $crate::webhooks::Event::new(
                        $crate::webhooks::EventType::ReservationRefunded,
                        now,
                        serde_json::json!({"reservationId": reservation_id,
                                           "bookingRef": $crate::reservations::booking_ref(reservation_id),
                                           "concertId": concert_id, "scheduleId": schedule_id,
                                           "userId": user_id, "price": price, "amount": price, "fee": 0,
                                           "reason": "SCHEDULE_CANCELLED"}),
                    );
                    Self::emit(&mut tx, &event).await?;
                    let balance: $crate::money::Money = sqlx::query_scalar(
                        "UPDATE wallets SET balance = balance + $2, updated_at = $3
                          WHERE user_id = $1 AND balance + $2 <= $4 RETURNING balance",
                    )
                    .bind(user_id)
                    .bind(price)
                    .bind(now)
                    .bind($crate::money::BALANCE_CAP)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(Error::BalanceLimit)?;
                    sqlx::query(
                        "INSERT INTO wallet_transactions (id, user_id, kind, amount, balance_after, reservation_id, created_at)
                         VALUES ($1, $2, 'REFUND', $3, $4, $5, $6)",
                    )
                    .bind(uuid::Uuid::now_v7())
                    .bind(user_id)
                    .bind(price)
                    .bind(balance)
                    .bind(reservation_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(true)
            }
        }
    };
}
pub(crate) use impl_cancellation_store;
