//! A payment on PostgreSQL in one round trip to the writer: `encore_pay`
//! (migrations/postgres/0001_schema.sql) runs the payment's steps (`pay_steps` in
//! `store/sql/payments.rs`) as one statement, idempotency key and webhook outbox included.

use axum::http::StatusCode;
use sqlx::{FromRow, Postgres, Row};
use uuid::Uuid;

use crate::clock::{self, Millis};
use crate::error::{Error, Result};
use crate::idempotency::{IdemKey, Replayable, Stored};
use crate::money::Money;
use crate::payments::{Paid, Payment};
use crate::reservations::{Reservation, ReservationStatus};
use crate::store::sql::{RESERVATION_COLS, SqlStore};

/// What `encore_pay` writes where the balance after the debit goes in the key's stored answer.
const BALANCE_MARK: Money = Money(i64::MIN);

impl SqlStore<Postgres> {
    /// The payment. The reservation's fixed parts (places, price, concert) are read first, for
    /// the answer and the `reservation.confirmed` event; whether it is still a live hold, and
    /// everything else, is decided inside `encore_pay`.
    pub(crate) async fn pay_order(
        &self,
        user_id: Uuid,
        reservation_id: Uuid,
        now: Millis,
        idem: Option<&IdemKey>,
    ) -> Result<Replayable<Paid>> {
        let Some(mut reservation) = self.order_of(reservation_id, user_id).await? else {
            // No such reservation of this fan: the transaction answers that (or replays the
            // key's first answer), as it does on SQLite.
            return self
                .pay_in_transaction(user_id, reservation_id, now, idem)
                .await;
        };
        // The time of the payment is when it gets the database, not when it asked.
        let now = now.max(clock::now());
        let mut payment = Payment {
            id: Uuid::now_v7(),
            reservation_id,
            amount: reservation.price,
            balance_after: BALANCE_MARK,
            created_at: now,
        };
        let answer = idem.map(|_| Stored::of(StatusCode::CREATED, &payment).body);
        let event = crate::webhooks::reservation_confirmed(&reservation, user_id, now);
        let row: sqlx::Result<(Option<i64>, Option<i64>, Option<String>)> = sqlx::query_as(
            "SELECT balance, replay_status, replay_body
               FROM encore_pay($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(user_id)
        .bind(reservation_id)
        .bind(now)
        .bind(payment.id)
        .bind(Uuid::now_v7())
        .bind(idem.map(|i| i.scope))
        .bind(idem.map(|i| i.key.as_str()))
        .bind(idem.map(|i| i.fingerprint.as_slice()))
        .bind(answer)
        .bind(event.id)
        .bind(event.kind.as_str())
        .bind(event.body())
        .bind(event.subscribers())
        .fetch_one(&self.write)
        .await;
        match row {
            Ok((Some(balance), _, _)) => {
                payment.balance_after = Money(balance);
                reservation.status = ReservationStatus::Confirmed;
                Ok(Replayable::Fresh(Paid {
                    payment,
                    reservation,
                }))
            }
            Ok((None, Some(status), Some(body))) => Ok(Replayable::Replay(Stored {
                status: status as u16,
                body,
            })),
            Ok(_) => Err(Error::internal(
                "encore_pay answered neither a balance nor a replay",
            )),
            Err(e) => match refusal(&e) {
                // The statement changed nothing; the key (if any) keeps the refusal as its answer.
                Some(err) => self.idem_fail(user_id, idem, err, now).await,
                None => Err(e.into()),
            },
        }
    }

    /// The payment as one transaction of several statements (`pay_steps`), for a reservation
    /// `encore_pay` cannot be given.
    async fn pay_in_transaction(
        &self,
        user_id: Uuid,
        reservation_id: Uuid,
        now: Millis,
        idem: Option<&IdemKey>,
    ) -> Result<Replayable<Paid>> {
        let mut tx = self.write.begin().await?;
        let now = now.max(clock::now());
        let step = Self::pay_steps(&mut tx, user_id, reservation_id, now, idem).await?;
        self.finish_step(tx, user_id, idem, step, now).await
    }

    /// The fan's reservation with its place numbers, in one read.
    async fn order_of(&self, id: Uuid, user_id: Uuid) -> Result<Option<Reservation>> {
        let sql = format!(
            "SELECT {RESERVATION_COLS},
                    ARRAY(SELECT number FROM reservation_seats
                           WHERE reservation_id = reservations.id ORDER BY number) AS numbers
               FROM reservations WHERE id = $1 AND user_id = $2"
        );
        let Some(row) = sqlx::query(&sql)
            .bind(id)
            .bind(user_id)
            .fetch_optional(&self.read)
            .await?
        else {
            return Ok(None);
        };
        let mut r = Reservation::from_row(&row)?;
        r.numbers = row.try_get("numbers")?;
        Ok(Some(r))
    }
}

/// The business refusal `encore_pay` raised (SQLSTATE P0001, the error code as the message).
fn refusal(e: &sqlx::Error) -> Option<Error> {
    let db = e.as_database_error()?;
    if db.code().as_deref() != Some("P0001") {
        return None;
    }
    Some(match db.message() {
        "RESERVATION_NOT_FOUND" => Error::ReservationNotFound,
        "ALREADY_PAID" => Error::AlreadyPaid,
        "RESERVATION_NOT_HELD" => Error::ReservationNotHeld,
        "HOLD_EXPIRED" => Error::HoldExpired,
        "INSUFFICIENT_BALANCE" => Error::InsufficientBalance,
        "IDEMPOTENCY_KEY_REUSED" => Error::IdempotencyKeyReused,
        _ => return None,
    })
}
