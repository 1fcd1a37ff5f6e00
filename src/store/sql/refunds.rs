//! `RefundStore` in SQL: one transaction frees the order's places, turns it REFUNDED and credits
//! the wallet. Lock order as everywhere: seat rows, the reservation row, the wallet row.

macro_rules! impl_refund_store {
    ($db:ty) => {
        impl $crate::store::sql::SqlStore<$db> {
            async fn refund_in(
                tx: &mut sqlx::Transaction<'_, $db>,
                user_id: uuid::Uuid,
                reservation_id: uuid::Uuid,
                now: i64,
            ) -> $crate::error::Result<$crate::reservations::Reservation> {
                use $crate::error::Error;
                use $crate::reservations::ReservationStatus;
                let sql = format!(
                    "SELECT {} FROM reservations WHERE id = $1 AND user_id = $2",
                    $crate::store::sql::RESERVATION_COLS
                );
                let found: Option<$crate::reservations::Reservation> = sqlx::query_as(&sql)
                    .bind(reservation_id)
                    .bind(user_id)
                    .fetch_optional(&mut **tx)
                    .await?;
                let r = found.ok_or(Error::ReservationNotFound)?;
                // Only ever rejects: the conditional updates below decide.
                if r.status != ReservationStatus::Confirmed {
                    return Err(Error::ReservationNotConfirmed);
                }
                let (starts_at, status, policy): (i64, String, Option<$crate::refunds::policy::RefundPolicy>) =
                    sqlx::query_as(
                        "SELECT s.starts_at, s.status, c.refund_policy FROM schedules s
                           JOIN concerts c ON c.id = s.concert_id WHERE s.id = $1",
                    )
                    .bind(r.schedule_id)
                    .fetch_one(&mut **tx)
                    .await?;
                let policy = policy.unwrap_or_else($crate::refunds::policy::RefundPolicy::default_policy);
                // A called-off date is refunded in full, whoever gets to it first: its fan or
                // the cancellation's job.
                let fee = if status == "CANCELLED" {
                    $crate::refunds::policy::Fee { fee: $crate::money::Money(0), amount: r.price }
                } else {
                    policy.fee(r.price, starts_at, now)?
                };
                // In number order, as hold batches lock them: no deadlock with a batch naming them.
                Self::lock_places(tx, r.schedule_id, r.id).await?;
                let freed = sqlx::query(<$db as $crate::store::sql::SeatStatements>::FREE_SOLD_SEATS)
                    .bind(r.schedule_id)
                    .bind(r.id)
                    .execute(&mut **tx)
                    .await?
                    .rows_affected();
                if freed != r.quantity as u64 {
                    // A refund of the same reservation committed first.
                    return Err(Error::ReservationNotConfirmed);
                }
                let sql = format!(
                    "UPDATE reservations SET status = 'REFUNDED', refund_amount = $2, refund_fee = $3
                      WHERE id = $1 AND status || '' = 'CONFIRMED' RETURNING {}",
                    $crate::store::sql::RESERVATION_COLS
                );
                let mut refunded: $crate::reservations::Reservation = sqlx::query_as(&sql)
                    .bind(r.id)
                    .bind(fee.amount)
                    .bind(fee.fee)
                    .fetch_optional(&mut **tx)
                    .await?
                    .ok_or(Error::ReservationNotConfirmed)?;
                // A ticket let in at the gate is used: no refund. The reservation row is locked
                // now, so a check-in in flight has committed (it share-locks the row) and this
                // statement, on a fresh snapshot, sees it; one that starts later waits for this
                // transaction and then finds the reservation REFUNDED.
                let checked_in: Option<i64> =
                    sqlx::query_scalar($crate::store::sql::tickets::FIRST_CHECK_IN)
                .bind(r.id)
                .fetch_one(&mut **tx)
                .await?;
                if let Some(at) = checked_in {
                    return Err(Error::AlreadyCheckedIn($crate::clock::to_rfc3339(at)));
                }
                // A fee of 100 % gives nothing back: no wallet change, no ledger line.
                if fee.amount.0 > 0 {
                    let balance: Option<$crate::money::Money> = sqlx::query_scalar(
                        "UPDATE wallets SET balance = balance + $2, updated_at = $3
                          WHERE user_id = $1 AND balance + $2 <= $4 RETURNING balance",
                    )
                    .bind(user_id)
                    .bind(fee.amount)
                    .bind(now)
                    .bind($crate::money::BALANCE_CAP)
                    .fetch_optional(&mut **tx)
                    .await?;
                    let balance = balance.ok_or(Error::BalanceLimit)?;
                    sqlx::query(
                        "INSERT INTO wallet_transactions (id, user_id, kind, amount, balance_after, reservation_id, created_at)
                         VALUES ($1, $2, 'REFUND', $3, $4, $5, $6)",
                    )
                    .bind(uuid::Uuid::now_v7())
                    .bind(user_id)
                    .bind(fee.amount)
                    .bind(balance)
                    .bind(r.id)
                    .bind(now)
                    .execute(&mut **tx)
                    .await?;
                }
                refunded.numbers = Self::with_numbers(&mut **tx, vec![r]).await?.remove(0).numbers;
                let mut data = $crate::webhooks::reservation_data(&refunded);
                data["userId"] = serde_json::json!(user_id);
                data["amount"] = serde_json::json!(fee.amount);
                data["fee"] = serde_json::json!(fee.fee);
                data["reason"] = serde_json::json!("REFUND");
                let event = $crate::webhooks::Event::new(
                    $crate::webhooks::EventType::ReservationRefunded,
                    now,
                    data,
                );
                Self::emit(tx, &event).await?;
                Ok(refunded)
            }
        }

        #[async_trait::async_trait]
        impl $crate::refunds::RefundStore for $crate::store::sql::SqlStore<$db> {
            async fn refund(
                &self,
                user_id: uuid::Uuid,
                reservation_id: uuid::Uuid,
                now: i64,
                idem: Option<&$crate::idempotency::IdemKey>,
                shown: &$crate::reservations::Shown,
            ) -> $crate::error::Result<$crate::idempotency::Replayable<$crate::reservations::Reservation>> {
                use $crate::idempotency::{Replayable, Stored};
                let mut tx = self.write.begin().await?;
                // The refund's time is when it gets the database: the tier is the one then.
                let now = now.max($crate::clock::now());
                if let Some(idem) = idem
                    && let Some(answer) = Self::idem_claim(&mut tx, user_id, idem, now).await?
                {
                    return Ok(Replayable::Replay(answer));
                }
                let refunded = match Self::refund_in(&mut tx, user_id, reservation_id, now).await {
                    Ok(r) => r,
                    Err(e) => {
                        tx.rollback().await?;
                        return self.idem_fail(user_id, idem, e, now).await;
                    }
                };
                if let Some(idem) = idem {
                    let view = refunded.clone().view(shown, now);
                    let answer = Stored::of(axum::http::StatusCode::OK, &view);
                    Self::idem_store(&mut tx, user_id, idem, &answer).await?;
                }
                tx.commit().await?;
                Ok(Replayable::Fresh(refunded))
            }
        }
    };
}
pub(crate) use impl_refund_store;
