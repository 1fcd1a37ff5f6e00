//! `PaymentStore` in SQL: one transaction sells the order's places, confirms the hold and debits
//! the wallet (on PostgreSQL, one statement does: `store/postgres/payments.rs`).

macro_rules! impl_payment_store {
    ($db:ty) => {
        impl $crate::store::sql::SqlStore<$db> {
            async fn pay_in(
                tx: &mut sqlx::Transaction<'_, $db>,
                r: &$crate::reservations::Reservation,
                user_id: uuid::Uuid,
                now: i64,
            ) -> $crate::error::Result<$crate::payments::Payment> {
                use $crate::error::Error;
                // The race for the sale: only a live hold of this reservation turns its places
                // SOLD, and only all of them (a place taken over after the hold lapsed is lost).
                Self::lock_places(tx, r.schedule_id, r.id).await?;
                let sold = sqlx::query($crate::store::sql::SELL_HELD_SEATS)
                    .bind(r.schedule_id)
                    .bind(r.id)
                    .bind(now)
                    .execute(&mut **tx)
                    .await?
                    .rows_affected();
                if sold != r.quantity as u64 {
                    let status: String = sqlx::query_scalar("SELECT status FROM reservations WHERE id = $1")
                        .bind(r.id)
                        .fetch_one(&mut **tx)
                        .await?;
                    return Err(match status.as_str() {
                        "CONFIRMED" => Error::AlreadyPaid,
                        "CANCELLED" => Error::ReservationNotHeld,
                        _ => Error::HoldExpired,
                    });
                }
                let confirmed = sqlx::query($crate::store::sql::CONFIRM_HOLD)
                .bind(r.id)
                .bind(now)
                .execute(&mut **tx)
                .await?
                .rows_affected();
                if confirmed != 1 {
                    // The sweeper marked it EXPIRED in between: the hold lapsed, nothing is sold.
                    return Err(Error::HoldExpired);
                }
                let balance: Option<$crate::money::Money> = sqlx::query_scalar(
                    "UPDATE wallets SET balance = balance - $2, updated_at = $3
                      WHERE user_id = $1 AND balance >= $2 RETURNING balance",
                )
                .bind(user_id)
                .bind(r.price)
                .bind(now)
                .fetch_optional(&mut **tx)
                .await?;
                let balance = balance.ok_or(Error::InsufficientBalance)?;
                sqlx::query(
                    "INSERT INTO wallet_transactions (id, user_id, kind, amount, balance_after, reservation_id, created_at)
                     VALUES ($1, $2, 'PAYMENT', $3, $4, $5, $6)",
                )
                .bind(uuid::Uuid::now_v7())
                .bind(user_id)
                .bind(-r.price.0)
                .bind(balance)
                .bind(r.id)
                .bind(now)
                .execute(&mut **tx)
                .await?;
                let payment = $crate::payments::Payment {
                    id: uuid::Uuid::now_v7(),
                    reservation_id: r.id,
                    amount: r.price,
                    balance_after: balance,
                    created_at: now,
                };
                sqlx::query(
                    "INSERT INTO payments (id, reservation_id, user_id, amount, balance_after, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(payment.id)
                .bind(payment.reservation_id)
                .bind(user_id)
                .bind(payment.amount)
                .bind(payment.balance_after)
                .bind(now)
                .execute(&mut **tx)
                .await?;
                Ok(payment)
            }
        }

        impl $crate::store::sql::SqlStore<$db> {
            /// The payment as one transaction of several statements: SQLite's way, and
            /// PostgreSQL's for what its one-statement `encore_pay` leaves to it.
            pub(crate) async fn pay_in_transaction(
                &self,
                user_id: uuid::Uuid,
                reservation_id: uuid::Uuid,
                now: i64,
                idem: Option<&$crate::idempotency::IdemKey>,
            ) -> $crate::error::Result<$crate::idempotency::Replayable<$crate::payments::Paid>> {
                use $crate::idempotency::{Replayable, Stored};
                let mut tx = self.write.begin().await?;
                // The time of the payment is when it gets the database, not when it asked: a
                // payment that waited for the writer past `heldUntil` must not sell the seat.
                let now = now.max($crate::clock::now());
                if let Some(idem) = idem
                    && let Some(answer) = Self::idem_claim(&mut tx, user_id, idem, now).await?
                {
                    return Ok(Replayable::Replay(answer));
                }
                // Read inside the transaction: a second pooled connection per payment could exhaust
                // the pool under a burst and deadlock it.
                let sql = format!(
                    "SELECT {} FROM reservations WHERE id = $1 AND user_id = $2",
                    $crate::store::sql::RESERVATION_COLS
                );
                let found: sqlx::Result<Option<$crate::reservations::Reservation>> =
                    sqlx::query_as(&sql).bind(reservation_id).bind(user_id).fetch_optional(&mut *tx).await;
                let result = match found.map_err($crate::error::Error::from) {
                    Ok(Some(r)) => Self::pay_in(&mut tx, &r, user_id, now).await.map(|p| (p, r)),
                    Ok(None) => Err($crate::error::Error::ReservationNotFound),
                    Err(e) => Err(e),
                };
                let (payment, reservation) = match result {
                    Ok(ok) => ok,
                    Err(e) => {
                        tx.rollback().await?;
                        return self.idem_fail(user_id, idem, e, now).await;
                    }
                };
                if let Some(idem) = idem {
                    let answer = Stored::of(axum::http::StatusCode::CREATED, &payment);
                    Self::idem_store(&mut tx, user_id, idem, &answer).await?;
                }
                let mut reservation = Self::with_numbers(&mut *tx, vec![reservation]).await?.remove(0);
                let event = $crate::webhooks::reservation_confirmed(&reservation, user_id, now);
                Self::emit(&mut tx, &event).await?;
                tx.commit().await?;
                reservation.status = $crate::reservations::ReservationStatus::Confirmed;
                Ok(Replayable::Fresh($crate::payments::Paid { payment, reservation }))
            }
        }

        #[async_trait::async_trait]
        impl $crate::payments::PaymentStore for $crate::store::sql::SqlStore<$db> {
            async fn pay(
                &self,
                user_id: uuid::Uuid,
                reservation_id: uuid::Uuid,
                now: i64,
                idem: Option<&$crate::idempotency::IdemKey>,
            ) -> $crate::error::Result<$crate::idempotency::Replayable<$crate::payments::Paid>> {
                // Backend-specific: a transaction on SQLite, one function call on PostgreSQL.
                self.pay_order(user_id, reservation_id, now, idem).await
            }

            async fn payment(
                &self,
                id: uuid::Uuid,
                user_id: uuid::Uuid,
            ) -> $crate::error::Result<Option<$crate::payments::Payment>> {
                Ok(sqlx::query_as(
                    "SELECT id, reservation_id, amount, balance_after, created_at FROM payments
                      WHERE id = $1 AND user_id = $2",
                )
                .bind(id)
                .bind(user_id)
                .fetch_optional(&self.read)
                .await?)
            }
        }
    };
}
pub(crate) use impl_payment_store;
