//! `PaymentStore` in SQL: one transaction sells the order's places, confirms the hold and debits
//! the wallet. The sale itself (`pay_in`) is each backend's: a few calls to SQLite's writer
//! (`store/sqlite/payments.rs`); on PostgreSQL one statement, `encore_pay`
//! (`store/postgres/payments.rs`), with `pay_in` there for a payment it cannot be given.

macro_rules! impl_payment_store {
    ($db:ty) => {
        impl $crate::store::sql::SqlStore<$db> {
            /// The sale: every place of the order still HELD for it at `now` turns SOLD, and
            /// only if all of them do is it a sale (a place taken over after the hold lapsed is
            /// lost). The numbers sold, in order; the refusal when fewer than the order's size
            /// (the caller rolls the partial sale back).
            pub(crate) async fn sell_places(
                tx: &mut <$db as sqlx::Database>::Connection,
                r: &$crate::reservations::Reservation,
                now: i64,
            ) -> $crate::error::Result<Vec<i64>> {
                let mut numbers: Vec<i64> = sqlx::query_scalar(&format!(
                    "{} RETURNING number",
                    <$db as $crate::store::sql::SeatStatements>::SELL_HELD_SEATS
                ))
                .bind(r.schedule_id)
                .bind(r.id)
                .bind(now)
                .fetch_all(&mut *tx)
                .await?;
                if numbers.len() as i64 != r.quantity {
                    return Err(Self::unsold(tx, r.id).await?);
                }
                numbers.sort_unstable();
                Ok(numbers)
            }

            /// Why a payment sold fewer places than its order holds: the reservation's status
            /// says (read only on that path).
            pub(crate) async fn unsold(
                tx: &mut <$db as sqlx::Database>::Connection,
                reservation_id: uuid::Uuid,
            ) -> $crate::error::Result<$crate::error::Error> {
                use $crate::error::Error;
                let status: String =
                    sqlx::query_scalar("SELECT status FROM reservations WHERE id = $1")
                        .bind(reservation_id)
                        .fetch_one(&mut *tx)
                        .await?;
                Ok(match status.as_str() {
                    "CONFIRMED" => Error::AlreadyPaid,
                    "CANCELLED" => Error::ReservationNotHeld,
                    _ => Error::HoldExpired,
                })
            }
        }

        impl $crate::store::sql::SqlStore<$db> {
            /// The payment's statements on `conn`, inside the caller's transaction (or SQLite
            /// group's savepoint). A refusal leaves writes behind that the caller must roll back
            /// before it records the refusal under the key (`idem_refuse`). `known`: the fan's
            /// reservation as a reader saw it (its places, price and schedule never change; the
            /// sale decides on the rows), or `None` to read it here.
            pub(crate) async fn pay_steps(
                conn: &mut <$db as sqlx::Database>::Connection,
                user_id: uuid::Uuid,
                reservation_id: uuid::Uuid,
                now: i64,
                idem: Option<&$crate::idempotency::IdemKey>,
                known: Option<$crate::reservations::Reservation>,
            ) -> $crate::error::Result<$crate::store::sql::Step<$crate::payments::Paid>> {
                use $crate::store::sql::Step;
                if let Some(idem) = idem
                    && let Some(answer) = Self::idem_claim(&mut *conn, user_id, idem, now).await?
                {
                    return Ok(Step::Replay(answer));
                }
                let found = match known {
                    Some(r) => Some(r),
                    None => {
                        let sql = format!(
                            "SELECT {} FROM reservations WHERE id = $1 AND user_id = $2",
                            $crate::store::sql::RESERVATION_COLS
                        );
                        sqlx::query_as(&sql)
                            .bind(reservation_id)
                            .bind(user_id)
                            .fetch_optional(&mut *conn)
                            .await?
                    }
                };
                let Some(reservation) = found else {
                    return Ok(Step::Refused($crate::error::Error::ReservationNotFound));
                };
                let (payment, mut reservation) =
                    match Self::pay_in(&mut *conn, reservation, user_id, now).await {
                        Ok(paid) => paid,
                        Err(e) if e.status().is_client_error() => return Ok(Step::Refused(e)),
                        Err(e) => return Err(e),
                    };
                if let Some(idem) = idem {
                    let answer =
                        $crate::idempotency::Stored::of(axum::http::StatusCode::CREATED, &payment);
                    Self::idem_store(&mut *conn, user_id, idem, &answer).await?;
                }
                reservation.status = $crate::reservations::ReservationStatus::Confirmed;
                Ok(Step::Done($crate::payments::Paid {
                    payment,
                    reservation,
                }))
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
            ) -> $crate::error::Result<$crate::idempotency::Replayable<$crate::payments::Paid>>
            {
                // Backend-specific: a transaction on SQLite, one function call on PostgreSQL.
                let paid = self.pay_order(user_id, reservation_id, now, idem).await?;
                if let $crate::idempotency::Replayable::Fresh(_) = &paid {
                    self.recent_holds.paid(reservation_id);
                }
                Ok(paid)
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
