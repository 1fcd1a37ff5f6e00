//! Payments on PostgreSQL in one round trip to the writer, in batches (`batches.rs`):
//! `encore_pay` (migrations/postgres/0001_schema.sql) runs the payment's steps (`pay_steps` in
//! `store/sql/payments.rs`) as one statement, idempotency key and webhook outbox included, and
//! `encore_pay_many` runs it for every payment queued meanwhile, each under its own savepoint.

use axum::http::StatusCode;
use sqlx::{FromRow, PgConnection, PgPool, Postgres, Row};
use uuid::Uuid;

use super::batches::Batched;
use crate::clock::{self, Millis};
use crate::error::{Error, Result};
use crate::idempotency::{IdemKey, Replayable, Stored};
use crate::money::Money;
use crate::payments::{Paid, Payment};
use crate::reservations::{Reservation, ReservationStatus};
use crate::store::sql::{CONFIRM_HOLD, Keyed, RESERVATION_COLS, SqlStore};

/// What `encore_pay` writes where the balance after the debit goes in the key's stored answer.
const BALANCE_MARK: Money = Money(i64::MIN);

impl SqlStore<Postgres> {
    /// The payment. The reservation's fixed parts (places, price, concert) are taken first (from
    /// `recent_holds`, or read), for
    /// the answer and the `reservation.confirmed` event; whether it is still a live hold, and
    /// everything else, is decided inside `encore_pay`.
    pub(crate) async fn pay_order(
        &self,
        user_id: Uuid,
        reservation_id: Uuid,
        now: Millis,
        idem: Option<&IdemKey>,
    ) -> Result<Replayable<Paid>> {
        let known = match self.recent_holds.get(reservation_id, user_id) {
            Some(r) => Some(r),
            None => self.order_of(reservation_id, user_id).await?,
        };
        let Some(mut reservation) = known else {
            // No such reservation of this fan: the transaction answers that (or replays the
            // key's first answer), as it does on SQLite: one transaction of the payment's
            // steps (`pay_steps`).
            let now = now.max(clock::now());
            let key = idem.cloned();
            let w = Keyed { user_id, now, idem };
            return self
                .write_steps(w, move |tx| {
                    Box::pin(async move {
                        Self::pay_steps(tx, user_id, reservation_id, now, key.as_ref(), None).await
                    })
                })
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
        let call = PayCall {
            order: (
                reservation.schedule_id,
                reservation.numbers.first().copied(),
            ),
            user: user_id,
            reservation: reservation_id,
            now,
            payment: payment.id,
            ledger: Uuid::now_v7(),
            scope: idem.map(|i| i.scope.to_owned()),
            key: idem.map(|i| i.key.clone()),
            fingerprint: idem.map(|i| i.fingerprint.clone()),
            answer,
            event: event.id,
            event_type: event.kind.as_str(),
            event_body: event.body(),
            event_pattern: event.subscribers(),
        };
        let batches = self
            .pay_batches
            .as_ref()
            .ok_or_else(|| Error::internal("PostgreSQL store without payment batches"))?;
        match batches.call(&call).await? {
            PayOutcome::Paid(balance) => {
                payment.balance_after = Money(balance);
                reservation.status = ReservationStatus::Confirmed;
                Ok(Replayable::Fresh(Paid {
                    payment,
                    reservation,
                }))
            }
            PayOutcome::Replay(status, body) => Ok(Replayable::Replay(Stored {
                status: status as u16,
                body,
            })),
            // The payment changed nothing; the key (if any) keeps the refusal as its answer.
            PayOutcome::Refused(err) => self.idem_fail(user_id, idem, err, now).await,
        }
    }

    /// The sale's steps, one statement each, inside `pay_steps`' transaction: for a payment
    /// `encore_pay` is not given (no reservation of this fan's). The same steps as `encore_pay`.
    pub(crate) async fn pay_in(
        tx: &mut PgConnection,
        mut r: Reservation,
        user_id: Uuid,
        now: Millis,
    ) -> Result<(Payment, Reservation)> {
        Self::lock_places(tx, r.schedule_id, r.id).await?;
        let numbers = Self::sell_places(tx, &r, now).await?;
        let confirmed = sqlx::query(CONFIRM_HOLD)
            .bind(r.id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if confirmed != 1 {
            // The sweeper marked it EXPIRED in between: the hold lapsed, nothing is sold.
            return Err(Error::HoldExpired);
        }
        let balance: Money = sqlx::query_scalar(
            "UPDATE wallets SET balance = balance - $2, updated_at = $3
              WHERE user_id = $1 AND balance >= $2 RETURNING balance",
        )
        .bind(user_id)
        .bind(r.price)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(Error::InsufficientBalance)?;
        let payment = Payment {
            id: Uuid::now_v7(),
            reservation_id: r.id,
            amount: r.price,
            balance_after: balance,
            created_at: now,
        };
        sqlx::query(
            "INSERT INTO wallet_transactions (id, user_id, kind, amount, balance_after, reservation_id, created_at)
             VALUES ($1, $2, 'PAYMENT', $3, $4, $5, $6)",
        )
        .bind(Uuid::now_v7())
        .bind(user_id)
        .bind(-r.price.0)
        .bind(balance)
        .bind(r.id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO payments (id, reservation_id, user_id, amount, balance_after, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(payment.id)
        .bind(r.id)
        .bind(user_id)
        .bind(payment.amount)
        .bind(balance)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        r.numbers = numbers;
        Self::emit(
            tx,
            &crate::webhooks::reservation_confirmed(&r, user_id, now),
        )
        .await?;
        Ok((payment, r))
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

/// One payment's arguments of `encore_pay`, for a batch.
#[derive(Clone)]
pub(crate) struct PayCall {
    /// The reservation's schedule and first place: the batch's lock order.
    order: (Uuid, Option<i64>),
    user: Uuid,
    reservation: Uuid,
    now: Millis,
    payment: Uuid,
    ledger: Uuid,
    scope: Option<String>,
    key: Option<String>,
    fingerprint: Option<Vec<u8>>,
    answer: Option<String>,
    event: Uuid,
    event_type: &'static str,
    event_body: String,
    event_pattern: String,
}

/// How `encore_pay` ended for one payment of a batch.
pub(crate) enum PayOutcome {
    /// Paid: the balance after the debit.
    Paid(i64),
    /// The key's first answer.
    Replay(i64, String),
    /// Refused; nothing of it was written.
    Refused(Error),
}

impl Batched for PayCall {
    type Outcome = PayOutcome;
    type Key = (Uuid, Option<i64>);

    fn key(&self) -> (Uuid, Option<i64>) {
        self.order
    }

    async fn call_many(
        pool: &PgPool,
        calls: &[&Self],
    ) -> std::result::Result<Vec<PayOutcome>, sqlx::Error> {
        fn col<T>(calls: &[&PayCall], f: impl Fn(&PayCall) -> T) -> Vec<T> {
            calls.iter().map(|c| f(c)).collect()
        }
        type Answers = (
            Vec<Option<i64>>,
            Vec<Option<i64>>,
            Vec<Option<String>>,
            Vec<Option<String>>,
        );
        let (balances, statuses, bodies, refusals): Answers = sqlx::query_as::<Postgres, Answers>(
            "SELECT balances, replay_statuses, replay_bodies, refusals
               FROM encore_pay_many($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(col(calls, |c| c.user))
        .bind(col(calls, |c| c.reservation))
        .bind(col(calls, |c| c.now))
        .bind(col(calls, |c| c.payment))
        .bind(col(calls, |c| c.ledger))
        .bind(col(calls, |c| c.scope.clone()))
        .bind(col(calls, |c| c.key.clone()))
        .bind(col(calls, |c| c.fingerprint.clone()))
        .bind(col(calls, |c| c.answer.clone()))
        .bind(col(calls, |c| c.event))
        .bind(col(calls, |c| c.event_type))
        .bind(col(calls, |c| c.event_body.clone()))
        .bind(col(calls, |c| c.event_pattern.clone()))
        .fetch_one(pool)
        .await?;
        let n = calls.len();
        if [balances.len(), statuses.len(), bodies.len(), refusals.len()] != [n; 4] {
            return Err(sqlx::Error::Protocol(format!(
                "encore_pay_many answered {} balances for {n} payments",
                balances.len()
            )));
        }
        let answers = balances.into_iter().zip(statuses).zip(bodies).zip(refusals);
        answers
            .map(|(((balance, status), body), refused)| {
                Ok(match (balance, status, body, refused) {
                    (Some(balance), _, _, _) => PayOutcome::Paid(balance),
                    (None, Some(status), Some(body), _) => PayOutcome::Replay(status, body),
                    (None, _, _, Some(code)) => {
                        PayOutcome::Refused(refusal(&code).ok_or_else(|| {
                            sqlx::Error::Protocol(format!("encore_pay refused with {code}"))
                        })?)
                    }
                    _ => {
                        return Err(sqlx::Error::Protocol(
                            "encore_pay answered neither a balance, a replay nor a refusal".into(),
                        ));
                    }
                })
            })
            .collect()
    }
}

/// The business refusal `encore_pay` raised: its error code.
fn refusal(code: &str) -> Option<Error> {
    Some(match code {
        "RESERVATION_NOT_FOUND" => Error::ReservationNotFound,
        "ALREADY_PAID" => Error::AlreadyPaid,
        "RESERVATION_NOT_HELD" => Error::ReservationNotHeld,
        "HOLD_EXPIRED" => Error::HoldExpired,
        "INSUFFICIENT_BALANCE" => Error::InsufficientBalance,
        "IDEMPOTENCY_KEY_REUSED" => Error::IdempotencyKeyReused,
        _ => return None,
    })
}
