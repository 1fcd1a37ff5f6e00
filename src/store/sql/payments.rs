//! `PaymentStore` in SQL: one transaction sells the order's places, confirms the hold and debits
//! the wallet (on PostgreSQL, one statement does: `store/postgres/payments.rs`).

macro_rules! impl_payment_store {
    ($db:ty) => {
        impl $crate::store::sql::SqlStore<$db> {
            async fn pay_in(
                tx: &mut <$db as sqlx::Database>::Connection,
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
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if sold != r.quantity as u64 {
                    let status: String = sqlx::query_scalar("SELECT status FROM reservations WHERE id = $1")
                        .bind(r.id)
                        .fetch_one(&mut *tx)
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
                .execute(&mut *tx)
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
                .fetch_optional(&mut *tx)
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
                .execute(&mut *tx)
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
                .execute(&mut *tx)
                .await?;
                Ok(payment)
            }
        }

        impl $crate::store::sql::SqlStore<$db> {
            /// The payment's statements on `conn`, inside the caller's transaction (or SQLite
            /// group's savepoint). A refusal leaves writes behind that the caller must roll back
            /// before it records the refusal under the key (`idem_refuse`).
            pub(crate) async fn pay_steps(
                conn: &mut <$db as sqlx::Database>::Connection,
                user_id: uuid::Uuid,
                reservation_id: uuid::Uuid,
                now: i64,
                idem: Option<&$crate::idempotency::IdemKey>,
            ) -> $crate::error::Result<$crate::store::sql::Step<$crate::payments::Paid>> {
                use $crate::store::sql::Step;
                if let Some(idem) = idem
                    && let Some(answer) = Self::idem_claim(&mut *conn, user_id, idem, now).await?
                {
                    return Ok(Step::Replay(answer));
                }
                let sql = format!(
                    "SELECT {} FROM reservations WHERE id = $1 AND user_id = $2",
                    $crate::store::sql::RESERVATION_COLS
                );
                let found: Option<$crate::reservations::Reservation> =
                    sqlx::query_as(&sql).bind(reservation_id).bind(user_id).fetch_optional(&mut *conn).await?;
                let Some(reservation) = found else {
                    return Ok(Step::Refused($crate::error::Error::ReservationNotFound));
                };
                let payment = match Self::pay_in(&mut *conn, &reservation, user_id, now).await {
                    Ok(p) => p,
                    Err(e) if e.status().is_client_error() => return Ok(Step::Refused(e)),
                    Err(e) => return Err(e),
                };
                if let Some(idem) = idem {
                    let answer = $crate::idempotency::Stored::of(axum::http::StatusCode::CREATED, &payment);
                    Self::idem_store(&mut *conn, user_id, idem, &answer).await?;
                }
                let mut reservation = Self::with_numbers(&mut *conn, vec![reservation]).await?.remove(0);
                let event = $crate::webhooks::reservation_confirmed(&reservation, user_id, now);
                Self::emit(&mut *conn, &event).await?;
                reservation.status = $crate::reservations::ReservationStatus::Confirmed;
                Ok(Step::Done($crate::payments::Paid { payment, reservation }))
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
